"""Parsing of command arguments: options, keys, durations, limits.

Keys follow SPEC §3: ``<pk>``, ``<pk> <sk>``, ``attr=value ...`` or JSON (plain or
DynamoDB-typed). Every key is checked against the declared schema, so an incomplete
or extra key attribute is a clear error before any call is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from commands.registry import CommandError
from dynamo.schema import Table
from dynamo.values import check_numbers, check_type

_TYPE_TAGS = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}
_de = TypeDeserializer()


@dataclass
class Options:
    positional: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


def parse_options(
    args: Sequence[str], flags: Mapping[str, type | None], usage: str | None = None
) -> Options:
    """Split ``--flag value`` / ``--flag=value`` / boolean ``--flag`` from positionals.

    ``flags`` maps a flag to its value type (``None`` for a boolean switch).
    """
    out = Options()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and len(arg) > 2:
            name, eq, inline = arg.partition("=")
            if name not in flags:
                known = " ".join(sorted(flags)) or "none"
                raise CommandError(f"unknown option `{name}` (options: {known})", usage)
            if name in out.values:
                raise CommandError(f"`{name}` is given twice; give it once", usage)
            kind = flags[name]
            if kind is None:
                if eq:
                    raise CommandError(f"`{name}` takes no value", usage)
                out.values[name] = True
            else:
                if eq:
                    raw = inline
                else:
                    if i + 1 >= len(args):
                        raise CommandError(f"`{name}` needs a value", usage)
                    i += 1
                    raw = args[i]
                out.values[name] = _convert(name, raw, kind, usage)
        else:
            out.positional.append(arg)
        i += 1
    return out


def _convert(name: str, raw: str, kind: type, usage: str | None) -> Any:
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise CommandError(f"`{name}` needs a whole number, not `{raw}`", usage) from None
    return raw


def check_limit(value: int | None, default: int, maximum: int, usage: str | None = None) -> int:
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise CommandError(f"--limit must be between 1 and {maximum}, not {value}", usage)
    return value


# An attribute name (or a document path) a write may name: what `set`/`remove` and the
# change form accept.
ATTR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,254}$")
_DURATION = re.compile(r"^(\d+)\s*([a-z]?)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def read_duration(text: str, units: str = "smhdw", *, bare: bool = False) -> timedelta | None:
    """``30m``-style text as a duration, or None when it is not one.

    The one reading of durations, for ``--since`` here and DDB_BOT_REQUEST_TTL in the
    bot's settings: a whole number and one unit of ``units``; ``bare`` lets a number
    alone mean seconds.
    """
    m = _DURATION.match(text.strip().lower())
    unit = (m.group(2) or ("s" if bare else "")) if m else ""
    if not m or not unit or unit not in units:
        return None
    return timedelta(seconds=int(m.group(1)) * _SECONDS[unit])


def parse_duration(text: str, usage: str | None = None) -> timedelta:
    """``90m``, ``24h``, ``7d``, ``2w``: a positive duration of at most a year."""
    delta = read_duration(text)
    if not delta:
        raise CommandError(
            f"`{text}` is not a duration; use a number and a unit, like 30m, 24h or 7d", usage
        )
    if delta > timedelta(days=366):
        raise CommandError(f"`{text}` is longer than a year", usage)
    return delta


def _is_typed_json(obj: Mapping[str, Any]) -> bool:
    return bool(obj) and all(
        isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _TYPE_TAGS for v in obj.values()
    )


def decode_dynamo_json(obj: Mapping[str, Any], what: str = "value") -> dict[str, Any]:
    """DynamoDB JSON (``{"a":{"S":"x"}}``) to Python values, with a clear error."""
    try:
        out = {
            k: _de.deserialize(_numbers_as_text(v)) for k, v in obj.items()
        }
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CommandError(f"{what} is not valid DynamoDB JSON: {exc}") from None
    except ArithmeticError:
        # decimal's Overflow/Inexact/... for a number DynamoDB cannot store
        raise CommandError(
            f"{what} is not valid DynamoDB JSON: a number does not fit DynamoDB "
            "(at most 38 digits, magnitude 1E-130 to 9.9E+125)"
        ) from None
    for k, v in out.items():
        _finite(v, k, what)
    return out


def _finite(value: Any, attr: str, what: str) -> None:
    # the deserializer turns a non-number like {"N":"abc"} into Decimal('NaN')
    if isinstance(value, Decimal) and not value.is_finite():
        raise CommandError(f"{what} is not valid DynamoDB JSON: `{attr}` has a non-number N value")
    if isinstance(value, dict):
        for v in value.values():
            _finite(v, attr, what)
    elif isinstance(value, list | set):
        for v in value:
            _finite(v, attr, what)


def _numbers_as_text(v: Any) -> Any:
    # TypeDeserializer wants N values as strings; tolerate numbers typed as JSON numbers
    if isinstance(v, dict) and set(v) == {"N"} and isinstance(v["N"], int | float | Decimal):
        return {"N": str(v["N"])}
    return v


# DynamoDB's own limits, checked before any work that grows with them: an item is at
# most 400 KB, and maps and lists nest at most 32 levels. Typed JSON takes two JSON
# levels a DynamoDB level (``{"M": {...}}``), plus one for the item or key object and
# one for the innermost scalar's ``{"S": ...}``.
MAX_VALUE_TEXT = 400 * 1024
MAX_NESTING = 32
MAX_JSON_DEPTH = 2 * MAX_NESTING + 2


def check_value_text(text: str, what: str) -> None:
    """Refuse a JSON or shorthand value longer than any item DynamoDB can hold."""
    if len(text) > MAX_VALUE_TEXT:
        raise CommandError(f"{what} is longer than {MAX_VALUE_TEXT:,} characters "
                           "(400 KB, DynamoDB's item size limit)")


def nesting(value: Any, limit: int) -> int:
    """How deep maps and lists nest in ``value`` (a scalar is 0); stops once past
    ``limit``. Walks without recursing, so any depth is safe to measure."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((c, depth) for c in children)
    return deepest


