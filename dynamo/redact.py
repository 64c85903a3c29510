"""Redaction: the one place secrets and credential-like strings are taken out.

Every item that leaves the data layer for a person (messages, JSON export, digests,
audit records, logs) passes through ``redact_item`` / ``mask_text``. Secret attributes
are replaced wherever they occur, even nested or in a table that does not declare them:
the schema's (``access_token``, …) and any whose name says it holds a secret
(``client_secret``, ``password``, ``apiKey``, ``private_key``: ``dynamo.secret_names``),
at any depth, in plain and in DynamoDB-typed (``{"M": {…}}``) form. Any string that
*looks* like a credential is masked whatever attribute holds it, and binary values
(``B`` / ``BS``), which no masker can read, are shown only as ``<binary, N bytes>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import Binary

from dynamo.credentials import MASKED, mask_credentials
from dynamo.schema import PREFIX_ONLY_ATTRIBUTES, Table, is_secret

REDACTED = "[redacted]"
__all__ = ["MASKED", "REDACTED", "binary_text", "looks_like_credential", "mask_text", "redact_any",
           "redact_item", "redact_value"]


def mask_text(text: str) -> str:
    """Mask the secret part of credential-looking substrings of free text."""
    return mask_credentials(text) if text else text


def looks_like_credential(text: str) -> bool:
    return mask_credentials(text) != text


def _prefix(value: Any) -> str:
    text = str(value)
    return f"{text[:8]}…" if len(text) > 8 else "…"


def _pii(attr: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return "[pii]" if value not in (None, "") else value
    if attr == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if attr == "phone_number":
        return f"***{value[-2:]}" if len(value) > 2 else "***"
    return f"{value[:1]}***"


def binary_text(value: bytes | bytearray | memoryview | Binary) -> str:
    """How a binary value is shown: its size only (no masker can read inside it)."""
    size = len(bytes(value.value if isinstance(value, Binary) else value))
    return f"<binary, {size:,} byte{'' if size == 1 else 's'}>"


_BINARY = (bytes, bytearray, memoryview, Binary)


def redact_value(attr: str, value: Any, pii: frozenset[str] = frozenset()) -> Any:
    """Redact one attribute's value; recurses into maps and lists."""
    if is_secret(attr):
        if _typed(value):  # a DynamoDB-typed value ({"S": ...}) stays typed
            return {"S": REDACTED}
        return REDACTED if value not in (None, "") else value
    if attr in PREFIX_ONLY_ATTRIBUTES and value not in (None, ""):
        return _prefix(value)
    if isinstance(value, _BINARY):
        return binary_text(value)
    if attr in pii:
        return _pii(attr, value)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        # keys too: a map keyed by tokens would otherwise show them (and a cut one no
        # longer looks like a credential to the final pass)
        return {_key(k): redact_value(str(k), v, pii) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(attr, v, pii) for v in value]
    if isinstance(value, set | frozenset):
        if any(isinstance(v, _BINARY) for v in value):  # sizes may repeat: keep them all
            return sorted(redact_value(attr, v, pii) for v in value)
        return {redact_value(attr, v, pii) for v in value}
    return value


_TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})


def _typed(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _TYPE_TAGS


def redact_item(
    item: Mapping[str, Any], table: Table | None = None, *, mask_pii: bool = False
) -> dict[str, Any]:
    """A copy of ``item`` safe to show: secrets out, credentials masked, PII if asked."""
    pii = (table.pii if table else frozenset({"email", "name", "phone_number"})) if mask_pii \
        else frozenset()
    out: dict[str, Any] = {}
    for k, v in item.items():
        if is_secret(k, table):
            out[k] = REDACTED if v not in (None, "") else v
        else:
            out[_key(k)] = redact_value(k, v, pii)
    return out


def _key(key: Any) -> Any:
    """A map key or attribute name with any credential in it masked."""
    return mask_text(key) if isinstance(key, str) else key


def redact_any(value: Any) -> Any:
    """Redact a free-form structure (a describe response, a JMESPath result)."""
    if isinstance(value, Mapping):
        return {_key(k): redact_value(str(k), v) for k, v in value.items()}
    return redact_value("", value)
