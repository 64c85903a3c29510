"""The secret guard: no expression a user writes can test a secret.

Redacting a secret in the answer is not enough when the question reveals it. A filter
``begins_with(access_token, 'ya29.a')`` answers yes or no through a count, the rows
returned or their absence; about 2,000 such questions recover a whole token. So every
user-written expression (``--filter``, the sort-key part of ``/ddb query``, pasted
``--key-condition-expression`` / ``--filter-expression`` / ``--condition-expression``),
every ``--projection-expression``, every index a read goes through and every
``--exclusive-start-key`` is checked here, after ``#name`` placeholders are resolved and
aliases made canonical, and before any DynamoDB call. The check looks only at the
command text and the declared schema, so a refusal is the same whatever the table holds
(no count, row, error text or timing difference to learn from).

Guarded attributes: the secret set (``access_token``, ``refresh_token``, ``api_key``,
``api_secret`` and a table's own ``secret``), every name that says it holds a secret
(``client_secret``, ``password``, ``apiKey``, ``private_key``: ``dynamo.secret_names``),
wherever they occur in a path (``config.api_key``, ``oauth.client_secret``,
``creds[0].refresh_token``), in any table, and the prefix-only ``key_hash``.

Two uses stay allowed, because they reveal nothing the answer does not already show:

- presence tests, ``attribute_exists(x)`` / ``attribute_not_exists(x)``, on a guarded
  attribute itself: a card already shows ``[redacted]`` where a secret is present and
  nothing where it is absent. A presence test on a path *inside* a secret
  (``attribute_exists(api_key[3])``, ``attribute_exists(access_token.x)``) would reveal its
  shape, so it is refused;
- equality on the whole ``key_hash`` as the partition key of a query on an index keyed
  by it: the declared access pattern ``/ddb api-key <key_hash>`` (a SHA-256 cannot be
  guessed by equality; a prefix or a range could be).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from commands import expr
from commands.expr_types import check_types
from commands.registry import CommandError
from dynamo.schema import PREFIX_ONLY_ATTRIBUTES, SECRET_ATTRIBUTES, Table
from dynamo.secret_names import is_secret_name
from dynamo.values import ValueTypeError, check_type

PRESENCE = frozenset({"exists", "not_exists"})
_INDEXES = re.compile(r"\[\d+\]")


class SecretRefused(CommandError):
    """A command that would test a secret; refused before any DynamoDB call."""


def why_guarded(attr: str, table: Table | None) -> str | None:
    """Why ``attr`` (one path segment) may not be tested, or None if it may."""
    if attr in (table.never_shown if table is not None else SECRET_ATTRIBUTES):
        return "a secret attribute (never shown)"
    if is_secret_name(attr):
        return "a secret by its name (never shown)"
    if attr in PREFIX_ONLY_ATTRIBUTES:
        return "shown only as a prefix"
    return None


def segments(path: str) -> list[str]:
    """The attribute names of a document path: ``a.b[2].c`` → ``[a, b, c]``."""
    return [_INDEXES.sub("", part) for part in path.split(".")]


def _refusal(where: str, attr: str, why: str, what: str, presence_hint: bool = False) -> SecretRefused:
    hint = (" `attribute_exists` / `attribute_not_exists` on it are allowed (a card already shows "
            "whether it is present).") if presence_hint else ""
    return SecretRefused(
        f"{where}: `{attr}` is {why}, so {what} may not use it: the answer (a count, the rows "
        f"returned or not, their order) would reveal its value a question at a time. "
        f"Nothing was read.{hint}"
    )


def guarded_in_path(path: str, table: Table | None) -> tuple[int, str, str] | None:
    """The first guarded segment of ``path``: (its position, name, why), or None."""
    for i, seg in enumerate(segments(path)):
        why = why_guarded(seg, table)
        if why:
            return i, seg, why
    return None


def _guarded_key_in_value(value: Any, table: Table | None) -> tuple[str, str] | None:
    """A guarded attribute name used as a map key inside a comparison value.

    ``config = :m`` with ``:m = {"field": "email", "api_key": "guess"}`` tests the nested
    secret by equality just as ``config.api_key = :g`` would.
    """
    if isinstance(value, Mapping):
        for k, v in value.items():
            why = why_guarded(str(k), table)
            if why:
                return str(k), why
            found = _guarded_key_in_value(v, table)
            if found:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            found = _guarded_key_in_value(v, table)
            if found:
                return found
    return None


def check_condition(
    node: expr.Node, table: Table | None, where: str, *, partition_key: str | None = None
) -> None:
    """Refuse a parsed condition that tests a guarded attribute.

    ``partition_key``: for a key condition of a query on an index whose partition key is
    prefix-only (``key_hash`` of ``KeyHashIndex``), equality on it joined by AND at the
    top is the declared access pattern and allowed.
    """
    for cmp, top_and in _comparisons(node):
        found = guarded_in_path(cmp.path, table)
        if found:
            pos, attr, why = found
            last = pos == len(segments(cmp.path)) - 1 and "[" not in cmp.path.split(".")[pos]
            presence = cmp.op in PRESENCE and last
            pattern = (top_and and cmp.op == "eq" and cmp.path == partition_key
                       and attr in PREFIX_ONLY_ATTRIBUTES and not cmp.size)
            if not (presence or pattern):
                what = "an expression" if not cmp.size else "size()"
                raise _refusal(where, attr, why, what, presence_hint=True)
        for value in cmp.values:
            hidden = _guarded_key_in_value(value, table)
            if hidden:
                raise _refusal(where, hidden[0], hidden[1], "a value compared in an expression")


def _comparisons(node: expr.Node, top_and: bool = True) -> Iterable[tuple[expr.Cmp, bool]]:
    """Every comparison, and whether it is reached from the root through AND only."""
    if isinstance(node, expr.Cmp):
        yield node, top_and
    elif isinstance(node, expr.Not):
        yield from _comparisons(node.inner, False)
    else:
        conj = top_and and node.op == "and"
        yield from _comparisons(node.left, conj)
        yield from _comparisons(node.right, conj)


def check_paths(paths: Iterable[Iterable[str | int]], table: Table | None, where: str) -> None:
    """Refuse projection paths naming a guarded attribute (``--projection-expression``)."""
    for path in paths:
        for seg in path:
            why = why_guarded(seg, table) if isinstance(seg, str) else None
            if why:
                raise _refusal(where, seg, why, "a projection")


def check_index(table: Table, index: str | None, op: str, where: str) -> None:
    """Refuse reads through an index keyed by a guarded attribute.

    The order of a query's results and every page's start key follow the index keys, so
    an index keyed by a secret (or sorted by ``key_hash``) leaks it through order alone.
    The one exception is a query by the whole partition key ``key_hash`` (checked by
    ``check_condition`` with ``partition_key``).
    """
    keys = table.keys if index is None else table.index(index).keys
    for attr in keys.names:
        why = why_guarded(attr, table)
        if not why:
            continue
        if attr in PREFIX_ONLY_ATTRIBUTES and attr == keys.hash_key and op == "query":
            continue
        what = f"a {op} of `{index or table.short}` (ordered and paged by it)"
        raise _refusal(where, attr, why, what)


def check_key_attribute(table: Table, attr: str, where: str) -> None:
    """``/ddb query <table> <attr>=<value>``: the partition key named by the user."""
    why = why_guarded(attr, table)
    if why and attr not in PREFIX_ONLY_ATTRIBUTES:
        raise _refusal(where, attr, why, "a key condition")


def check_item_names(item: Mapping[str, Any], table: Table | None, where: str) -> None:
    """Refuse a start key (or key) that holds a guarded attribute, at any depth."""
    for k, v in item.items():
        why = why_guarded(str(k), table)
        if why:
            raise _refusal(where, str(k), why, "a start key")
        hidden = _guarded_key_in_value(v, table)
        if hidden:
            raise _refusal(where, hidden[0], hidden[1], "a start key")


def check_expression(
    node: expr.Node, table: Table | None, where: str, *, key_index: str | None = None,
    key_condition: bool = False,
) -> None:
    """The one check every parsed user expression goes through before any call.

    Secrets first (a refusal that names the attribute), then value types against the
    declared schema (``commands.expr_types``). ``key_condition`` with ``key_index``: the
    expression is the key condition of a query on that index (None: the table).
    """
    partition_key = None
    if key_condition and table is not None:
        keys = table.index(key_index).keys if key_index else table.keys
        partition_key = keys.hash_key
    check_condition(node, table, where, partition_key=partition_key)
    try:
        check_types(node, table, where)
    except expr.ExpressionError as exc:
        raise CommandError(str(exc)) from None


def check_start_key(
    table: Table, index: str | None, key: Mapping[str, Any], where: str = "--exclusive-start-key"
) -> dict[str, Any]:
    """A user-given start key: no guarded attribute, exactly the table's (and index's) key.

    A start key positions a read in key order, so one holding a secret would be a range
    comparison on it; one holding other attributes is not a start key at all (DynamoDB
    refuses it, moto crashes on it), so both are refused with what it must hold.
    """
    check_item_names(key, table, where)
    want = table.key_names_for(index)
    got = list(key)
    if set(got) != set(want):
        of = f"`{table.short}`" + (f" / `{index}`" if index else "")
        extra = [k for k in got if k not in want]
        missing = [k for k in want if k not in key]
        detail = "; ".join(part for part in (
            f"not key attributes: {', '.join(f'`{k}`' for k in extra)}" if extra else "",
            f"missing: {', '.join(f'`{k}`' for k in missing)}" if missing else "") if part)
        raise CommandError(
            f"{where} must hold exactly the key attributes of {of} "
            f"({', '.join(f'`{k}`' for k in want)}); {detail}")
    for k, v in key.items():
        try:
            check_type(table, k, v)
        except ValueTypeError as exc:
            raise CommandError(f"{where}: {exc}") from None
    return dict(key)