def too_deep(value: Any) -> bool:
    """Whether an attribute's value nests past DynamoDB's 32 levels, the attribute itself
    being the first (DynamoDB refuses a list in a list … 32 deep: "Nesting Levels have
    exceeded supported limits")."""
    return nesting(value, MAX_NESTING) >= MAX_NESTING


def check_nesting(values: Mapping[str, Any], what: str) -> None:
    """Refuse an attribute whose maps and lists nest deeper than DynamoDB allows."""
    for attr, value in values.items():
        if too_deep(value):
            raise CommandError(f"{what}: `{attr}` nests maps and lists deeper than "
                               f"{MAX_NESTING} levels (DynamoDB's limit)")


def load_json(text: str, what: str) -> Any:
    check_value_text(text, what)
    try:
        value = json.loads(text, parse_float=Decimal, parse_int=Decimal,
                           parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{what} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError):
        raise CommandError(f"{what} is not valid JSON (NaN/Infinity or nested too deeply)") \
            from None
    if nesting(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise CommandError(f"{what} nests deeper than DynamoDB's {MAX_NESTING} levels of "
                           "maps and lists")
    try:
        return check_numbers(value, what)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _not_json(name: str) -> Any:
    raise ValueError(name)


def json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object, plain or DynamoDB-typed, as Python values."""
    obj = load_json(text, what)
    if not isinstance(obj, dict):
        raise CommandError(f"{what} must be a JSON object `{{...}}`")
    values = decode_dynamo_json(obj, what) if _is_typed_json(obj) else obj
    check_nesting(values, what)
    return values


def parse_key(table: Table, args: Sequence[str], usage: str | None = None) -> dict[str, Any]:
    """The full primary key of ``table`` from the key arguments of a command."""
    names = table.keys.names
    need = " and ".join(f"`{n}`" for n in names)
    if not args:
        raise CommandError(f"missing key: `{table.short}` needs {need}", usage)
    key: dict[str, Any]
    if args[0].lstrip().startswith("{"):
        key = json_object(" ".join(args), "the key")
    elif all("=" in a for a in args):
        key = {}
        for a in args:
            attr, _, value = a.partition("=")
            attr = table.canonical(attr.strip())
            if attr in key:
                raise CommandError(f"`{attr}` is given twice in the key", usage)
            key[attr] = value
    elif any("=" in a for a in args) and not all("=" in a for a in args):
        raise CommandError("write the key either as values or all as attr=value", usage)
    else:
        if len(args) != len(names):
            raise CommandError(
                f"`{table.short}` needs {need}; got {len(args)} value(s)", usage
            )
        key = dict(zip(names, args, strict=True))
    key = {table.canonical(k): v for k, v in key.items()}
    extra = [k for k in key if k not in names]
    if extra:
        raise CommandError(
            f"`{', '.join(extra)}` is not part of `{table.short}`'s key ({need})", usage
        )
    missing = [n for n in names if n not in key]
    if missing:
        raise CommandError(
            f"incomplete key: `{table.short}` needs {need}; missing "
            + ", ".join(f"`{m}`" for m in missing),
            usage,
        )
    for k, v in key.items():
        check_type(table, k, v)
        if isinstance(v, str) and not v.strip():
            raise CommandError(f"key attribute `{k}` is empty", usage)
    return key
