"""moto, made to behave as DynamoDB (checked against DynamoDB Local) where it did not.

Two differences, each patched once by ``install()``:

1. Projections through a placeholder with a list index (``#p.#l[0]``, what the bot sends
   for ``prefs.langs[0]``): DynamoDB (and DynamoDB Local) project the list element; moto
   does not resolve ``#l`` when an index follows it and answers "Value provided in
   ExpressionAttributeNames unused in expressions". Its parser is given the resolved
   name for each such ``#name[i]`` (tests/integration/test_engine_differences.py).
2. Mixed-type comparisons, below.

DynamoDB evaluates a comparison whose operands have different types (a string attribute
against a number, ``between`` over a string with number bounds) or ``size()`` of a
missing attribute as *false* for that item. moto 5 compares the Python values instead and
raises ``TypeError`` / ``ValueError``, which in-process (the demo and the tests) escapes
from the boto3 call as an unexpected exception. The bot already refuses every mismatch it
can see from the declared schema (``commands.expr_types``); for undeclared paths
(``config.field < :n``) only the stored data decides, so the embedded DynamoDB must
behave like the real one. Only evaluation is wrapped; moto's parse-time validation
(which DynamoDB also does, as ``ValidationException``) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_MARK = "_ddb_bot_compat"
_INDEXED_PLACEHOLDER = re.compile(r"#[A-Za-z0-9_]+(?:\[\d+\])+")


def install() -> None:
    """Patch moto's projection parser and comparison operators once (idempotent); call
    before serving requests."""
    from moto.dynamodb import comparisons as c
    from moto.dynamodb.responses import ProjectionExpressionParser

    if not getattr(ProjectionExpressionParser.parse, _MARK, False):
        ProjectionExpressionParser.parse = _indexed_placeholders(  # type: ignore[method-assign]
            ProjectionExpressionParser.parse)

    for cls in (c.OpLessThan, c.OpGreaterThan, c.OpLessThanOrEqual, c.OpGreaterThanOrEqual,
                c.OpEqual, c.OpNotEqual, c.FuncBetween, c.FuncIn):
        original = cls.expr
        if getattr(original, _MARK, False):
            continue
        cls.expr = _false_on_type_mismatch(original)  # type: ignore[method-assign]


def _false_on_type_mismatch(original: Callable[..., Any]) -> Callable[..., Any]:
    def expr(self: Any, item: Any) -> Any:
        try:
            return original(self, item)
        except (TypeError, ValueError):
            return False

    setattr(expr, _MARK, True)
    return expr


def _indexed_placeholders(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's projection parser, resolving ``#name`` also where a list index follows it."""

    def parse(self: Any) -> Any:
        names: dict[str, str] = self.expression_attribute_names
        indexed = {part: names[part[:part.index("[")]] + part[part.index("["):]
                   for part in _INDEXED_PLACEHOLDER.findall(self.projection_expression or "")
                   if part[:part.index("[")] in names}
        if not indexed:
            return original(self)
        self.expression_attribute_names = {**names, **indexed}
        try:
            out = original(self)
        finally:
            self.expression_attribute_names = names
        # what was used is the placeholder itself (moto checks that every name was used)
        self.expr_attr_names_found = [f[:f.index("[")] if f in indexed else f
                                      for f in self.expr_attr_names_found]
        return out

    setattr(parse, _MARK, True)
    return parse
