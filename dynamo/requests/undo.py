"""Undo: an EXECUTED change turned into a new write request that reverses it.

The undo is an ordinary PENDING request (``undo_of`` names its source): it is approved
under the policy of the kind it *performs*, and it runs in the same conditional
transaction as any request, conditioned on the item still being exactly what the source
left (else ``STALE``, nothing written). Per source kind:

- update → update: every touched attribute back to its ``before`` value, those the
  source found absent removed; ``updated_at`` (where the table has it) is required to be
  the source's value and set to now, because an undo is a new change.
- delete → put (item absent) of the whole deleted item.
- put of a new item → delete, conditioned on the item still being the one put.
- put --replace → put --replace of the item it replaced, conditioned likewise.
- GSI changes are refused: the opposite ``/ddb gsi`` request says what it does.

Secrets: a request never stores a secret value, so the non-secret part of a deleted item
is its ``before``, and the rest is kept by the delete itself. When a delete whose item
holds secret attributes executes, ``prepare`` reads the item consistently, pins every
secret attribute to what it read (so the kept image is exact) and adds to the same
TransactWriteItems a *companion* item in the state table (``pk=UNDO``, ``sk=`` the
delete's id) with the full image and a TTL of the undo window. The undo of that delete
names the secret attributes (``restores``) but never holds their values: its execution
merges them from the companion into the put and deletes the companion in the same
transaction. SECURITY.md says who can read it and for how long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from dynamo.requests.model import Kind, Status, WriteRequest
from dynamo.requests.plan import PlanError, _comparable, _current, _key_text
from dynamo.schema import Table, resolve_table
from dynamo.store import deserialize_item, serialize_item

if TYPE_CHECKING:
    from dynamo.requests.execute import Requests

UNDO_PK = "UNDO"
DAY = 86400
DEFAULT_DAYS = 7


def companion_key(request_id: str) -> dict[str, Any]:
    """The companion item's key (wire format): the executed delete's id under ``UNDO``."""
    return serialize_item({"pk": UNDO_PK, "sk": request_id})


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- planning -------------------------------------------------------------------------------
def plan_undo(reqs: Requests, source_id: str, requester: str, **kw: Any) -> WriteRequest:
    """The PENDING request that reverses ``source_id``; ``PlanError`` says why not."""
    source_id = source_id.strip()
    src = reqs.of_this_stage(source_id, "undo", PlanError, "; nothing to undo")
    if src.kind in (Kind.GSI_CREATE, Kind.GSI_DELETE):
        opposite = "delete" if src.kind is Kind.GSI_CREATE else "create"
        raise PlanError(f"index changes are not undone: request the opposite "
                        f"`/ddb gsi {opposite} {src.table} …` instead")
    if src.status is not Status.EXECUTED:
        raise PlanError(f"request {src.id} is {src.status.value}, not EXECUTED: it changed "
                        "nothing, so there is nothing to undo")
    executed = src.decided_at or src.created_at
    ends = executed + reqs.undo_seconds
    now = int(reqs.clock())
    if now > ends:
        raise PlanError(f"the undo window of {src.id} ended on {_day(ends)} "
                        f"(DDB_BOT_UNDO_DAYS={reqs.undo_seconds // DAY}); nothing was requested")
    table, full = resolve_table(src.table, reqs.store.stage)
    current = _current(reqs.store, full, src.key)
    kw = {"undo_of": src.id, **kw}
    if src.kind is Kind.UPDATE:
        return _undo_update(reqs, src, table, current, requester, kw)
    if src.kind is Kind.DELETE:
        return _undo_delete(reqs, src, table, current, requester, kw)
    return _undo_put(reqs, src, table, current, requester, kw)


def _changed(src: WriteRequest, attrs: list[str]) -> PlanError:
    names = ", ".join(f"`{a}`" for a in sorted(set(attrs)))
    what = f"attributes {names} are" if len(set(attrs)) > 1 else f"attribute {names} is"
    return PlanError(f"changed since {src.id} executed: {what} not what it left; nothing was "
                     "requested (look at the item and ask for a new change)")


def _undo_update(reqs: Requests, src: WriteRequest, table: Table,
                 current: dict[str, Any] | None, requester: str,
                 kw: dict[str, Any]) -> WriteRequest:
    if current is None:
        raise PlanError(f"changed since {src.id} executed: the item with {_key_text(src.key)} "
                        "is gone; nothing was requested")
    differ = [a for a, v in src.set.items() if current.get(a, _ABSENT) != v]
    differ += [a for a in src.remove if a in current]
    if differ:
        raise _changed(src, differ)
    set_ = {a: src.before[a] for a in [*src.set, *src.remove] if a in src.before}
    remove = [a for a in src.missing if a not in set_]
    before = dict(src.set)  # what the source left: its values set, its removals absent
    missing = list(src.remove)
    if table.has_updated_at:  # an undo is a new change: it says when
        if "updated_at" not in before and "updated_at" not in missing:
            if "updated_at" in current:
                before["updated_at"] = current["updated_at"]
            else:
                missing.append("updated_at")
        remove = [a for a in remove if a != "updated_at"]
        set_["updated_at"] = datetime.fromtimestamp(reqs.clock(), UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    req = reqs._base(Kind.UPDATE, table, requester, key=dict(src.key), set=set_,
                     remove=remove, existed=True, **kw)
    req.before, req.missing = before, missing
    return req


def _undo_delete(reqs: Requests, src: WriteRequest, table: Table,
                 current: dict[str, Any] | None, requester: str,
                 kw: dict[str, Any]) -> WriteRequest:
    if current is not None:
        raise PlanError(f"changed since {src.id} executed: an item with {_key_text(src.key)} "
                        "exists again; nothing was requested")
    restores: list[str] = []
    if src.secret_touched:
        image = read_companion(reqs, src.id)
        if image is None:
            raise PlanError(f"the secret attributes of the item {src.id} deleted are no longer "
                            "kept, so it cannot be restored whole; nothing was requested")
        restores = sorted(a for a in image if table.holds_secret(a, image[a]))
    req = reqs._base(Kind.PUT, table, requester, key=dict(src.key), item=dict(src.before),
                     existed=False, **kw)
    req.restores = restores
    req.secret_touched = bool(restores)
    return req


def _undo_put(reqs: Requests, src: WriteRequest, table: Table,
              current: dict[str, Any] | None, requester: str,
              kw: dict[str, Any]) -> WriteRequest:
    assert src.item is not None
    if current is None:
        raise PlanError(f"changed since {src.id} executed: the item with {_key_text(src.key)} "
                        "is gone; nothing was requested")
    shown = _comparable(table, current)
    differ = sorted(set(shown) ^ set(src.item) | {a for a in shown if a in src.item
                                                   and shown[a] != src.item[a]})
    secrets = sorted(a for a in current if table.holds_secret(a, current[a]))
    if secrets != sorted(src.restores):
        differ += [a for a in sorted(set(secrets) ^ set(src.restores))]
    if differ:
        raise _changed(src, differ)
    if not src.existed:  # it created the item: the undo deletes it
        req = reqs._base(Kind.DELETE, table, requester, key=dict(src.key), existed=True, **kw)
        req.before = shown
        req.secret_touched = bool(secrets)
        return req
    req = reqs._base(Kind.PUT, table, requester, key=dict(src.key), item=dict(src.before),
                     replace=True, existed=True, **kw)
    req.before = shown
    req.missing = [a for a in src.before if a not in shown]
    return req


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


# -- execution ------------------------------------------------------------------------------
class Halt(Exception):  # a decision, not an error
    """The request must not run: it ends in ``status`` with ``error``; nothing is written."""

    def __init__(self, status: Status, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class Prepared:
    """What the undo feature adds to an executing request's transaction."""

    also: ConditionBase | None = None  # more condition on the data write
    merge: dict[str, Any] = field(default_factory=dict)  # secret attributes put back
    items: list[dict[str, Any]] = field(default_factory=list)  # after the state write


