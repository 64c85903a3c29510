"""Typing of user-given values from the declared schema (SPEC §3 "Values are typed").

Declared attributes get their declared type or a clear error; undeclared ones keep a
JSON literal's type, anything else is a string. Numbers are ``Decimal``, never float.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from dynamo.errors import DdbBotError
from dynamo.schema import AttrType, Table


class ValueTypeError(DdbBotError, ValueError):
    """A value that does not fit its attribute's declared type."""


def _no_constant(name: str) -> Any:
    # NaN / Infinity are not JSON and not DynamoDB numbers; json would make them floats
    raise ValueError(f"`{name}` is not a JSON literal")


def _json(text: str) -> Any:
    return json.loads(
        text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant
    )


def _json_literal(text: str) -> tuple[bool, Any]:
    try:
        return True, _json(text)
    except (ValueError, TypeError, RecursionError):
        return False, None


def check_numbers(value: Any, attr: str) -> Any:
    """Reject numbers DynamoDB cannot store (38 digits, 1E-130..9.9E+125), at any depth."""
    if isinstance(value, Decimal):
        try:
            DYNAMODB_CONTEXT.create_decimal(value)
        except ArithmeticError:
            raise ValueTypeError(
                f"`{attr}`: `{value}` does not fit a DynamoDB number "
                "(at most 38 digits, magnitude 1E-130 to 9.9E+125)"
            ) from None
    elif isinstance(value, dict):
        for v in value.values():
            check_numbers(v, attr)
    elif isinstance(value, list):
        for v in value:
            check_numbers(v, attr)
    return value


def to_number(text: str, attr: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueTypeError(f"`{attr}` is a number; `{text}` is not") from None
    if not value.is_finite():
        raise ValueTypeError(f"`{attr}` is a number; `{text}` is not a finite number")
    return check_numbers(value, attr)


def typed_value(table: Table | None, attr: str, text: str) -> Any:
    """Turn the text a user typed for ``attr`` into the Python value DynamoDB stores."""
    declared = table.type_of(attr) if table and "." not in attr else None
    if declared is None:
        ok, value = _json_literal(text)
        return check_numbers(value, attr) if ok else text
    if declared is AttrType.S:
        if len(text) >= 2 and text[0] == text[-1] == '"':
            ok, value = _json_literal(text)
            if ok and isinstance(value, str):
                return value
        return text
    if declared is AttrType.N:
        return to_number(text, attr)
    if declared is AttrType.BOOL:
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        raise ValueTypeError(f"`{attr}` is true or false; `{text}` is not")
    if declared in (AttrType.M, AttrType.L):
        want = dict if declared is AttrType.M else list
        ok, value = _json_literal(text)
        if not ok or not isinstance(value, want):
            kind = "a JSON object `{...}`" if want is dict else "a JSON array `[...]`"
            raise ValueTypeError(f"`{attr}` is {kind}; `{text}` is not")
        return check_numbers(value, attr)
    if declared is AttrType.B:
        return text.encode()
    return text


def check_type(table: Table, attr: str, value: Any) -> None:
    """Reject an already-decoded value (e.g. from DynamoDB JSON) of the wrong type."""
    declared = table.type_of(attr) if "." not in attr else None
    if declared is None or value is None:
        return
    expected: dict[AttrType, tuple[type, ...]] = {
        AttrType.S: (str,),
        AttrType.N: (Decimal, int),
        AttrType.BOOL: (bool,),
        AttrType.M: (dict,),
        AttrType.L: (list,),
        AttrType.B: (bytes, bytearray),
    }
    ok = isinstance(value, expected[declared]) and not (
        declared is AttrType.N and isinstance(value, bool)
    )
    if not ok:
        raise ValueTypeError(
            f"`{attr}` is declared {declared.value}; got {type(value).__name__} `{value!r}`"
        )


def json_default(o: Any) -> Any:
    """``json.dumps``'s ``default`` for item values: whole Decimals as ints, sets sorted,
    bytes as their length (a display never carries raw bytes)."""
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    if isinstance(o, set | frozenset):
        return sorted(o, key=str)
    if isinstance(o, bytes | bytearray):
        return f"<{len(o)} bytes>"
    return str(o)
