"""moto, made to evaluate mixed-type comparisons the way DynamoDB does.

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

from collections.abc import Callable
from typing import Any

_MARK = "_ddb_bot_compat"


def install() -> None:
    """Patch moto's comparison operators once (idempotent); call before serving requests."""
    from moto.dynamodb import comparisons as c

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
