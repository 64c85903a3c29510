"""The change modal's form → ``update`` command text, field errors, and the home view's limits."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from bot.render.modals import ACTION, change_modal, read_change
from commands.change import ChangeForm, command_text
from commands.registry import Context
from dynamo.store import Store


@pytest.fixture
def ctx() -> Context:
    # command_text only resolves names and types: a store that cannot call DynamoDB
    return Context(store=Store(object(), "dev"), user_id="U_A")


def test_valid_form_is_the_equivalent_update_command(ctx: Context) -> None:
    form = ChangeForm(table="helpers", key="helper-0001",
                      set='enabled=false\n\n name = Paused by  support \nconfig={"a": [1, 2]}',
                      remove="category, description\nlast_executed_at")
    text, errors = command_text(form, ctx)
    assert errors == {}
    assert shlex.split(text or "") == [
        "update", "helpers", "helper-0001", "set", "enabled=false", "name=Paused by  support",
        'config={"a": [1, 2]}', "remove", "category", "description", "last_executed_at"]


def test_keys_in_every_syntax(ctx: Context) -> None:
    for key in ("user:x acct-1", "user_id=user:x account_id=acct-1",
                '{"user_id": "user:x", "account_id": "acct-1"}',
                '{"user_id": {"S": "user:x"}, "account_id": {"S": "acct-1"}}'):
        text, errors = command_text(ChangeForm("user-accounts", key, "role=admin"), ctx)
        assert errors == {} and text, key


@pytest.mark.parametrize(("form", "field", "words"), [
    (ChangeForm("", "x", "a=b"), "table", "choose"),
    (ChangeForm("nope", "x", "a=b"), "table", "unknown table"),
    (ChangeForm("users", "", "status=x"), "key", "missing key"),
    (ChangeForm("users", "a b", "status=x"), "key", "needs"),
    (ChangeForm("users", "email=x", "status=x"), "key", "not part of"),
    (ChangeForm("users", "'unbalanced", "status=x"), "key", "quotes"),
    (ChangeForm("helpers", "h", "execution_count=1.2.3"), "set", "number"),
    (ChangeForm("helpers", "h", "settings=1\nconfig=[1]"), "set", "line 2"),
    (ChangeForm("helpers", "h", "helper_id=y"), "set", "key"),
    (ChangeForm("helpers", "h", "a=1\na=2"), "set", "twice"),
    (ChangeForm("helpers", "h", "bad name=1"), "set", "not a valid"),
    (ChangeForm("api-keys", "k", "key_hash=abc"), "set", "secret"),
    (ChangeForm("helpers", "h", "description=red \x1b[31m"), "set", "U+001B"),
    (ChangeForm("helpers", "h", 'config={"a": "x\\u0000"}'), "set", "U+0000"),
    (ChangeForm("helpers", "h", "", "config=1"), "remove", "names only"),
    (ChangeForm("helpers", "h", "", "helper_id"), "remove", "key"),
    (ChangeForm("helpers", "h"), "set", "nothing to change"),
])
def test_field_errors(ctx: Context, form: ChangeForm, field: str, words: str) -> None:
    text, errors = command_text(form, ctx)
    assert text is None and field in errors, errors
    assert words.lower() in errors[field].lower()
    assert all(len(e) <= 280 for e in errors.values())


def test_modal_round_trip() -> None:
    view = change_modal(table="helpers", key="helper_id=helper-0001", channel="C1")
    values: dict[str, Any] = {
        "table": {ACTION["table"]: {"selected_option": view["blocks"][1]["element"]["initial_option"]}},
        "key": {ACTION["key"]: {"value": view["blocks"][2]["element"]["initial_value"]}},
        "set": {ACTION["set"]: {"value": "status=x"}},
        "remove": {ACTION["remove"]: {"value": None}},
        "channel": {ACTION["channel"]: {"selected_conversation": None}},
    }
    form, channel = read_change({"state": {"values": values}, "private_metadata": view["private_metadata"]})
    assert form == ChangeForm("helpers", "helper_id=helper-0001", "status=x", "")
    assert channel == "C1"
    assert read_change({}) == (ChangeForm(), None)
    assert read_change({"private_metadata": "not json", "state": {"values": {"key": "x"}}}) == \
        (ChangeForm(), None)


def test_home_stays_within_slack_limits() -> None:
    from bot.render.home import render_home
    from commands.home import HomeData, TableStatus
    from commands.results import RequestResult
    from dynamo.audit import AuditRecord

    def req(i: int) -> RequestResult:
        return RequestResult(id=f"R{i:03d}", status="PENDING", change="update users " + "x" * 500,
                             preview=[(f"attr{j}", "b" * 300, "a" * 300) for j in range(30)],
                             requester="U_A", created_at=1, expires_at=2)

    data = HomeData(user="U_B", stage="dev", region="us-west-2", approval_channel="C1",
                    to_approve=[req(i) for i in range(8)], to_approve_total=500,
                    mine=[req(i) for i in range(8)], mine_total=9,
                    activity=[AuditRecord("2026-01-01T00:00:00Z", "U_A", "request", "R1",
                                          "y" * 400, "PENDING", {}) for _ in range(10)],
                    tables=[TableStatus("users", "mfh-dev-users", "ACTIVE", 10**9, 2)] * 10)
    view = render_home(data)
    assert len(view["blocks"]) <= 100
    for block in view["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= (150 if block["type"] == "header" else 3000)
    assert "492 more" in str(view)