def read_companion(reqs: Requests, request_id: str) -> dict[str, Any] | None:
    """The image a delete kept, while its undo window lasts (TTL deletes it up to 48 h late)."""
    raw = reqs.client.get_item(TableName=reqs.table, Key=companion_key(request_id),
                               ConsistentRead=True).get("Item")
    if not raw:
        return None
    item = deserialize_item(raw)
    if int(item.get("ttl", 0)) <= reqs.clock():
        return None
    image = item.get("image")
    return dict(image) if isinstance(image, dict) else None


def prepare(reqs: Requests, req: WriteRequest, table: Table, full: str, now: int) -> Prepared:
    """The extra condition and items for an executing delete, replace or undo of a delete.

    The transaction's items stay ``[data, state, *items]``, so ``Requests._cancelled`` reads
    the data write's and the request's CancellationReasons at 0 and 1; the items added here
    carry no condition, so they never cancel it.
    """
    out = Prepared()
    if req.kind is Kind.DELETE:
        secret = sorted(table.never_shown)
        if not req.secret_touched:  # a secret appearing since the preview makes it stale
            out.also = _all(Attr(a).not_exists() for a in secret)
            return out
        image = _current(reqs.store, full, req.key)
        if image is None or _comparable(table, image) != req.before:
            raise Halt(Status.STALE, "the item changed since the preview; nothing was written")
        held = {a for a, v in image.items() if table.holds_secret(a, v)}  # by name, nested
        out.also = _all(Attr(a).eq(image[a]) if a in image else Attr(a).not_exists()
                        for a in sorted(set(secret) | held))
        out.items.append({"Put": {"TableName": reqs.table, "Item": serialize_item({
            "pk": UNDO_PK, "sk": req.id, "ttl": now + reqs.undo_seconds, "table": req.table,
            "image": image})}})
    elif req.kind is Kind.PUT and req.existed:
        # planning refused replacing an item with secrets (they would be lost, and its undo
        # could not restore them): one that appeared since makes the replace stale
        out.also = _all(Attr(a).not_exists() for a in sorted(table.never_shown))
    elif req.kind is Kind.PUT and req.undo_of and req.restores:
        kept = read_companion(reqs, req.undo_of)
        if kept is None or not set(req.restores) <= set(kept):
            raise Halt(Status.FAILED, f"the secret attributes of the item {req.undo_of} deleted "
                                      "are no longer kept (undo window over); nothing was written")
        out.merge = {a: kept[a] for a in req.restores}
        out.items.append({"Delete": {"TableName": reqs.table, "Key": companion_key(req.undo_of)}})
    return out


def _all(conds: Any) -> ConditionBase | None:
    result: ConditionBase | None = None
    for c in conds:
        result = c if result is None else result & c
    return result


def merge_secrets(data_op: dict[str, Any], merge: dict[str, Any]) -> None:
    """Put the kept secret attributes into the Put (wire format); values never leave here."""
    if merge:
        data_op["Put"]["Item"].update(serialize_item(merge))
