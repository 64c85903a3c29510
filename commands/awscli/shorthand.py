"""The aws CLI's shorthand syntax (``user_id={S=abc}``, ``:e={S=x},:n={N=5}``).

Ported from awscli/shorthand.py (aws-cli v1, Apache-2.0: ``ShorthandParser`` and the
``BackCompatVisitor`` that types values from the operation's model). awscli itself is
not a runtime dependency (it pins botocore and brings docutils, rsa, colorama and a
second CLI into the image), and the parser is ~200 lines, so the bot carries its own copy;
``tests/parity`` checks it against awscli's parser on every shorthand form used there.
Differences from the original: ``key@=file`` (read a file) is refused, and document types
do not occur in DynamoDB's input shapes.
"""

from __future__ import annotations

import re
import string
from typing import Any

from botocore.model import Shape

from dynamo.errors import DdbBotError

_EOF = object()


class ShorthandError(DdbBotError, ValueError):
    """Text that is not valid shorthand; the message points at the place."""

    def __init__(self, value: str, expected: str, actual: str, index: int) -> None:
        # up to 40 characters either side of the place, however long the text
        before = value[max(index - 40, 0):index]
        after = value[index:index + 40]
        where = ("…" if index > 40 else "") + before + " ⟵ " + after \
            + ("…" if len(value) > index + 40 else "")
        actual = actual if len(actual) <= 40 else actual[:40] + "…"
        super().__init__(f"expected `{expected}`, found `{actual}` here: {where}")


class ShorthandTooDeep(ShorthandError):
    """Lists and maps nested past ``MAX_DEPTH``; the parser recurses once a level."""

    def __init__(self, limit: int) -> None:
        DdbBotError.__init__(self, f"lists and maps nest deeper than {limit} levels "
                                   "(DynamoDB allows 32 levels of maps and lists)")


# the parser recurses once a list or map level: far below Python's recursion limit, and
# above what typed values of DynamoDB's 32 levels take ({M={k={M=...}}}: two a level)
MAX_DEPTH = 66


