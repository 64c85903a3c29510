"""Odd input, refused plainly before anything runs: never "internal error (ref …)".

- ``--query`` JMESPath nested thousands of levels deep: the JMESPath parser and
  interpreter recurse once a level and would hit Python's recursion limit;
- maps and lists in the values of writes nested past DynamoDB's 32 levels;
- control characters in the values of writes: C0 controls other than tab, newline and
  carriage return, DEL, and C1 controls (U+0080–U+009F, among them the 8-bit CSI that
  starts an ANSI escape sequence, as ESC does in C0). Stored, they corrupt terminals and
  logs of every consumer of the table; the refusal gives the attribute, the character
  and its position.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from commands.parse import MAX_NESTING, too_deep
from commands.registry import CommandError

# nesting of --query: far beyond any real use, far below the recursion limit
MAX_JMESPATH_DEPTH = 64
MAX_JMESPATH_LENGTH = 4096
_OPEN, _CLOSE = "([{", ")]}"
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_NAMES = {"\x1b": "ESC, which starts an ANSI escape sequence",
          "\x9b": "CSI, which starts an ANSI escape sequence", "\x7f": "DEL", "\x00": "NUL"}


def check_jmespath(text: str, flag: str = "--query") -> None:
    """Refuse a JMESPath expression too long or nested too deeply to evaluate safely."""
    if len(text) > MAX_JMESPATH_LENGTH:
        raise CommandError(f"{flag} is longer than {MAX_JMESPATH_LENGTH} characters")
    depth = deepest = chained = 0
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth -= 1
        elif ch in ".|!&":
            # sub-expressions, pipes, negations and and/or chain into nested nodes too
            chained += 1
    if deepest > MAX_JMESPATH_DEPTH or chained > 4 * MAX_JMESPATH_DEPTH:
        raise CommandError(f"{flag} nests deeper than {MAX_JMESPATH_DEPTH} levels; "
                           "simplify the expression")


def is_control(ch: str) -> bool:
    code = ord(ch)
    return (code < 0x20 and ch not in _ALLOWED_CONTROLS) or code == 0x7F or 0x80 <= code <= 0x9F


def _describe(ch: str) -> str:
    name = _NAMES.get(ch) or unicodedata.name(ch, "") or "a control character"
    return f"U+{ord(ch):04X} ({name})"


def control_character(text: str) -> tuple[int, str] | None:
    """The first forbidden control character of ``text``: (1-based position, char)."""
    for i, ch in enumerate(text):
        if is_control(ch):
            return i + 1, ch
    return None


def check_write_values(values: Mapping[str, Any], usage: str | None = None) -> None:
    """Refuse a control character anywhere in the values (and map keys) of a write, and
    maps and lists nested deeper than DynamoDB stores (checked first, without recursing:
    the checks after it, and boto3's serializer, recurse once a level)."""
    for attr, value in values.items():
        if too_deep(value):
            raise CommandError(f"`{attr}` nests maps and lists deeper than {MAX_NESTING} "
                               "levels (DynamoDB's limit). Nothing was requested.", usage)
    for attr, value in values.items():
        _check_value(str(attr), value, usage)


def _check_value(where: str, value: Any, usage: str | None) -> None:
    if isinstance(value, str):
        found = control_character(value)
        if found:
            pos, ch = found
            raise CommandError(
                f"`{where}` holds a control character, {_describe(ch)}, at position {pos}; "
                "values may hold tab, newline and carriage return but no other control "
                "characters. Nothing was requested.", usage)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            key = str(k)
            found = control_character(key)
            if found:
                raise CommandError(
                    f"`{where}` has a map key with a control character, {_describe(found[1])}, "
                    f"at position {found[0]}. Nothing was requested.", usage)
            _check_value(f"{where}.{key}", v, usage)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, v in enumerate(value):
            _check_value(f"{where}[{i}]", v, usage)
