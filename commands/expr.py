"""A small condition language, parsed into boto3 condition objects.

User text never becomes expression text: ``--filter``, the query sort-key part and
pasted CLI ``--key-condition-expression`` / ``--filter-expression`` are parsed here into
``Attr``/``Key`` objects, and boto3's builder writes the final expression with its own
placeholders. ``#name`` and ``:value`` placeholders of pasted commands are resolved
from the given maps; anything the grammar does not know is a clear error.

Grammar (case-insensitive keywords)::

    expr  := term (OR term)*            term := factor (AND factor)*
    factor:= NOT factor | '(' expr ')' | func | path op value
           | path BETWEEN value AND value | path IN '(' value (',' value)* ')'
    func  := begins_with(path, value) | contains(path, value)
           | attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, type)
           | size(path) op number | size(path) BETWEEN number AND number
           | size(path) IN '(' number (',' number)* ')'
    op    := = | <> | != | < | <= | > | >=
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, In, Key, NotEquals

from commands.parse import MAX_NESTING, too_deep
from dynamo.errors import DdbBotError
from dynamo.schema import Table
from dynamo.values import typed_value


class ExpressionError(DdbBotError, ValueError):
    """An expression the grammar does not accept."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op><>|!=|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<word>[^\s()=<>!,'"]+)
    )""",
    re.VERBOSE,
)
_NAME = re.compile(r"^#?[A-Za-z_][A-Za-z0-9_-]*(\[\d+\])*$")
KEYWORDS = {"and", "or", "not", "between", "in"}
FUNCS = {"begins_with", "contains", "attribute_exists", "attribute_not_exists",
         "attribute_type"}
# the type names attribute_type(path, :t) takes (DynamoDB's data type descriptors)
TYPE_NAMES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")
OPS = {"=": "eq", "<>": "ne", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
# Generous bounds (DynamoDB's own limit is 300 operators in an update expression) that keep
# this parser and boto3's recursive builder well inside Python's recursion limit.
MAX_OPERATORS = 300
MAX_DEPTH = 32
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def unescape(inner: str) -> str:
    """The text of a quoted value: backslash escapes a quote, a backslash, n, t or r."""
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), inner)


@dataclass(frozen=True)
class Tok:
    kind: str  # op | punct | str | word
    text: str


def tokens(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected `{text[pos:pos + 20].strip()}` in expression")
        kind = m.lastgroup or "word"
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


# -- the parsed tree -------------------------------------------------------------------
@dataclass(frozen=True)
class Cmp:
    path: str
    op: str  # eq ne lt lte gt gte between in begins_with contains exists not_exists
    values: tuple[Any, ...] = ()
    # ``size(path) op value``: the comparison applies to the attribute's size
    size: bool = False


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


Node = Cmp | BoolOp | Not


class Parser:
    def __init__(
        self,
        text: str,
        table: Table | None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        if not text or not text.strip():
            raise ExpressionError("the expression is empty")
        if len(text) > 4096:
            raise ExpressionError("the expression is longer than 4096 characters")
        self.toks = tokens(text)
        self.i = 0
        self.table = table
        self.names = dict(names or {})
        self.values = dict(values or {})
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.depth = 0
        self.operators = 0

    def count_operator(self) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise ExpressionError(f"the expression has more than {MAX_OPERATORS} operators")

    # helpers
    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("the expression ends too early")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text.lower() != text:
            raise ExpressionError(f"expected `{text}` but found `{tok.text}`")

    def is_kw(self, kw: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() == kw

    # grammar
    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected `{self.peek().text}` after a complete expression")  # type: ignore[union-attr]
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.is_kw("or"):
            self.take()
            self.count_operator()
            node = BoolOp("or", node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.is_kw("and"):
            self.take()
            self.count_operator()
            node = BoolOp("and", node, self.factor())
        return node

    def factor(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        try:
            return self._factor()
        finally:
            self.depth -= 1

    def _factor(self) -> Node:
        if self.is_kw("not"):
            self.take()
            self.count_operator()
            return Not(self.factor())
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        self.count_operator()
        if tok is not None and tok.kind == "word" and tok.text.lower() in FUNCS:
            return self.func()
        if (tok is not None and tok.kind == "word" and tok.text.lower() == "size"
                and self.i + 1 < len(self.toks) and self.toks[self.i + 1].text == "("):
            return self.size()
        path = self.path()
        tok = self.take()
        if tok.kind == "op":
            return Cmp(path, OPS[tok.text], (self.value(path),))
        low = tok.text.lower()
        if low == "between":
            lo = self.value(path)
            self.expect("and")
            return Cmp(path, "between", (lo, self.value(path)))
        if low == "in":
            self.expect("(")
            vals = [self.value(path)]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                vals.append(self.value(path))
            self.expect(")")
            if len(vals) > 100:
                raise ExpressionError("IN takes at most 100 values")
            return Cmp(path, "in", tuple(vals))
        if low == "begins_with":  # infix form used by `/ddb query ... sk begins_with x`
            return Cmp(path, "begins_with", (self.value(path),))
        raise ExpressionError(f"expected a comparison after `{path}`, found `{tok.text}`")

    def func(self) -> Node:
        name = self.take().text.lower()
        self.expect("(")
        path = self.path()
        if name in ("attribute_exists", "attribute_not_exists"):
            self.expect(")")
            return Cmp(path, "exists" if name == "attribute_exists" else "not_exists")
        self.expect(",")
        if name == "attribute_type":  # the value names a type: a string, not the attribute's
            kind = self.value("")
            self.expect(")")
            if kind not in TYPE_NAMES:
                raise ExpressionError(f"attribute_type({path}, ...) takes a type name, one of "
                                      f"{', '.join(TYPE_NAMES)}; not `{kind!r}`")
            return Cmp(path, name, (kind,))
        val = self.value(path)
        self.expect(")")
        return Cmp(path, name, (val,))

    def size(self) -> Node:
        """``size(path) op n`` / ``size(path) between n and m``: n, m are numbers."""
        self.take()
        self.expect("(")
        path = self.path()
        self.expect(")")
        tok = self.take()
        if tok.kind == "op":
            return Cmp(path, OPS[tok.text], (self.size_value(path),), size=True)
        if tok.text.lower() == "between":
            lo = self.size_value(path)
            self.expect("and")
            return Cmp(path, "between", (lo, self.size_value(path)), size=True)
        if tok.text.lower() == "in":
            self.expect("(")
            vals = [self.size_value(path)]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                vals.append(self.size_value(path))
            self.expect(")")
            if len(vals) > 100:
                raise ExpressionError("IN takes at most 100 values")
            return Cmp(path, "in", tuple(vals), size=True)
        raise ExpressionError(f"expected a comparison after `size({path})`, found `{tok.text}`")

    def size_value(self, path: str) -> Any:
        value = self.value("")  # typed as a literal, not as the attribute's own type
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            raise ExpressionError(f"`size({path})` is a number; compare it with a number, "
                                  f"not `{value!r}`")
        return value

    def path(self) -> str:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in KEYWORDS or tok.text.startswith(":"):
            raise ExpressionError(f"expected an attribute name, found `{tok.text}`")
        parts = []
        for part in tok.text.split("."):
            if not _NAME.match(part):
                raise ExpressionError(f"`{tok.text}` is not a valid attribute name")
            if part.startswith("#"):
                base = part.split("[")[0]
                if base not in self.names:
                    raise ExpressionError(
                        f"`{base}` is not defined in --expression-attribute-names"
                    )
                self.used_names.add(base)
                part = self.names[base] + part[len(base):]
            parts.append(part)
        path = ".".join(parts)
        if self.table is not None:
            path = ".".join([self.table.canonical(parts[0]), *parts[1:]])
        return path

    def value(self, path: str) -> Any:
        tok = self.take()
        if tok.kind == "str":
            inner = unescape(tok.text[1:-1])
            # a quoted value is typed only for a declared top-level attribute
            declared = self.table.type_of(path) if self.table and "." not in path else None
            return typed_value(self.table, path, inner) if declared else inner
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise ExpressionError(f"expected a value, found `{tok.text}`")
        if tok.text.startswith(":"):
            if tok.text not in self.values:
                raise ExpressionError(
                    f"`{tok.text}` is not defined in --expression-attribute-values"
                )
            self.used_values.add(tok.text)
            return self.values[tok.text]
        value = typed_value(self.table, path, tok.text)
        if too_deep(value):  # DynamoDB would refuse it; boto3's builder recurses a level
            raise ExpressionError(f"the value compared with `{path}` nests maps and lists "
                                  f"deeper than {MAX_NESTING} levels (DynamoDB's limit)")
        return value


def parse(
    text: str,
    table: Table | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    used: set[str] | None = None,
) -> Node:
    """Parse ``text``; placeholders it used are added to ``used`` (to find unused ones)."""
    parser = Parser(text, table, names, values)
    node = parser.parse()
    if used is not None:
        used.update(parser.used_values, parser.used_names)
    return node


def to_condition(node: Node, cls: type = Attr) -> ConditionBase:
    """The boto3 condition for a parsed tree (``Attr`` for filters)."""
    if isinstance(node, BoolOp):
        left, right = to_condition(node.left, cls), to_condition(node.right, cls)
        return left & right if node.op == "and" else left | right
    if isinstance(node, Not):
        return ~to_condition(node.inner, cls)
    a = cls(node.path)
    v = node.values
    if node.size:
        size = a.size()
        if node.op == "ne":
            return NotEquals(size, v[0])
        if node.op == "in":
            return In(size, list(v))
        return size.between(v[0], v[1]) if node.op == "between" else getattr(size, node.op)(v[0])
    if node.op == "between":
        return a.between(v[0], v[1])
    if node.op == "in":
        return a.is_in(list(v))
    if node.op == "exists":
        return a.exists()
    if node.op == "not_exists":
        return a.not_exists()
    if node.op == "contains":
        return a.contains(v[0])
    if node.op == "attribute_type":
        return a.attribute_type(v[0])
    return getattr(a, node.op)(v[0])


def filter_condition(text: str, table: Table | None, **maps: Any) -> ConditionBase:
    return to_condition(parse(text, table, maps.get("names"), maps.get("values")))


KEY_OPS = {"eq", "lt", "lte", "gt", "gte", "between", "begins_with"}


def key_condition(
    node: Node, hash_key: str, range_key: str | None
) -> tuple[Any, ConditionBase | None, ConditionBase]:
    """Check a parsed key condition has the shape DynamoDB allows; return its parts.

    Returns (hash value, range condition or None, full Key condition).
    """
    parts: list[Cmp] = []

    def flatten(n: Node) -> None:
        if isinstance(n, BoolOp) and n.op == "and":
            flatten(n.left)
            flatten(n.right)
        elif isinstance(n, Cmp):
            parts.append(n)
        else:
            raise ExpressionError("a key condition can only join comparisons with AND")

    flatten(node)
    if any(p.size for p in parts):
        raise ExpressionError("size() is not allowed in a key condition")
    hashes = [p for p in parts if p.path == hash_key and p.op == "eq"]
    if len(hashes) != 1:
        raise ExpressionError(f"a key condition needs exactly one `{hash_key} = value`")
    rest = [p for p in parts if p is not hashes[0]]
    if len(rest) > 1:
        raise ExpressionError("a key condition has at most one sort-key comparison")
    cond: ConditionBase = Key(hash_key).eq(hashes[0].values[0])
    range_cond = None
    if rest:
        r = rest[0]
        if range_key is None:
            raise ExpressionError(f"`{r.path}` is not a sort key here (no sort key)")
        if r.path != range_key:
            raise ExpressionError(f"`{r.path}` is not the sort key; the sort key is `{range_key}`")
        if r.op not in KEY_OPS:
            raise ExpressionError(
                f"`{r.op}` is not allowed on a sort key (use = < <= > >= between begins_with)"
            )
        range_cond = to_condition(r, Key)
        cond = cond & range_cond
    return hashes[0].values[0], range_cond, cond
