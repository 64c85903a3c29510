"""Typed values of pasted commands: DynamoDB JSON or the CLI's shorthand, as the CLI reads them.

``--key``, ``--item`` and ``--expression-attribute-values`` take a JSON object or shorthand
(``user_id={S=abc}``); either way the result is DynamoDB-typed and decoded into Python
values here. Binary (``B``/``BS``) text is sent as its UTF-8 bytes, exactly as the aws CLI
v1 sends a blob given as text, so a command behaves the same pasted here or in a shell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import Shape

from commands.awscli import shorthand
from commands.awscli.flags import file_ref
from commands.parse import check_nesting, check_value_text, decode_dynamo_json, load_json
from commands.registry import CommandError

_TAGS = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}


def is_typed(obj: Mapping[str, Any]) -> bool:
    return bool(obj) and all(
        isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _TAGS for v in obj.values()
    )


def raw_map(text: str, flag: str, shape: Shape) -> dict[str, Any]:
    """The JSON object or shorthand of ``flag`` as parsed, not yet decoded."""
    file_ref(flag, text)
    if text.lstrip().startswith(("{", "[")):
        obj = load_json(text, flag)
    else:
        check_value_text(text, flag)
        try:
            obj = shorthand.parse(text, shape)
        except shorthand.ShorthandError as exc:
            raise CommandError(f"{flag}: not valid JSON or shorthand: {exc}") from None
    if not isinstance(obj, dict):
        raise CommandError(f"{flag} must be a JSON object `{{...}}` or shorthand `name={{S=value}}`")
    return obj


def attribute_map(text: str, flag: str, shape: Shape, plain_ok: bool = True) -> dict[str, Any]:
    """``--key`` / ``--item`` / ``--expression-attribute-values`` as Python values.

    ``plain_ok`` also accepts plain JSON (``{"user_id": "abc"}``), which the CLI refuses
    but the bot's own commands take; expression values must be typed, as in DynamoDB.
    """
    obj = raw_map(text, flag, shape)
    if not is_typed(obj):
        if plain_ok and all(not isinstance(v, dict) for v in obj.values()):
            check_nesting(obj, flag)
            return obj
        raise CommandError(f"{flag} is not valid DynamoDB JSON: each value needs a type, "
                           'like {"S":"x"} or {S=x}')
    values = decode_dynamo_json({k: blobs_as_bytes(v) for k, v in obj.items()}, flag)
    check_nesting(values, flag)
    return values


def blobs_as_bytes(value: Any) -> Any:
    """``B``/``BS`` text to bytes (UTF-8, as the CLI), inside maps and lists too."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    tag, inner = next(iter(value.items()))
    if tag == "B" and isinstance(inner, str):
        return {"B": inner.encode()}
    if tag == "BS" and isinstance(inner, list):
        return {"BS": [v.encode() if isinstance(v, str) else v for v in inner]}
    if tag == "M" and isinstance(inner, dict):
        return {"M": {k: blobs_as_bytes(v) for k, v in inner.items()}}
    if tag == "L" and isinstance(inner, list):
        return {"L": [blobs_as_bytes(v) for v in inner]}
    return value
