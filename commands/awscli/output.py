"""Shaping a typed (CLI-shaped) response for people: redaction, JSON safety, ``--output text``.

Redaction works on the DynamoDB-typed response, so what ``--query`` sees is what the CLI
would print minus the secrets: an attribute the redaction leaves alone keeps its exact
typed value (numbers as DynamoDB's decimal strings, sets as typed sets); one it changes
is re-typed from the redacted value (a secret becomes ``{"S": "[redacted]"}``).
``format_text`` is the aws CLI's text formatter (awscli/text.py, Apache-2.0), ported
because awscli is not a runtime dependency.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from boto3.dynamodb.types import Binary, TypeSerializer

from dynamo.redact import redact_item
from dynamo.schema import Table
from dynamo.store import deserialize_item

_ser = TypeSerializer()


def redact_typed(item: Mapping[str, Any], table: Table | None, mask_pii: bool) -> dict[str, Any]:
    """A typed item with secrets redacted; untouched attributes keep their exact typed form."""
    plain = deserialize_item(item)
    red = redact_item(plain, table, mask_pii=mask_pii)
    out: dict[str, Any] = {}
    # redact_item keeps the order of attributes, one for one
    for (name, raw), (new_name, value) in zip(item.items(), red.items(), strict=True):
        out[new_name] = raw if new_name == name and value == plain[name] else _ser.serialize(value)
    return out


def jsonable(value: Any) -> Any:
    """As the CLI v1 prints it: bytes as base64, timestamps as on the wire (epoch seconds).

    The CLI v1's default ``cli_timestamp_format`` is ``none``: a timestamp stays the
    number DynamoDB sent; botocore here has parsed it into a datetime, so turn it back.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Binary):
        value = value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- the CLI's --output text (awscli/text.py) ------------------------------------------------
def format_text(data: Any) -> str:
    out: list[str] = []
    _format(data, out)
    return "".join(out)


def _format(item: Any, out: list[str], identifier: str | None = None,
            scalar_keys: list[str] | None = None) -> None:
    if isinstance(item, dict):
        _format_dict(scalar_keys, item, identifier, out)
    elif isinstance(item, list):
        _format_list(item, identifier, out)
    else:
        out.append(f"{_str(item)}\n")


def _str(value: Any) -> str:
    # Python's str() as the CLI prints scalars: True/False/None
    return str(value)


def _format_list(item: list[Any], identifier: str | None, out: list[str]) -> None:
    if not item:
        return
    if any(isinstance(el, dict) for el in item):
        keys = _all_scalar_keys(item)
        for element in item:
            _format(element, out, identifier, keys)
    elif any(isinstance(el, list) for el in item):
        scalars = [e for e in item if not isinstance(e, list | dict)]
        if scalars:
            _format_scalar_list(scalars, identifier, out)
        for non_scalar in (e for e in item if isinstance(e, list | dict)):
            _format(non_scalar, out, identifier)
    else:
        _format_scalar_list(item, identifier, out)


def _format_scalar_list(elements: list[Any], identifier: str | None, out: list[str]) -> None:
    if identifier is not None:
        out.extend(f"{identifier.upper()}\t{_str(e)}\n" for e in elements)
    else:
        out.append("\t".join(_str(e) for e in elements) + "\n")


def _format_dict(scalar_keys: list[str] | None, item: dict[str, Any], identifier: str | None,
                 out: list[str]) -> None:
    scalars: list[str] = []
    non_scalars: list[tuple[str, Any]] = []
    if scalar_keys is None:
        for key, value in sorted(item.items()):
            if isinstance(value, dict | list):
                non_scalars.append((key, value))
            else:
                scalars.append(_str(value))
    else:
        scalars = [_str(item.get(k, "")) for k in scalar_keys]
        non_scalars = [(k, item[k]) for k in sorted(set(item) - set(scalar_keys))]
    if scalars:
        if identifier is not None:
            scalars.insert(0, identifier.upper())
        out.append("\t".join(scalars) + "\n")
    for new_identifier, non_scalar in non_scalars:
        _format(non_scalar, out, new_identifier)


def _all_scalar_keys(items: list[Any]) -> list[str]:
    keys: set[str] = set()
    for d in items:
        if isinstance(d, dict):
            keys.update(k for k, v in d.items() if not isinstance(v, dict | list))
    return sorted(keys)
