"""The write request as stored in the state table: one dataclass, mapped declaratively.

Each field says how it is stored (``stored(...)`` metadata: its attribute name, how a value
is written and read back, whether an empty value is left out; a plain field is stored as
is under its own name), so adding a field is one line and ``to_item`` / ``from_item`` never
need editing. The item format is the one the
hand-written mapping wrote before (``tests/unit/test_request_item.py`` pins it): items
already in a state table still load.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder

from dynamo.store import serialize_item

REQ_PK = "REQ"
KEEP_SECONDS = 400 * 86400  # requests stay queryable for history, then TTL removes them
APPROVALS = "approvals"  # the string set of approvals so far (dynamo.requests.quorum)
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Status(StrEnum):
    PENDING = "PENDING"
    EXECUTING = "EXECUTING"
    EXECUTED = "EXECUTED"
    REJECTED = "REJECTED"
    STALE = "STALE"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class Kind(StrEnum):
    UPDATE = "update"
    DELETE = "delete"
    PUT = "put"
    GSI_CREATE = "gsi-create"
    GSI_DELETE = "gsi-delete"


@dataclass
class Gsi:
    name: str
    hash_key: tuple[str, str] | None = None  # (attr, S|N|B)
    range_key: tuple[str, str] | None = None
    projection: str = "ALL"
    non_key: list[str] = field(default_factory=list)


# -- declarative mapping ------------------------------------------------------------------
def _same(value: Any) -> Any:
    return value


def _never(_value: Any) -> bool:
    return False


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


@dataclass(frozen=True)
class Stored:
    """How one field is kept in the item."""

    name: str | None = None  # attribute name; the field's own name when None
    dump: Callable[[Any], Any] = _same  # field value -> stored value
    load: Callable[[Any], Any] = _same  # stored value -> field value
    omit: Callable[[Any], bool] = _never  # left out of the item when true


def stored(default: Any = MISSING, *, default_factory: Any = MISSING, optional: bool = False,
           name: str | None = None, dump: Callable[[Any], Any] = _same,
           load: Callable[[Any], Any] = _same,
           omit: Callable[[Any], bool] | None = None) -> Any:
    """A dataclass field with its storage rule; ``optional``: not written while None or ""."""
    rule = Stored(name, dump, load, omit or (_blank if optional else _never))
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata={"stored": rule})
    return field(default=default, metadata={"stored": rule})


def _dump_gsi(g: Gsi) -> dict[str, Any]:
    return {"name": g.name, "projection": g.projection, "non_key": g.non_key,
            **({"hash": list(g.hash_key)} if g.hash_key else {}),
            **({"range": list(g.range_key)} if g.range_key else {})}


def _load_gsi(g: Mapping[str, Any]) -> Gsi:
    return Gsi(name=g["name"], projection=g.get("projection", "ALL"),
               non_key=list(g.get("non_key", [])),
               hash_key=tuple(g["hash"]) if g.get("hash") else None,  # type: ignore[arg-type]
               range_key=tuple(g["range"]) if g.get("range") else None)  # type: ignore[arg-type]


def _value(enum: StrEnum) -> str:
    return enum.value


def _string_set(values: list[str]) -> set[str]:
    return set(values)  # a module function: in WriteRequest's body, ``set`` is the field


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass
class WriteRequest:
    id: str = stored(optional=True)
    kind: Kind = stored(dump=_value, load=Kind)
    table: str = stored(optional=True)  # short name
    requester: str = stored(optional=True)
    created_at: int = stored(optional=True, load=int)
    expires_at: int = stored(optional=True, load=int)
    status: Status = stored(Status.PENDING, dump=_value, load=Status)
    key: dict[str, Any] = stored(default_factory=dict)
    set: dict[str, Any] = stored(default_factory=dict)
    remove: list[str] = stored(default_factory=list, load=list)
    item: dict[str, Any] | None = stored(None, omit=lambda v: v is None)  # put
    replace: bool = stored(False, load=bool)
    existed: bool = stored(False, load=bool)  # the item existed when the preview was taken
    before: dict[str, Any] = stored(default_factory=dict)  # touched attrs present before
    missing: list[str] = stored(default_factory=list, load=list)  # touched attrs absent before
    gsi: Gsi | None = stored(None, dump=_dump_gsi, load=_load_gsi, omit=lambda v: v is None)
    text: str = stored("", optional=True)
    channel: str | None = stored(None, optional=True)  # where it was asked
    message_channel: str | None = stored(None, optional=True)
    message_ts: str | None = stored(None, optional=True)
    decided_by: str | None = stored(None, optional=True)
    decided_at: int | None = stored(None, optional=True, load=_int_or_none)
    reason: str | None = stored(None, optional=True)
    error: str | None = stored(None, optional=True)
    secret_touched: bool = stored(False, load=bool)
    stage: str = stored("", optional=True)  # the stage whose tables it changes; others refuse it
    exec_token: str | None = stored(None, optional=True)  # ClientRequestToken that executed it
    # the approval policy's rule, fixed when the request is made (dynamo.policy)
    need: int = stored(1, load=int)  # distinct approvals needed
    approvers: list[str] = stored(default_factory=list, load=list)  # ids; empty: DDB_BOT_APPROVERS
    # why the rule is stricter than its kind's: "replaces the item, judged as delete"
    # (dynamo.requests.plan.judged_by_effect); absent when the kind's own rule applied
    judged: str | None = stored(None, optional=True)
    # who approved so far (sorted); a string set in the item, absent while empty (no empty sets)
    approvals: list[str] = stored(default_factory=list, name=APPROVALS, dump=_string_set,
                                  load=sorted, omit=lambda v: not v)
    # Re-request (Requests.rerequesting): the stale request this one asks for again, and
    # who asked for the change in every earlier generation; like the requester, none of
    # them may approve it (``asked_by``); absent while empty
    rerequest_of: str | None = stored(None, optional=True)
    asked_before: list[str] = stored(default_factory=list, load=list, omit=lambda v: not v)
    # undo (dynamo.requests.undo): the EXECUTED request whose change this one reverses
    undo_of: str | None = stored(None, optional=True)
    # an undo of a delete: names (never values) of the secret attributes it puts back from
    # the delete's kept image (dynamo.requests.undo); absent while empty
    restores: list[str] = stored(default_factory=list, load=list, omit=lambda v: not v)
    # break-glass (dynamo.requests.break_glass): ran at once by a policy ``break_glass``
    # member, with their reason; it needs a review by someone else afterwards
    break_glass: bool = stored(False, load=bool, omit=lambda v: not v)
    break_glass_reason: str | None = stored(None, optional=True)
    reviewed_by: str | None = stored(None, optional=True)
    reviewed_at: int | None = stored(None, optional=True, load=_int_or_none)

    def asked_by(self, user: str) -> bool:
        """Whether ``user`` asked for this change: its requester, or the requester of an
        earlier generation it re-requests. Whoever asked never approves."""
        return user == self.requester or user in self.asked_before

    # -- presentation (dynamo.requests.preview says why it lives in this layer) ---------------
    def preview(self) -> list[tuple[str, str, str]]:
        """(attribute, before, after) per touched attribute, secrets redacted."""
        from dynamo.requests.preview import preview_rows

        return preview_rows(self)

    @property
    def summary(self) -> str:
        from dynamo.requests.preview import summary

        return summary(self)


_RULES = [(f.name, f.metadata.get("stored", Stored())) for f in fields(WriteRequest)]


def to_item(req: WriteRequest) -> dict[str, Any]:
    """The state-table item for a request (Python values; ``serialize_item`` makes it wire)."""
    item: dict[str, Any] = {"pk": REQ_PK, "sk": req.id, "ttl": req.created_at + KEEP_SECONDS}
    for attr, rule in _RULES:
        value = getattr(req, attr)
        if not rule.omit(value):
            item[rule.name or attr] = rule.dump(value)
    return item


def from_item(item: Mapping[str, Any]) -> WriteRequest:
    """The request an item holds; absent attributes take the field's default."""
    kw = {attr: rule.load(item[rule.name or attr]) for attr, rule in _RULES
          if (rule.name or attr) in item}
    return WriteRequest(**kw)


