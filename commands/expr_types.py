"""Type checks of a parsed condition against the declared schema, before any call.

A pasted runbook command can compare a string attribute with a number
(``#f between :f and :f`` with ``#f`` = ``cognito_user_id`` and ``:f`` = ``{"N": "0"}``).
DynamoDB answers such a comparison with "false" for every item, which silently turns a
typo into "no items"; some shapes (``between`` with bounds of different types or in the
wrong order, ``begins_with`` on a number, an ordering comparison of a boolean) are
``ValidationException`` s. Every one of them is refused here with the attribute, its
declared type and the value's type, so the user sees what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary

from commands import expr
from dynamo.schema import AttrType, Table

ORDERED = {"lt", "lte", "gt", "gte", "between"}
OP_TEXT = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
           "between": "between", "in": "in", "begins_with": "begins_with",
           "contains": "contains"}


def kind(value: Any) -> str:
    """The DynamoDB type of a decoded value (S, N, B, BOOL, NULL, M, L, SS, NS, BS)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, str):
        return "S"
    if isinstance(value, Decimal | int | float):
        return "N"
    if isinstance(value, bytes | bytearray | Binary):
        return "B"
    if isinstance(value, dict):
        return "M"
    if isinstance(value, list | tuple):
        return "L"
    if isinstance(value, set | frozenset):
        kinds = {kind(v) for v in value}
        return {"S": "SS", "N": "NS", "B": "BS"}.get(next(iter(kinds)), "L") if len(kinds) == 1 \
            else "L"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = f"'{value}'"
    elif isinstance(value, Decimal | bool) or value is None:
        text = {True: "true", False: "false", None: "null"}.get(value, str(value)) \
            if not isinstance(value, Decimal) else str(value)
    else:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_types(node: expr.Node, table: Table | None, where: str) -> None:
    """Raise ``ExpressionError`` for any comparison whose types cannot match."""
    for cmp in _comparisons(node):
        _check(cmp, table, where)


def _check(cmp: expr.Cmp, table: Table | None, where: str) -> None:
    if cmp.op in ("exists", "not_exists", "attribute_type"):  # a type name, checked when parsed
        return
    op = OP_TEXT.get(cmp.op, cmp.op)
    kinds = [kind(v) for v in cmp.values]
    if cmp.op in ORDERED:
        for k, v in zip(kinds, cmp.values, strict=True):
            if k not in ("S", "N", "B"):
                raise expr.ExpressionError(
                    f"{where}: `{cmp.path} {op}` orders strings, numbers or binary; {_show(v)} is {k}")
    if cmp.op == "between":
        lo, hi = cmp.values
        if kinds[0] != kinds[1]:
            raise expr.ExpressionError(
                f"{where}: the bounds of `{cmp.path} between` have different types "
                f"({kinds[0]} and {kinds[1]})")
        if _raw(lo) > _raw(hi):
            raise expr.ExpressionError(
                f"{where}: `{cmp.path} between {_show(lo)} and {_show(hi)}`: the lower bound is "
                "greater than the upper bound")
    if cmp.op == "begins_with" and kinds[0] not in ("S", "B"):
        raise expr.ExpressionError(
            f"{where}: begins_with takes a string or binary prefix; {_show(cmp.values[0])} is "
            f"{kinds[0]}")
    if cmp.size:
        return  # size() is a number, and its values were checked to be numbers when parsed
    declared = _declared(table, cmp.path)
    if declared is None:
        return
    if cmp.op == "begins_with" and declared not in (AttrType.S, AttrType.B):
        raise expr.ExpressionError(
            f"{where}: `{cmp.path}` is declared {declared.value}; begins_with needs a string "
            "or binary attribute")
    if cmp.op == "contains":
        if declared in (AttrType.N, AttrType.BOOL):
            raise expr.ExpressionError(
                f"{where}: `{cmp.path}` is declared {declared.value}; contains needs a string, "
                "set or list attribute")
        if declared in (AttrType.S, AttrType.B) and kinds[0] != declared.value:
            raise expr.ExpressionError(
                f"{where}: `{cmp.path}` is declared {declared.value}; contains "
                f"{_show(cmp.values[0])} ({kinds[0]}) can never match")
        return
    for k, v in zip(kinds, cmp.values, strict=True):
        if k != declared.value and not (k == "NULL" and cmp.op in ("eq", "ne", "in")):
            raise expr.ExpressionError(
                f"{where}: `{cmp.path}` is declared {declared.value} but is compared "
                f"(`{op}`) with {_show(v)}, a {k} value")


def _raw(value: Any) -> Any:
    return bytes(value.value) if isinstance(value, Binary) else value


def _declared(table: Table | None, path: str) -> AttrType | None:
    if table is None or "." in path or "[" in path:
        return None
    return table.type_of(path)


def _comparisons(node: expr.Node) -> Iterable[expr.Cmp]:
    if isinstance(node, expr.Cmp):
        yield node
    elif isinstance(node, expr.Not):
        yield from _comparisons(node.inner)
    else:
        yield from _comparisons(node.left)
        yield from _comparisons(node.right)
