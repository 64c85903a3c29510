"""End to end: the Slack surfaces beyond /ddb — the lookup shortcut, the change modal
(global shortcut and "Request change" button), and the App Home — through signed
requests into the served app and the fake Web API.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from bot.render import ids
from bot.render.limits import escape, problems
from bot.render.lookup import NOTHING
from bot.render.modals import ACTION
from dynamo import demo
from testkit import scan_all

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}
HELPER_KEY = {"helper_id": {"S": demo.DEMO_HELPER_ID}}
MSG_TS = "1700000000.000200"


# -- payloads ----------------------------------------------------------------------------------
def _who(user: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "team_id": "T1"}


def _lookup(bot: Any, text: str | None, user: str = "U_ALICE", channel: str | None = "C_OPS",
            **extra: Any) -> Any:
    """The lookup shortcut on a message that says ``text`` (formatted as Slack does)."""
    extra.setdefault("callback_id", ids.LOOKUP_SHORTCUT)
    return bot.sender.shortcut(text, user=user, channel=channel, message_ts=MSG_TS, **extra)


def _global_shortcut(bot: Any, user: str = "U_ALICE", callback_id: str = ids.CHANGE_SHORTCUT) -> Any:
    return bot.sender.interact({
        "type": "shortcut", "callback_id": callback_id, "team": {"id": "T1"}, "user": _who(user),
        "trigger_id": "trigger-change", "action_ts": str(time.time()), "token": "legacy"})


def _submit(bot: Any, *, table: str | None, key: str = "", set_: str = "", remove: str = "",
            channel: str | None = "C_REQS", user: str = "U_ALICE", metadata: str = '{"c": ""}') -> Any:
    def text(v: str) -> dict[str, Any]:
        return {"type": "plain_text_input", "value": v or None}

    values: dict[str, Any] = {
        "table": {ACTION["table"]: {"type": "static_select", "selected_option": (
            {"value": table, "text": {"type": "plain_text", "text": table}} if table else None)}},
        "key": {ACTION["key"]: text(key)},
        "set": {ACTION["set"]: text(set_)},
        "remove": {ACTION["remove"]: text(remove)},
    }
    if channel is not None:
        values["channel"] = {ACTION["channel"]: {"type": "conversations_select",
                                                 "selected_conversation": channel}}
    return bot.sender.interact({
        "type": "view_submission", "team": {"id": "T1"}, "user": _who(user), "api_app_id": "A1",
        "trigger_id": "trigger-submit", "token": "legacy",
        "view": {"id": "V1", "type": "modal", "callback_id": ids.CHANGE_MODAL,
                 "private_metadata": metadata, "state": {"values": values}}})


def _event(bot: Any, event: dict[str, Any]) -> Any:
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event}
    return bot.sender.post(json.dumps(body), content_type="application/json")


def _home_opened(bot: Any, user: str, tab: str = "home") -> Any:
    return _event(bot, {"type": "app_home_opened", "user": user, "channel": "D_HOME", "tab": tab,
                        "event_ts": str(time.time())})


def _home_click(bot: Any, action_id: str, value: str, user: str) -> Any:
    """A button in the App Home: no channel and no response_url, as Slack sends it."""
    return bot.sender.interact({
        "type": "block_actions", "team": {"id": "T1"}, "user": _who(user), "api_app_id": "A1",
        "container": {"type": "view", "view_id": "VHOME"}, "trigger_id": "trigger-home",
        "view": {"id": "VHOME", "type": "home", "callback_id": "ddb_home"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": f"home-{value}",
                     "value": value, "action_ts": str(time.time())}]})


# -- helpers -----------------------------------------------------------------------------------
def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for b in blocks:
        for el in b.get("elements", []) if b.get("type") == "actions" else [b.get("accessory") or {}]:
            if el.get("type") == "button":
                out.append((el["action_id"], el.get("value", "")))
    return out


def _failed_execution_id() -> str:
    """The seeded execution whose error message holds a bearer token (ids are seeded)."""
    first = demo.generate()["executions"][0]
    assert demo.DEMO_SECRETS[3] in first["error_message"]
    return str(first["execution_id"])


def _snapshot(bot: Any, *tables: str) -> dict[str, list[Any]]:
    """Every item of the state table and of the given tables (what a write could touch);
    cheaper than ``scan_all`` of all ten, which takes seconds on moto."""
    out = {}
    for short in ("ddb-bot", *tables):
        name = f"mfh-dev-{short}"
        out[short] = scan_all(_Only(bot.services.client, name))[name]
    return out


class _Only:
    """A client whose ``list_tables`` names one table, for ``scan_all``."""

    def __init__(self, client: Any, name: str) -> None:
        self.scan, self.name = client.scan, name

    def list_tables(self) -> dict[str, Any]:
        return {"TableNames": [self.name]}


def _publishes(bot: Any, user: str, n: int = 1) -> list[Any]:
    return bot.slack.wait_for("/api/views.publish", n, where=lambda c: c.body.get("user_id") == user)


# -- lookup shortcut ---------------------------------------------------------------------------
def test_lookup_replies_in_thread_one_line_per_identifier_no_secrets(bot: Any) -> None:
    exec_id = _failed_execution_id()
    text = (f"Customer {demo.DEMO_EMAIL} ({demo.DEMO_USER_ID}) says "
            f"{demo.DEMO_HELPER_ID} on {demo.DEMO_ACCOUNT_ID} fails since {exec_id}; their "
            f"{demo.DEMO_CONNECTION_ID} is HubSpot. Also exec-doesnotexist. Thanks!")
    assert _lookup(bot, text).status == 200
    reply = bot.slack.wait_for("/api/chat.postMessage")[0].body
    assert reply["channel"] == "C_OPS" and reply["thread_ts"] == MSG_TS
    assert not problems(reply)
    body = _text(reply)
    for ident in (demo.DEMO_USER_ID, demo.DEMO_HELPER_ID, demo.DEMO_ACCOUNT_ID, exec_id,
                  demo.DEMO_CONNECTION_ID, "hubspot", "exec-doesnotexist"):
        assert ident in body, ident
    assert demo.DEMO_EMAIL not in body and "a***@example.com" in body  # PII masked in a thread
    assert "not found" in body
    for secret in demo.DEMO_SECRETS:
        assert secret not in body
    sections = [b for b in reply["blocks"] if b["type"] == "section"]
    assert len(sections) == 8  # email, user id, helper, account, execution, connection, slug, missing
    buttons = _buttons(reply["blocks"])
    assert len(buttons) == 7 and {a for a, _ in buttons} == {ids.SHOW_JSON}
    # a button opens the item through the existing Show JSON handler
    value = next(v for a, v in buttons if "executions" in v)
    assert bot.sender.click(ids.SHOW_JSON, value, user="U_ALICE").status == 200
    shown = bot.slack.wait_for("/response/")[0].body
    assert shown["response_type"] == "ephemeral" and exec_id in _text(shown)
    assert demo.DEMO_SECRETS[3] not in _text(shown)


def test_lookup_nothing_found_is_one_short_line(bot: Any) -> None:
    assert _lookup(bot, "can someone look at this? it's broken again :(").status == 200
    reply = bot.slack.wait_for("/api/chat.postMessage")[0].body
    assert reply["text"].startswith("No identifiers found")
    assert len(reply["blocks"]) == 1 and escape(NOTHING) in _text(reply)


def test_lookup_caps_hundreds_of_identifiers(bot: Any) -> None:
    text = " ".join(f"acct-{n:04d}" for n in range(1, 301))
    started = time.monotonic()
    assert _lookup(bot, text).status == 200
    reply = bot.slack.wait_for("/api/chat.postMessage")[0].body
    assert time.monotonic() - started < 10
    assert not problems(reply)
    assert "first 20 of 300" in _text(reply)
    assert len([b for b in reply["blocks"] if b["type"] == "section"]) == 20
    assert "acct-0001" in _text(reply) and "acct-0021" not in _text(reply)


def test_lookup_ephemeral_setting_answers_only_the_caller_unmasked(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_lookup_reply="ephemeral")
    assert _lookup(bot, f"who is {demo.DEMO_EMAIL}?").status == 200
    answer = bot.slack.wait_for("/response/")[0].body
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert demo.DEMO_EMAIL in _text(answer) and demo.DEMO_USER_ID in _text(answer)
    time.sleep(0.2)
    assert not bot.slack.find("/api/chat.postMessage")


def test_lookup_falls_back_to_ephemeral_when_the_thread_is_closed_to_the_bot(bot: Any) -> None:
    bot.slack.scripted["/api/chat.postMessage"] = [
        (200, {"ok": False, "error": "channel_not_found"}, {})]
    assert _lookup(bot, f"see {demo.DEMO_ACCOUNT_ID}", channel="G_PRIVATE").status == 200
    answer = bot.slack.wait_for("/response/")[0].body
    assert answer["response_type"] == "ephemeral" and demo.DEMO_ACCOUNT_ID in _text(answer)


def test_lookup_in_a_thread_replies_to_that_thread(bot: Any) -> None:
    _lookup(bot, demo.DEMO_ACCOUNT_ID, message={"type": "message", "text": demo.DEMO_ACCOUNT_ID,
                                                "ts": MSG_TS, "thread_ts": "1699999999.000001"})
    assert bot.slack.wait_for("/api/chat.postMessage")[0].body["thread_ts"] == "1699999999.000001"


def test_lookup_refused_for_non_readers(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_readers=["U_BOSS"])
    _lookup(bot, demo.DEMO_ACCOUNT_ID, user="U_ALICE")
    answer = bot.slack.wait_for("/response/")[0].body
    assert "DDB_BOT_READERS" in _text(answer) and demo.DEMO_ACCOUNT_ID not in _text(answer)
    assert not bot.slack.find("/api/chat.postMessage")


def test_malformed_shortcuts_do_not_crash_and_write_nothing(bot: Any) -> None:
    before = _snapshot(bot, "accounts", "helpers")
    # no message text at all: the short "nothing found" line, in the thread
    assert _lookup(bot, None).status == 200
    assert escape(NOTHING) in _text(bot.slack.wait_for("/api/chat.postMessage")[0].body)
    # no message and no channel: answered ephemerally
    assert _lookup(bot, None, message=None, channel=None).status == 200
    assert escape(NOTHING) in _text(bot.slack.wait_for("/response/")[0].body)
    # blocks-only message (no text field): still searched
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"see {demo.DEMO_HELPER_ID}"}}]
    _lookup(bot, None, message={"type": "message", "ts": MSG_TS, "blocks": blocks})
    assert demo.DEMO_HELPER_ID in _text(bot.slack.wait_for("/api/chat.postMessage", 2)[1].body)
    # unknown callback ids are not handled (and not acked as if they were)
    payload_unknown = _lookup(bot, demo.DEMO_ACCOUNT_ID, callback_id="ddb_nope")
    assert payload_unknown.status == 404
    assert _global_shortcut(bot, callback_id="ddb_other").status == 404
    # a global shortcut without a trigger id cannot open anything, and does not crash
    resp = bot.sender.interact({"type": "shortcut", "callback_id": ids.CHANGE_SHORTCUT,
                                "team": {"id": "T1"}, "user": _who("U_ALICE"), "token": "x"})
    assert resp.status == 200
    time.sleep(0.3)
    assert not bot.slack.find("/api/views.open")
    assert len(bot.slack.find("/api/chat.postMessage")) == 2
    assert _snapshot(bot, "accounts", "helpers") == before
    assert bot.sender.healthz().status == 200


# -- change modal ----------------------------------------------------------------------------
def test_global_shortcut_opens_the_change_modal(bot: Any) -> None:
    assert _global_shortcut(bot).status == 200
    opened = bot.slack.wait_for("/api/views.open")[0].body
    assert opened["trigger_id"] == "trigger-change"
    view = opened["view"]
    assert view["callback_id"] == ids.CHANGE_MODAL and view["type"] == "modal"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    options = [o["value"] for o in blocks["table"]["element"]["options"]]
    assert len(options) == 10 and "platform-connection-auths" in options
    assert "initial_option" not in blocks["table"]["element"]
    assert {"key", "set", "remove", "channel"} <= set(blocks)
    assert blocks["channel"]["element"]["default_to_current_conversation"] is True


def test_modal_with_an_approval_channel_does_not_ask_where(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    _global_shortcut(bot)
    view = bot.slack.wait_for("/api/views.open")[0].body["view"]
    assert "channel" not in {b.get("block_id") for b in view["blocks"]}


def test_modal_errors_inline_and_writes_nothing(bot: Any) -> None:
    touched = ("helpers", "platform-connection-auths", "user-accounts", "users")
    before = _snapshot(bot, *touched)
    cases = [
        (dict(table="helpers", key=demo.DEMO_HELPER_ID, set_="enabled=maybe"), "set", "true or false"),
        (dict(table="helpers", key=demo.DEMO_HELPER_ID, set_="execution_count=lots"), "set", "number"),
        (dict(table="helpers", key=demo.DEMO_HELPER_ID, set_="helper_id=helper-9"), "set", "key"),
        (dict(table="platform-connection-auths", key="auth-0001", set_="access_token=x"), "set", "secret"),
        (dict(table="platform-connection-auths", key="auth-0001", remove="refresh_token"), "remove",
         "secret"),
        (dict(table="helpers", key="helper-9999", set_="status=x"), "key", "no item"),
        (dict(table="helpers", key="", set_="status=x"), "key", "missing key"),
        (dict(table="user-accounts", key=demo.DEMO_USER_ID, set_="role=x"), "key", "needs"),
        (dict(table="helpers", key='{"helper_id": ', set_="status=x"), "key", "JSON"),
        (dict(table=None, key="x", set_="status=x"), "table", "choose a table"),
        (dict(table="mfh-prod-users", key="x", set_="status=x"), "table", "outside"),
        (dict(table="helpers", key=demo.DEMO_HELPER_ID), "set", "nothing to change"),
        (dict(table="helpers", key=demo.DEMO_HELPER_ID, set_="status"), "set", "attr=value"),
        (dict(table="helpers", key=demo.DEMO_HELPER_ID, set_="status=x", remove="status"), "remove",
         "both"),
    ]
    for kwargs, field, words in cases:
        resp = _submit(bot, **kwargs)
        assert resp.status == 200, kwargs
        body = resp.json()
        assert body["response_action"] == "errors", kwargs
        assert set(body["errors"]) == {field}, (kwargs, body)
        assert words.lower() in body["errors"][field].lower(), (kwargs, body)
    time.sleep(0.2)
    assert _snapshot(bot, *touched) == before  # no request, no audit record, no data
    assert not bot.slack.find("/api/chat.postMessage")


def test_modal_submit_creates_a_request_posted_for_approval(bot: Any) -> None:
    before = _snapshot(bot, "helpers")["helpers"]
    resp = _submit(bot, table="helpers", key=demo.DEMO_HELPER_ID,
                   set_='enabled=false\ndescription=Paused by support\nconfig={"field": "phone"}',
                   remove="category", channel="C_REQS")
    assert resp.status == 200 and not resp.body  # plain ack closes the modal
    posted = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body["channel"] == "C_REQS")
    msg = posted[0].body
    approve = dict(_buttons(msg["blocks"]))
    request_id = approve[ids.APPROVE]
    assert "Paused by support" in _text(msg) and "<@U_ALICE>" in _text(msg)
    # the requester is told by DM, and their home lists the request
    dm = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body["channel"] == "U_ALICE")
    assert request_id in _text(dm[0].body) and "C_REQS" in _text(dm[0].body)
    assert request_id in _text(_publishes(bot, "U_ALICE")[0].body)
    # same path as /ddb update: stored with its command text, nothing written yet
    req = bot.services.requests.get(request_id)
    assert req.text.startswith("update helpers") and req.channel == "C_REQS"
    assert _snapshot(bot, "helpers")["helpers"] == before
    # a second person approves; the item changes
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB", channel="C_REQS")
    update = bot.slack.wait_for("/api/chat.update")[0].body
    assert "EXECUTED" in _text(update)
    item = bot.services.client.get_item(TableName="mfh-dev-helpers", Key=HELPER_KEY)["Item"]
    assert item["enabled"] == {"BOOL": False}
    assert item["description"] == {"S": "Paused by support"}
    assert item["config"]["M"]["field"] == {"S": "phone"}
    assert "category" not in item
    # both homes are refreshed after the decision
    _publishes(bot, "U_BOB")
    _publishes(bot, "U_ALICE", 2)


def test_modal_submit_is_answered_before_the_request_is_posted(bot: Any) -> None:
    """The submission's answer closes the modal while chat.postMessage still waits for Slack:
    planning and storing the request stay on the response path (their errors go back in
    it), posting it runs after the 200."""
    gate = threading.Event()
    bot.slack.gates["/api/chat.postMessage"] = gate
    try:
        resp = _submit(bot, table="helpers", key=demo.DEMO_HELPER_ID, set_="enabled=false",
                       channel="C_REQS")
        assert resp.status == 200 and not resp.body
        held = bot.slack.wait_for("/api/chat.postMessage")[0].body
        assert "/api/chat.postMessage" not in bot.slack.answered  # still held when the 200 came
        request_id = dict(_buttons(held["blocks"]))[ids.APPROVE]
        assert bot.services.requests.get(request_id).status.value == "PENDING"
    finally:
        gate.set()
    dm = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body["channel"] == "U_ALICE")
    assert request_id in _text(dm[0].body)


def test_request_change_button_opens_a_prefilled_modal(bot: Any) -> None:
    bot.sender.slash(f"get helpers {demo.DEMO_HELPER_ID}")
    card = bot.slack.wait_for("/response/")[0].body
    value = dict(_buttons(card["blocks"]))[ids.REQUEST_CHANGE]
    assert bot.sender.click(ids.REQUEST_CHANGE, value, user="U_ALICE").status == 200
    view = bot.slack.wait_for("/api/views.open")[0].body["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["table"]["element"]["initial_option"]["value"] == "helpers"
    assert blocks["key"]["element"]["initial_value"] == f"helper_id={demo.DEMO_HELPER_ID}"
    assert blocks["channel"]["element"]["initial_conversation"] == "C_OPS"
    assert json.loads(view["private_metadata"]) == {"c": "C_OPS"}
    # the prefilled key submits as is (the submission keeps the card's channel)
    resp = _submit(bot, table="helpers", key=f"helper_id={demo.DEMO_HELPER_ID}",
                   set_="status=paused", channel=None, metadata=view["private_metadata"])
    assert resp.status == 200 and not resp.body
    posted = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body["channel"] == "C_OPS")
    assert ids.APPROVE in dict(_buttons(posted[0].body["blocks"]))


def test_request_change_from_a_pattern_card_and_an_expired_view(bot: Any) -> None:
    bot.sender.slash(f"user {demo.DEMO_EMAIL}")
    card = bot.slack.wait_for("/response/")[0].body
    bot.sender.click(ids.REQUEST_CHANGE, dict(_buttons(card["blocks"]))[ids.REQUEST_CHANGE])
    view = bot.slack.wait_for("/api/views.open")[0].body["view"]
    key = next(b for b in view["blocks"] if b.get("block_id") == "key")
    assert key["element"]["initial_value"] == f"user_id={demo.DEMO_USER_ID}"
    bot.sender.click(ids.REQUEST_CHANGE, "i:not-a-view")
    assert "expired" in _text(bot.slack.wait_for("/response/", 2)[1].body)
    assert len(bot.slack.find("/api/views.open")) == 1


# -- App Home ----------------------------------------------------------------------------------
def test_home_lists_requests_to_approve_and_my_requests(bot: Any) -> None:
    bot.sender.slash(f"update users {demo.DEMO_USER_ID} set company=Acme", user="U_ALICE")
    request_id = dict(_buttons(bot.slack.wait_for("/api/chat.postMessage")[0].body["blocks"]))[ids.APPROVE]
    assert _home_opened(bot, "U_BOB").status == 200
    home = _publishes(bot, "U_BOB")[0].body["view"]
    assert home["type"] == "home" and len(home["blocks"]) <= 100
    assert (ids.APPROVE, request_id) in _buttons(home["blocks"])
    assert (ids.REJECT, request_id) in _buttons(home["blocks"])
    text = _text(home)
    assert "Waiting for your approval" in text and "stage `dev`" in text and "us-west-2" in text
    assert "platform-connection-auths" in text and "ACTIVE" in text  # the tables' status
    # the requester's own home lists it under "Your open requests", without Approve
    mine = _publishes(bot, "U_ALICE")[-1].body["view"]
    assert request_id in _text(mine) and ids.APPROVE not in dict(_buttons(mine["blocks"]))
    # approve from the home: no channel, no response_url — it still runs exactly once
    assert _home_click(bot, ids.APPROVE, request_id, "U_BOB").status == 200
    assert "EXECUTED" in _text(bot.slack.wait_for("/api/chat.update")[0].body)
    user = bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"]
    assert user["company"] == {"S": "Acme"}
    refreshed = _publishes(bot, "U_BOB", 2)[-1].body["view"]
    assert ids.APPROVE not in dict(_buttons(refreshed["blocks"]))
    assert "approve" in _text(refreshed)  # recent activity shows the decision


def test_home_click_refusal_is_sent_by_dm(bot: Any) -> None:
    bot.sender.slash(f"update users {demo.DEMO_USER_ID} set company=Acme", user="U_ALICE")
    request_id = dict(_buttons(bot.slack.wait_for("/api/chat.postMessage")[0].body["blocks"]))[ids.APPROVE]
    before = _snapshot(bot, "users")["users"]
    _home_click(bot, ids.APPROVE, request_id, "U_ALICE")
    dm = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body["channel"] == "U_ALICE")
    assert "second person" in _text(dm[0].body)
    assert _snapshot(bot, "users")["users"] == before
    # Reject from the home opens the reason modal (it needs only the trigger id)
    _home_click(bot, ids.REJECT, request_id, "U_BOB")
    assert bot.slack.wait_for("/api/views.open")[0].body["view"]["private_metadata"] == request_id


def test_home_events_for_other_tabs_unknown_and_restricted_users(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_readers=["U_READER"])
    assert _home_opened(bot, "U_READER", tab="messages").status == 200
    assert _home_opened(bot, "U_STRANGER").status == 200
    home = _publishes(bot, "U_STRANGER")[0].body["view"]
    assert "DDB_BOT_READERS" in _text(home) and "Tables" not in _text(home)
    assert _event(bot, {"type": "app_home_opened", "tab": "home"}).status == 200  # no user
    assert _event(bot, {"type": "app_home_opened", "user": "W_ENTERPRISE", "channel": "D_X",
                        "tab": "home"}).status == 200
    _publishes(bot, "W_ENTERPRISE")
    _home_opened(bot, "U_READER")
    assert "Tables" in _text(_publishes(bot, "U_READER")[0].body)
    time.sleep(0.2)
    assert len(bot.slack.find("/api/views.publish")) == 3  # not for the messages tab


def test_events_url_verification_and_bad_signature(bot: Any) -> None:
    resp = bot.sender.post(json.dumps({"type": "url_verification", "challenge": "c-123",
                                       "token": "legacy"}), content_type="application/json")
    assert resp.status == 200 and "c-123" in resp.body
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": {
        "type": "app_home_opened", "user": "U_BOB", "tab": "home"}})
    assert bot.sender.post(body, content_type="application/json",
                           signature="v0=" + "0" * 64).status == 401
    time.sleep(0.2)
    assert not bot.slack.find("/api/views.publish")