def new_request_id(now: float | None = None) -> str:
    """Sortable by time, short enough for a ClientRequestToken and to type in a console."""
    t = time.gmtime(now if now is not None else time.time())
    rand = "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
    return f"R{time.strftime('%m%d%H%M%S', t)}{rand}"


# -- conditional writes to the request item -------------------------------------------------
def state_key(request_id: str) -> dict[str, Any]:
    """The request item's key, wire format."""
    return serialize_item({"pk": REQ_PK, "sk": request_id})


def still_pending(now: int, status: Status = Status.PENDING) -> ConditionBase:
    """The request is still ``status`` (pending) and has not expired at ``now``."""
    return Attr("status").eq(status.value) & Attr("expires_at").gt(now)


def conditioned(cond: ConditionBase, names: Mapping[str, str] | None = None,
                values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """ConditionExpression + names + (serialised) values for a low-level client call.

    ``cond`` is built by boto3's ConditionExpressionBuilder (placeholders ``#n0`` / ``:v0``);
    ``names`` / ``values`` are the call's own placeholders (update expression), merged in.
    """
    built = ConditionExpressionBuilder().build_expression(cond)
    all_names = {**(names or {}), **built.attribute_name_placeholders}
    all_values = {**(values or {}), **built.attribute_value_placeholders}
    params: dict[str, Any] = {"ConditionExpression": built.condition_expression,
                              "ExpressionAttributeNames": all_names}
    if all_values:
        params["ExpressionAttributeValues"] = serialize_item(all_values)
    return params
