"""The request message of an undo and of an undoable request: buttons, columns, redaction."""

from __future__ import annotations

import json

import pytest

from bot.render import ids
from bot.render.requests import render_request
from bot.render.text import render_text
from commands.results import RequestResult
from dynamo.requests import Gsi, Kind, Status, WriteRequest
from tests.unit.test_render import check


def _req(**kw: object) -> WriteRequest:
    base: dict[str, object] = {"id": "R1", "kind": Kind.UPDATE, "table": "helpers",
                               "requester": "U_A", "created_at": 1, "expires_at": 2,
                               "key": {"helper_id": "h-1"}, "set": {"enabled": False},
                               "before": {"enabled": True}}
    base.update(kw)
    return WriteRequest(**base)  # type: ignore[arg-type]


def _actions(msg: dict[str, object]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in msg["blocks"]  # type: ignore[attr-defined]
            if b["type"] == "actions" for e in b["elements"]}


@pytest.mark.parametrize("kind", [Kind.UPDATE, Kind.DELETE, Kind.PUT])
def test_an_executed_change_offers_undo(kind: Kind) -> None:
    item = {"helper_id": "h-1"} if kind is Kind.PUT else None
    msg = check(render_request(RequestResult.of(_req(kind=kind, status=Status.EXECUTED,
                                                     item=item), event="decided")))
    assert _actions(msg) == {ids.UNDO: "R1"}


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.EXECUTED])
def test_only_an_executed_change_offers_undo(status: Status) -> None:
    assert ids.UNDO not in _actions(render_request(RequestResult.of(_req(status=status))))


def test_an_executed_index_change_offers_no_undo() -> None:
    gsi = _req(kind=Kind.GSI_CREATE, status=Status.EXECUTED, gsi=Gsi("ByX", ("x", "S")))
    assert _actions(check(render_request(RequestResult.of(gsi)))) == {}


def test_an_undo_says_what_it_reverses_current_and_restored_secrets_unshown() -> None:
    undo = _req(id="R2", kind=Kind.PUT, undo_of="R1", item={"auth_id": "a-1", "status": "on"},
                table="platform-connection-auths", key={"auth_id": "a-1"},
                restores=["access_token"], before={}, set={})
    result = RequestResult.of(undo)
    msg = check(render_request(result))
    text = json.dumps(msg)
    assert "put platform-connection-auths a-1 (undo of R1)" in text
    assert "current" in text and "restored" in text and "(restored, not shown)" in text
    assert _actions(msg) == {ids.APPROVE: "R2", ids.REJECT: "R2"}
    console = render_text(result)
    assert "attribute" in console and "current" in console and "(restored, not shown)" in console
