"""Planning a write request: validate the change, read the item, freeze before → after.

Nothing is written here; ``Requests.save`` stores what a plan returns. ``Planner`` is the
planning half of ``Requests`` (``dynamo.requests.execute``): it needs the store, the clock,
the approval policy and the request lifetime, which that class holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dynamo.errors import DdbBotError
from dynamo.policy import NoCommonApprovers, Policy, and_list
from dynamo.requests.model import Gsi, Kind, WriteRequest, new_request_id
from dynamo.schema import PREFIX_ONLY_ATTRIBUTES, Table, resolve_table, secret_inside
from dynamo.store import ITEM_LIMIT_KB, Store
from dynamo.values import check_type


class PlanError(DdbBotError, ValueError):
    """A change that must not be requested (bad attribute, missing item, ...)."""


TOO_LARGE = (f"this change is too large to request: a request keeps the item's current values "
             f"to check them when it is approved, and with them it would pass DynamoDB's "
             f"{ITEM_LIMIT_KB} KB item limit. Nothing was requested")


# DynamoDB refuses an attribute whose maps and lists nest past 32 levels (the attribute
# itself the first). The commands check a value against that; the request item carries
# the value one level deeper (inside its own map), so a value at the very limit is
# writable but not requestable: refused here, the same on every engine (moto does not
# check nesting; DynamoDB answers "Nesting Levels have exceeded supported limits").
MAX_STORED_NESTING = 32
TOO_DEEP = (f"this change nests maps and lists too deeply to request: a request carries "
            f"its values one level deeper, past DynamoDB's {MAX_STORED_NESTING} levels. "
            f"Nothing was requested")


def _typed_nesting(value: Any) -> int:
    """How deep ``M`` / ``L`` values nest in one serialized attribute value (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if "M" in node and isinstance(node["M"], dict):
            children: Iterable[Any] = node["M"].values()
        elif "L" in node and isinstance(node["L"], list):
            children = node["L"]
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((c, depth + 1) for c in children)
    return deepest


def check_storable(item: dict[str, Any]) -> None:
    """Refuse a serialized request item that DynamoDB would refuse for its nesting."""
    if any(_typed_nesting(v) >= MAX_STORED_NESTING for v in item.values()):
        raise PlanError(TOO_DEEP)


def _forbidden(table: Table, attrs: Iterable[str]) -> None:
    for attr in attrs:
        top = attr.split(".")[0]
        if top in table.keys.names:
            raise PlanError(f"`{top}` is part of `{table.short}`'s key and cannot be changed; "
                            "delete the item and put a new one instead")
        if table.is_secret(top) or top in PREFIX_ONLY_ATTRIBUTES:
            raise PlanError(f"`{top}` is a secret attribute and cannot be set or removed from Slack")
        if "." in attr or "[" in attr:
            raise PlanError(f"`{attr}`: set a whole top-level attribute (nested paths are not supported)")


def _no_secret_inside(attr: str, value: Any, current: bool = False) -> None:
    """Refuse a value (written, or the current one a change replaces) holding a secret key:
    a request keeps both, and secrets are never set from Slack nor kept in a request."""
    path = secret_inside(value)
    if path and current:
        raise PlanError(f"`{attr}` holds a secret (`{attr}.{path}`), so it cannot be changed or "
                        "removed from Slack; nothing was requested")
    if path:
        raise PlanError(f"`{attr}.{path}` is a secret attribute and cannot be set from Slack; "
                        "nothing was requested")


def _current(store: Store, full: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    page = store.get(full, key, consistent=True)
    return page.items[0] if page.items else None


class Planner:
    """plan_update / plan_delete / plan_put / plan_gsi: a ``WriteRequest`` ready to save."""

    store: Store
    policy: Policy
    ttl_seconds: int
    clock: Callable[[], float]

    def _base(self, kind: Kind, table: Table, requester: str, **kw: Any) -> WriteRequest:
        """The request with the approval rule of what it *does* (``judged_by_effect``)."""
        now = int(self.clock())
        kinds, effect = judged_by_effect(kind, remove=kw.get("remove") or (),
                                         existed=bool(kw.get("existed")))
        try:
            strictest = self.policy.strictest(table.short, kinds)
        except NoCommonApprovers as exc:
            raise PlanError(f"this {kind.value} {effect}, so it needs the {and_list(kinds)} rules "
                            f"at once, but {exc}. Give those rules a common approver (or, for a "
                            "replacement, ask for a delete and then a put); nothing was "
                            "requested") from None
        rule = strictest.rule
        judged = f"{effect}, judged as {and_list(strictest.by)}" if strictest.by else None
        return WriteRequest(id=new_request_id(now), kind=kind, table=table.short,
                            requester=requester, created_at=now, stage=self.store.stage,
                            expires_at=now + self.ttl_seconds, need=rule.approvals,
                            approvers=list(rule.approvers or ()), judged=judged, **kw)

    def plan_update(self, table_name: str, key: dict[str, Any], set_: dict[str, Any],
                    remove: list[str], requester: str, *, touch: bool = True,
                    **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        if not set_ and not remove:
            raise PlanError("nothing to change: give `set <attr>=<value>` and/or `remove <attr>`")
        both = set(set_) & set(remove)
        if both:
            raise PlanError(f"`{', '.join(sorted(both))}` is both set and removed")
        _forbidden(table, [*set_, *remove])
        for attr, value in set_.items():
            check_type(table, attr, value)
            _no_secret_inside(attr, value)
        current = _current(self.store, full, key)
        if current is None:
            raise PlanError(f"no item with {_key_text(key)} in `{full}`; nothing to update")
        for attr in [*set_, *remove]:
            _no_secret_inside(attr, current.get(attr), current=True)
        set_ = dict(set_)
        if touch and table.has_updated_at and "updated_at" not in set_ \
                and "updated_at" not in remove:
            set_["updated_at"] = datetime.fromtimestamp(self.clock(), UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        touched = [*set_, *remove]
        req = self._base(Kind.UPDATE, table, requester, key=key, set=set_, remove=list(remove),
                         existed=True, **kw)
        req.before = {a: current[a] for a in touched if a in current}
        req.missing = [a for a in touched if a not in current]
        return req

    def plan_delete(self, table_name: str, key: dict[str, Any], requester: str,
                    **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        current = _current(self.store, full, key)
        if current is None:
            raise PlanError(f"no item with {_key_text(key)} in `{full}`; nothing to delete")
        req = self._base(Kind.DELETE, table, requester, key=key, existed=True, **kw)
        req.before = _comparable(table, current)
        req.secret_touched = any(table.holds_secret(a, v) for a, v in current.items())
        return req

    def plan_put(self, table_name: str, item: dict[str, Any], requester: str, *,
                 replace: bool = False, **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        missing_keys = [k for k in table.keys.names if k not in item]
        if missing_keys:
            raise PlanError(f"the item lacks key attribute(s) {', '.join(missing_keys)}")
        secret = [a for a in item if table.is_secret(a) or a in PREFIX_ONLY_ATTRIBUTES]
        if secret:
            raise PlanError(f"`{', '.join(secret)}` is a secret attribute and cannot be set "
                            "from Slack")
        for attr, value in item.items():
            check_type(table, attr, value)
            _no_secret_inside(attr, value)
        key = {k: item[k] for k in table.keys.names}
        current = _current(self.store, full, key)
        if current is not None and not replace:
            raise PlanError(f"an item with {_key_text(key)} already exists in `{full}`; "
                            "add --replace to overwrite it")
        if current is not None and any(table.holds_secret(a, v) for a, v in current.items()):
            raise PlanError("the existing item holds secret attributes; replacing it from Slack "
                            "would drop them. Use update instead")
        req = self._base(Kind.PUT, table, requester, key=key, item=item, replace=replace,
                         existed=current is not None, **kw)
        req.before = _comparable(table, current) if current else {}
        # attributes the replacement adds were absent in the preview: still absent, or stale
        req.missing = [a for a in item if current is not None and a not in current]
        return req

    def plan_gsi(self, table_name: str, gsi: Gsi, create: bool, requester: str,
                 **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        live = self.store.describe_table(full)["Table"]
        names = {g["IndexName"] for g in live.get("GlobalSecondaryIndexes", [])}
        if create and gsi.name in names:
            raise PlanError(f"`{full}` already has an index `{gsi.name}`")
        if not create and gsi.name not in names:
            raise PlanError(f"`{full}` has no index `{gsi.name}` (indexes: "
                            f"{', '.join(sorted(names)) or 'none'})")
        if create:
            defined = {d["AttributeName"]: d["AttributeType"]
                       for d in live.get("AttributeDefinitions", [])}
            for attr, typ in (k for k in (gsi.hash_key, gsi.range_key) if k):
                if attr in defined and defined[attr] != typ:
                    raise PlanError(f"`{attr}` is already defined as {defined[attr]} on `{full}`")
        kind = Kind.GSI_CREATE if create else Kind.GSI_DELETE
        return self._base(kind, table, requester, gsi=gsi, **kw)


def judged_by_effect(kind: Kind, *, remove: Sequence[str],
                     existed: bool) -> tuple[tuple[str, ...], str]:
    """The policy kinds a change falls under (its own first) and what makes it more.

    A change is judged by what it does: a put over an existing item (``--replace``, or an
    undo restoring a replaced item) drops whatever that item holds and changes the rest,
    so it is a put, an update and a delete at once, whether or not the new item happens
    to keep every attribute (the item may gain attributes before the put runs). An update
    that removes attributes deletes data, so it is an update and a delete. It needs the
    strictest of those rules (``Policy.strictest``).
    """
    if kind is Kind.PUT and existed:
        return ("put", "update", "delete"), "replaces the item"
    if kind is Kind.UPDATE and remove:
        return ("update", "delete"), "removes attributes"
    return (kind.value,), ""


def _key_text(key: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


def _comparable(table: Table, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The attributes a delete/replace is conditioned on: all but secrets.

    Secret values are never stored in a request; the non-secret attributes (including
    ``updated_at`` / ``version`` where the table has them) still pin the item's state.
    """
    if not item:
        return {}
    return {k: v for k, v in item.items() if not table.holds_secret(k, v)}