class ShorthandParser:
    """Purely syntactic: ``a=b,c=[d,e],f={g=h}`` to dicts, lists and strings.

    Unlike awscli's, regexes match in place (``pattern.match(text, pos)``) rather than on
    a copy of the rest of the text, so parsing is linear in the text's length.
    """

    _SINGLE_QUOTED = re.compile(r"'(?:\\'|[^'])*'")
    _DOUBLE_QUOTED = re.compile(r'"(?:\\"|[^"])*"')
    _START_WORD = r"\!\#-&\(-\+\--\<\>-Z\\\\-z\u007c-\uffff"
    _FIRST_FOLLOW_CHARS = r"\s\!\#-&\(-\+\--\\\\\^-\|~-\uffff"
    _SECOND_FOLLOW_CHARS = r"\s\!\#-&\(-\+\--\<\>-\uffff"
    _ESCAPED_COMMA = "(\\\\,)"
    _FIRST_VALUE = re.compile(
        f"({_ESCAPED_COMMA}|[{_START_WORD}])({_ESCAPED_COMMA}|[{_FIRST_FOLLOW_CHARS}])*")
    _SECOND_VALUE = re.compile(
        f"({_ESCAPED_COMMA}|[{_START_WORD}])({_ESCAPED_COMMA}|[{_SECOND_FOLLOW_CHARS}])*")

    def parse(self, value: str) -> dict[str, Any]:
        self._input = value
        self._index = 0
        self._depth = 0
        return self._parameter()

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ShorthandTooDeep(MAX_DEPTH)

    def _parameter(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        key, val = self._keyval()
        params[key] = val
        while self._index < len(self._input):
            self._expect(",", consume_whitespace=True)
            key, val = self._keyval()
            if key in params:
                raise ShorthandError(self._input, "a new key", f"{key} again", self._index)
            params[key] = val
        return params

    def _keyval(self) -> tuple[str, Any]:
        key = self._key()
        self._refuse_file()
        self._expect("=", consume_whitespace=True)
        return key, self._values()

    def _refuse_file(self) -> None:
        self._consume_whitespace()
        if self._current() == "@":
            raise ShorthandError(self._input, "=", "@= (a file; paste the value itself)",
                                 self._index)

    def _key(self) -> str:
        valid = string.ascii_letters + string.digits + "-_.#/:"
        start = self._index
        while not self._at_eof() and self._current() in valid:
            self._index += 1
        return self._input[start:self._index]

    def _values(self) -> Any:
        if self._at_eof():
            return ""
        if self._current() == "[":
            return self._explicit_list()
        if self._current() == "{":
            return self._hash_literal()
        return self._csv_value()

    def _csv_value(self) -> Any:
        first = self._first_value()
        self._consume_whitespace()
        if self._at_eof() or self._input[self._index] != ",":
            return first
        self._expect(",", consume_whitespace=True)
        csv = [first]
        while True:
            try:
                current = self._second_value()
                self._consume_whitespace()
                if self._at_eof():
                    csv.append(current)
                    break
                self._expect(",", consume_whitespace=True)
                csv.append(current)
            except ShorthandError:
                if self._at_eof():
                    raise
                self._backtrack_to(",")
                break
        return first if len(csv) == 1 else csv

    def _value(self) -> str:
        result = self._FIRST_VALUE.match(self._input, self._index)
        if result is not None:
            return self._consume_matched(result).replace("\\,", ",").rstrip()
        return ""

    def _explicit_list(self) -> list[Any]:
        self._expect("[", consume_whitespace=True)
        self._enter()
        values = []
        while self._current() != "]":
            values.append(self._explicit_values())
            self._consume_whitespace()
            if self._current() != "]":
                self._expect(",")
                self._consume_whitespace()
        self._expect("]")
        self._depth -= 1
        return values

    def _explicit_values(self) -> Any:
        if self._current() == "[":
            return self._explicit_list()
        if self._current() == "{":
            return self._hash_literal()
        return self._first_value()

    def _hash_literal(self) -> dict[str, Any]:
        self._expect("{", consume_whitespace=True)
        self._enter()
        keyvals: dict[str, Any] = {}
        while self._current() != "}":
            key = self._key()
            self._refuse_file()
            self._expect("=", consume_whitespace=True)
            v = self._explicit_values()
            self._consume_whitespace()
            if self._current() != "}":
                self._expect(",")
                self._consume_whitespace()
            keyvals[key] = v
        self._expect("}")
        self._depth -= 1
        return keyvals

    def _first_value(self) -> str:
        if self._current() == "'":
            return self._consume_quoted(self._SINGLE_QUOTED, "'")
        if self._current() == '"':
            return self._consume_quoted(self._DOUBLE_QUOTED, '"')
        return self._value()

    def _consume_quoted(self, regex: re.Pattern[str], escaped_char: str) -> str:
        value = self._must_consume(regex, "quoted value")[1:-1]
        return value.replace(f"\\{escaped_char}", escaped_char).replace("\\\\", "\\")

    def _second_value(self) -> str:
        if self._current() in ("'", '"'):
            return self._first_value()
        consumed = self._must_consume(self._SECOND_VALUE, "second")
        return consumed.replace("\\,", ",").rstrip()

    def _expect(self, char: str, consume_whitespace: bool = False) -> None:
        if consume_whitespace:
            self._consume_whitespace()
        if self._index >= len(self._input):
            raise ShorthandError(self._input, char, "end of text", self._index)
        actual = self._input[self._index]
        if actual != char:
            raise ShorthandError(self._input, char, actual, self._index)
        self._index += 1
        if consume_whitespace:
            self._consume_whitespace()

    def _must_consume(self, regex: re.Pattern[str], name: str) -> str:
        result = regex.match(self._input, self._index)
        if result is not None:
            return self._consume_matched(result)
        raise ShorthandError(self._input, f"<{name}>", "nothing", self._index)

    def _consume_matched(self, result: re.Match[str]) -> str:
        # the match was made at self._index (pattern.match(text, pos)), so it starts there
        v = result.group(0)
        self._index = result.end()
        return v

    def _current(self) -> Any:
        return self._input[self._index] if self._index < len(self._input) else _EOF

    def _at_eof(self) -> bool:
        return self._index >= len(self._input)

    def _backtrack_to(self, char: str) -> None:
        while self._index >= 0 and self._input[self._index] != char:
            self._index -= 1

    def _consume_whitespace(self) -> None:
        while self._current() is not _EOF and self._current() in string.whitespace:
            self._index += 1


def visit(params: Any, shape: Shape) -> None:
    """awscli's BackCompatVisitor: type the parsed strings from the input ``shape``.

    A scalar where a list is expected becomes a one-element list; integers, floats and
    booleans are converted (``{BOOL=true}``); strings and blobs stay text.
    """
    _visit({}, shape, "", params)


def _visit(parent: Any, shape: Shape, name: Any, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        if isinstance(value, dict):
            for member, member_shape in shape.members.items():  # type: ignore[attr-defined]
                _visit(value, member_shape, member, value.get(member))
    elif kind == "list":
        if not isinstance(value, list):
            if value is not None:
                parent[name] = [value]
        else:
            for i, element in enumerate(value):
                _visit(value, shape.member, i, element)  # type: ignore[attr-defined]
    elif kind == "map":
        if isinstance(value, dict):
            for k, v in value.items():
                _visit(value, shape.value, k, v)  # type: ignore[attr-defined]
    elif value is not None and isinstance(value, str):
        if kind in ("integer", "long"):
            parent[name] = int(value)
        elif kind in ("double", "float"):
            parent[name] = float(value)
        elif kind == "boolean" and value.lower() in ("true", "false"):
            parent[name] = value.lower() == "true"


def parse(text: str, shape: Shape) -> Any:
    """Shorthand ``text`` for an argument of ``shape`` (a map, structure or list)."""
    parsed = ShorthandParser().parse(text)
    visit(parsed, shape)
    return parsed
