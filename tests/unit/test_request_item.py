"""The request item format is frozen: items written before the declarative mapping still load.

``_legacy_to_item`` / ``_legacy_from_item`` are the hand-written mapping as it was (verbatim
but for names), kept here as the reference the declarative one must match attribute for
attribute on the wire (``serialize_item``), both ways.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dynamo.requests import KEEP_SECONDS, REQ_PK, Gsi, Kind, Status, WriteRequest
from dynamo.requests.model import from_item, to_item
from dynamo.store import deserialize_item, serialize_item

_SIMPLE = ("id", "table", "requester", "created_at", "expires_at", "text", "channel", "stage",
           "message_channel", "message_ts", "decided_by", "decided_at", "reason", "error",
           "exec_token")


def _legacy_to_item(req: WriteRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": REQ_PK, "sk": req.id, "kind": req.kind.value,
                            "status": req.status.value, "key": req.key, "set": req.set,
                            "remove": req.remove, "replace": req.replace, "existed": req.existed,
                            "before": req.before, "missing": req.missing,
                            "secret_touched": req.secret_touched,
                            "need": req.need, "approvers": req.approvers,
                            "ttl": req.created_at + KEEP_SECONDS}
    if req.approvals:
        item["approvals"] = set(req.approvals)
    for name in _SIMPLE:
        value = getattr(req, name)
        if value not in (None, ""):
            item[name] = value
    if req.item is not None:
        item["item"] = req.item
    if req.gsi is not None:
        g = req.gsi
        item["gsi"] = {"name": g.name, "projection": g.projection, "non_key": g.non_key,
                       **({"hash": list(g.hash_key)} if g.hash_key else {}),
                       **({"range": list(g.range_key)} if g.range_key else {})}
    return item


def _legacy_from_item(item: dict[str, Any]) -> WriteRequest:
    gsi = None
    if "gsi" in item:
        g = item["gsi"]
        gsi = Gsi(name=g["name"], projection=g.get("projection", "ALL"),
                  non_key=list(g.get("non_key", [])),
                  hash_key=tuple(g["hash"]) if g.get("hash") else None,  # type: ignore[arg-type]
                  range_key=tuple(g["range"]) if g.get("range") else None)  # type: ignore[arg-type]
    simple = {n: item.get(n) for n in _SIMPLE if n in item}
    for n in ("created_at", "expires_at", "decided_at"):
        if simple.get(n) is not None:
            simple[n] = int(simple[n])
    return WriteRequest(
        kind=Kind(item["kind"]), status=Status(item["status"]), key=item.get("key", {}),
        set=item.get("set", {}), remove=list(item.get("remove", [])), item=item.get("item"),
        replace=bool(item.get("replace")), existed=bool(item.get("existed")),
        before=item.get("before", {}), missing=list(item.get("missing", [])), gsi=gsi,
        secret_touched=bool(item.get("secret_touched")), need=int(item.get("need", 1)),
        approvers=list(item.get("approvers", [])),
        approvals=sorted(item.get("approvals", ())), **simple)


def _base(**kw: Any) -> WriteRequest:
    return WriteRequest(id="R1130070000ABCDE", kind=kw.pop("kind", Kind.UPDATE), table="users",
                        requester="U_ALICE", created_at=1_790_000_000,
                        expires_at=1_790_000_300, **kw)


REQUESTS = {
    "update, pending, minimal": _base(key={"user_id": "u-1"}, set={"status": "disabled"},
                                      existed=True, before={"status": "active"}),
    "update, decided, every optional field": _base(
        key={"user_id": "u-1"}, set={"n": Decimal(3), "tags": {"a", "b"}}, remove=["old"],
        existed=True, before={"n": Decimal(2)}, missing=["tags", "old"], text="update users u-1",
        channel="C1", message_channel="C1", message_ts="1.2", status=Status.EXECUTED,
        decided_by="U_BOB", decided_at=1_790_000_100, reason="ok", error="none",
        secret_touched=True, stage="dev", exec_token="exec-R1-abcd", need=3,
        approvers=["U_SEC1", "S_GROUP"], approvals=["U_B", "U_C"]),
    "put with replace": _base(kind=Kind.PUT, key={"id": "h-1"}, item={"id": "h-1", "x": "y"},
                              replace=True, existed=True, before={"id": "h-1"}, missing=["x"]),
    "delete, stale": _base(kind=Kind.DELETE, key={"id": "h-1"}, existed=True,
                           before={"id": "h-1", "b": b"\x00"}, status=Status.STALE),
    "gsi create with range and include": _base(
        kind=Kind.GSI_CREATE, gsi=Gsi("ByStatus", ("status", "S"), ("at", "N"), "INCLUDE",
                                      ["name"])),
    "gsi create, hash only": _base(kind=Kind.GSI_CREATE, gsi=Gsi("ByS", ("status", "S"))),
    "gsi delete": _base(kind=Kind.GSI_DELETE, gsi=Gsi("Old")),
}


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    """The item in wire format with its sets' members sorted: a set's SS/NS/BS list follows
    the Python set's iteration order, which two equal sets need not share."""
    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sorted(v) if k in ("SS", "NS", "BS") else norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value
    return norm(serialize_item(item))


@pytest.mark.parametrize("name", list(REQUESTS))
def test_item_is_the_one_the_hand_written_mapping_wrote(name: str) -> None:
    req = REQUESTS[name]
    assert _wire(to_item(req)) == _wire(_legacy_to_item(req))


@pytest.mark.parametrize("name", list(REQUESTS))
def test_an_item_written_before_loads_and_round_trips(name: str) -> None:
    req = REQUESTS[name]
    stored = deserialize_item(serialize_item(_legacy_to_item(req)))  # as read back from DynamoDB
    loaded = from_item(stored)
    assert loaded == _legacy_from_item(stored)
    assert _wire(to_item(loaded)) == _wire(_legacy_to_item(req))


def test_an_old_item_without_the_newer_attributes_takes_the_defaults() -> None:
    wire = {"pk": {"S": "REQ"}, "sk": {"S": "R1"}, "id": {"S": "R1"}, "kind": {"S": "delete"},
            "status": {"S": "PENDING"}, "table": {"S": "users"}, "requester": {"S": "U_A"},
            "created_at": {"N": "10"}, "expires_at": {"N": "20"}, "key": {"M": {"u": {"S": "1"}}}}
    item = deserialize_item(wire)
    loaded = from_item(item)
    assert loaded == _legacy_from_item(item)
    assert (loaded.need, loaded.approvals, loaded.approvers, loaded.stage) == (1, [], [], "")
    assert isinstance(loaded.created_at, int) and loaded.decided_at is None
