"""Value formatting shared by the Block Kit and terminal renderers.

One place decides how a DynamoDB value reads to a person (``Decimal`` as a plain number,
maps as compact JSON, binary as base64, sets sorted) and in which order a card lists an
item's attributes, so Slack and the console never disagree.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal
from typing import Any

from dynamo.schema import BY_SHORT, Table

CUT_HINT = "Show JSON for all"
_EXACT = Context(prec=200)  # normalize() must not round (the default context keeps 28)
# C0/C1 control characters (ANSI escapes, NUL ...) but not newline and tab
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # _CONTROL, tab, newlines


def table_of(short: str | None) -> Table | None:
    return BY_SHORT.get(short) if short else None


def format_number(value: Decimal) -> str:
    """``Decimal('5')`` → ``5``, ``Decimal('1.50')`` → ``1.5``, never an exponent."""
    if not value.is_finite():
        return str(value)
    norm = value.normalize(_EXACT)
    if abs(norm.adjusted()) > 60:  # out of DynamoDB's range; avoid huge expansions
        return str(norm)
    return format(norm, "f")


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` takes as is (Decimal → int/float)."""
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value) if abs(value.adjusted()) <= 60 else format_number(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else format_number(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    raw = getattr(value, "value", None)  # boto3.dynamodb.types.Binary
    if isinstance(value, bytes | bytearray | memoryview) or isinstance(raw, bytes):
        data = bytes(raw if isinstance(raw, bytes) else value)
        return "base64:" + base64.b64encode(data).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=lambda v: (str(type(v)), str(v)))
    if isinstance(value, Sequence):
        return [json_safe(v) for v in value]
    return str(value)


def to_json(value: Any, *, pretty: bool = False) -> str:
    """JSON text: pretty (indent 2) for exports, one compact line for cards and lists."""
    if pretty:
        return json.dumps(json_safe(value), indent=2, ensure_ascii=False)
    return json.dumps(json_safe(value), ensure_ascii=False, separators=(", ", ": "))


def format_value(value: Any) -> str:
    """One attribute value as text; documents (maps, lists, sets) as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, int | float):
        return str(value)
    safe = json_safe(value)
    return safe if isinstance(safe, str) else to_json(safe)


def clean(text: str) -> str:
    """Replace control characters (a terminal escape in data must not reach a screen)."""
    return _CONTROL.sub("\ufffd", text)


def one_line(text: str) -> str:
    if not _CONTROL_OR_BREAK.search(text):  # most values: nothing to replace
        return text
    return clean(text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " "))


def cut(text: str, limit: int, hint: str | None = CUT_HINT) -> str:
    """``text`` up to ``limit`` characters, then a note saying how long it was.

    ``hint`` None: a bare "…" (list cells); "": the length only; else length and hint.
    """
    if len(text) <= limit:
        return text
    if hint is None:
        return text[: max(limit - 1, 0)] + "…"
    tail = f" — {hint}" if hint else ""
    return f"{text[:limit]}… ({len(text):,} chars, cut{tail})"


def shown(value: Any, limit: int, hint: str | None = CUT_HINT) -> str:
    """A value as one display line of at most ``limit`` characters (plus the cut note)."""
    text = one_line(format_value(value))
    return cut(text, limit, hint) if text else '""'


def key_names(table: Table | None) -> list[str]:
    return list(table.keys.names) if table is not None else []


def attr_order(item: Mapping[str, Any], table: Table | None) -> list[str]:
    """Key attributes first, then the table's summary attributes, then the rest A→Z."""
    first = [a for a in key_names(table) if a in item]
    first += [a for a in (table.summary if table else ()) if a in item and a not in first]
    rest = sorted((a for a in item if a not in first), key=lambda a: (a.lower(), a))
    return first + rest


def list_columns(items: Sequence[Mapping[str, Any]], table: Table | None) -> list[str]:
    """Columns of a list view: the key and summary attributes (or a few ids if unknown)."""
    if table is not None:
        return list(dict.fromkeys([*table.keys.names, *table.summary]))
    seen = list(dict.fromkeys(a for item in items[:20] for a in item))
    ids = sorted((a for a in seen if a.endswith("_id") or a == "id"), key=len)
    return (ids + sorted(a for a in seen if a not in ids))[:5]


def align_rows(columns: Sequence[str], rows: Sequence[Sequence[str]], cell_max: int) -> list[str]:
    """Rows (header first, then a rule) padded into aligned monospace columns."""
    cells = [[cut(one_line(str(c)), cell_max, None) for c in row] for row in [columns, *rows]]
    n = max((len(r) for r in cells), default=0)
    widths = [max((len(r[i]) for r in cells if i < len(r)), default=0) for i in range(n)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines
