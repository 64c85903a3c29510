"""End to end: break-glass through signed Slack requests, the served bot, the fake Web API
and moto — the loud post, its Review button, the lists, and the refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.render import ids
from bot.render.modals import ACTION
from dynamo import demo
from testkit import scan_all

HELPER_KEY = {"helper_id": {"S": demo.DEMO_HELPER_ID}}
STATE = "mfh-dev-ddb-bot"
POLICY = "break_glass: [U_ONCALL, S0ONCALL]\n"
# typed in Slack with its smart quotes; & and < > arrive escaped (the signed client does that)
REASON = "INC-42 & <runaway> helper"
TYPED = f"update helpers {demo.DEMO_HELPER_ID} set enabled=false --break-glass “{REASON}”"


@pytest.fixture
def bgbot(make_bot: Any, tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    bot = make_bot(ddb_bot_policy_file=str(path), ddb_bot_approval_channel="C_APPROVALS",
                   ddb_bot_approvers=["U_BOB", "U_CAROL", "S0REVIEW"])
    bot.slack.usergroups["S0ONCALL"] = ["U_DAVE"]
    bot.slack.usergroups["S0REVIEW"] = ["U_ERIN"]
    return bot


def _helper(bot: Any) -> dict[str, Any]:
    return bot.services.client.get_item(TableName="mfh-dev-helpers", Key=HELPER_KEY,
                                        ConsistentRead=True)["Item"]


def _without_audit(tables: dict[str, Any]) -> dict[str, Any]:
    return {t: [i for i in items if i["pk"] != {"S": "AUDIT"}] if t == STATE else items
            for t, items in tables.items()}


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _answer(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", where=lambda c: needle in json.dumps(c.body))[-1].body


def _settle(bot: Any) -> None:
    assert bot.services.work.wait_idle(10)


def _event(bot: Any, event: dict[str, Any]) -> Any:
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event}
    return bot.sender.post(json.dumps(body), content_type="application/json")


def _home(bot: Any, user: str) -> dict[str, Any]:
    """``user`` opens the App Home; the view the bot publishes."""
    mine = lambda c: c.body.get("user_id") == user  # noqa: E731
    before = len([c for c in bot.slack.find("/api/views.publish") if mine(c)])
    assert _event(bot, {"type": "app_home_opened", "user": user, "channel": "D_HOME",
                        "tab": "home", "event_ts": str(time.time())}).status == 200
    return bot.slack.wait_for("/api/views.publish", before + 1, where=mine)[-1].body["view"]


def test_break_glass_posts_loudly_is_listed_and_reviewed_with_the_button(bgbot: Any) -> None:
    bot = bgbot
    assert bot.sender.slash(TYPED, user="U_DAVE", channel="C_OPS").status == 200  # via S0ONCALL
    post = bot.slack.wait_for("/api/chat.postMessage",
                              where=lambda c: c.body.get("channel") == "C_APPROVALS")[0].body
    text = json.dumps(post, ensure_ascii=False)
    assert post["blocks"][0]["type"] == "header"
    assert post["blocks"][0]["text"]["text"] == \
        ":rotating_light: BREAK-GLASS change executed without approval"
    assert "Ran by <@U_DAVE> in <#C_OPS>" in text
    assert "INC-42 &amp; &lt;runaway&gt; helper" in text  # the reason, never markup
    assert "enabled" in text and "true" in text and "false" in text  # before -> after
    assert "<@U_BOB>" in text and "<@U_CAROL>" in text and "<!subteam^S0REVIEW>" in text
    rid = _buttons(post)[ids.REVIEW]
    assert ids.APPROVE not in _buttons(post)
    assert _buttons(post)[ids.UNDO] == rid  # an incident fix can be reversed, with approval
    reply = _answer(bot, "needs a review")
    assert rid in json.dumps(reply) and "<#C_APPROVALS>" in json.dumps(reply)
    assert reply["response_type"] == "ephemeral"
    assert _helper(bot)["enabled"] == {"BOOL": False}
    req = bot.services.requests.get(rid)
    assert (req.status.value, req.break_glass, req.break_glass_reason, req.decided_by) == (
        "EXECUTED", True, REASON, "U_DAVE")
    assert req.message_channel == "C_APPROVALS" and req.message_ts

    # listed for reviewers: /ddb pending and the App Home of an approver
    bot.sender.slash("pending", user="U_BOB")
    pending = _answer(bot, "Break-glass changes waiting for review")
    assert rid in json.dumps(pending)
    home = _home(bot, "U_ERIN")  # an approver through the S0REVIEW group
    assert "Break-glass changes to review" in json.dumps(home)
    assert _buttons(home)[ids.REVIEW] == rid
    own = _home(bot, "U_DAVE")  # the executor may not review their own
    assert ids.REVIEW not in _buttons(own)
    # but sees it among their open requests, waiting for someone else's review
    assert f"*{rid}*" in json.dumps(own) and "waiting for someone else's review" in json.dumps(own)
    assert "You have no open write requests" not in json.dumps(own)

    # the executor's click is refused; nothing is recorded
    bot.sender.click(ids.REVIEW, rid, user="U_DAVE", channel="C_APPROVALS")
    refusal = _answer(bot, "you ran this change")
    assert "someone else must review it" in json.dumps(refusal)
    assert refusal["replace_original"] is False
    _settle(bot)
    assert bot.services.requests.get(rid).reviewed_by is None

    # an approver's click reviews it: the message says so in place, the button is gone
    bot.sender.click(ids.REVIEW, rid, user="U_BOB", channel="C_APPROVALS")
    updated = bot.slack.wait_for("/api/chat.update",
                                 where=lambda c: "Reviewed" in json.dumps(c.body))[-1].body
    assert updated["channel"] == "C_APPROVALS" and updated["ts"] == req.message_ts
    assert "*Reviewed* by <@U_BOB>" in json.dumps(updated)
    assert ids.REVIEW not in _buttons(updated)
    assert _buttons(updated)[ids.UNDO] == rid
    assert "You reviewed" in json.dumps(_answer(bot, "You reviewed"))
    assert bot.services.requests.get(rid).reviewed_by == "U_BOB"

    bot.sender.click(ids.REVIEW, rid, user="U_CAROL", channel="C_APPROVALS")
    # refusal text is shown as text, its fallback too: nothing in it mentions or links
    assert "already reviewed by &lt;@U_BOB&gt;" in json.dumps(_answer(bot, "already reviewed"))
    _settle(bot)
    assert bot.services.requests.get(rid).reviewed_by == "U_BOB"
    assert ids.REVIEW not in _buttons(_home(bot, "U_ERIN"))
    assert "waiting for someone else's review" not in json.dumps(_home(bot, "U_DAVE"))
    # nobody is DMed about a break-glass change (the executor was answered directly)
    assert not [c for c in bot.slack.find("/api/chat.postMessage")
                if str(c.body.get("channel", "")).startswith("U")]

    # its Undo button asks for the reverse change, which waits for approval like any write
    assert bot.sender.click(ids.UNDO, rid, user="U_CAROL", channel="C_APPROVALS").status == 200
    undo_msg = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: f"(undo of {rid})"
                                  in json.dumps(c.body))[-1].body
    undo_id = _buttons(undo_msg)[ids.APPROVE]
    assert bot.services.requests.get(undo_id).undo_of == rid
    assert _helper(bot)["enabled"] == {"BOOL": False}  # nothing reversed before approval


def test_typed_review_and_a_home_click_update_the_post_too(bgbot: Any) -> None:
    bot = bgbot
    rids = []
    for n in (1, 2):
        bot.sender.slash(TYPED.replace("enabled=false", f"execution_count={n}"), user="U_ONCALL")
        post = bot.slack.wait_for("/api/chat.postMessage", n,
                                  where=lambda c: c.body.get("channel") == "C_APPROVALS")[-1].body
        rids.append(_buttons(post)[ids.REVIEW])
    bot.sender.slash(f"review {rids[0]}", user="U_ERIN")  # an approver through a group
    bot.slack.wait_for("/api/chat.update", where=lambda c: "<@U_ERIN>" in json.dumps(c.body))
    assert bot.services.requests.get(rids[0]).reviewed_by == "U_ERIN"
    # the Review button in the App Home: no channel, no response_url (answered by DM)
    assert _buttons(_home(bot, "U_CAROL"))[ids.REVIEW] == rids[1]
    bot.sender.interact({
        "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
        "user": {"id": "U_CAROL", "username": "u_carol", "team_id": "T1"},
        "container": {"type": "view", "view_id": "VHOME"}, "trigger_id": "trigger-home",
        "view": {"id": "VHOME", "type": "home", "callback_id": "ddb_home"},
        "actions": [{"type": "button", "action_id": ids.REVIEW, "block_id": f"home-bg-{rids[1]}",
                     "value": rids[1], "action_ts": str(time.time())}]})
    bot.slack.wait_for("/api/chat.update", where=lambda c: "<@U_CAROL>" in json.dumps(c.body))
    dm = bot.slack.wait_for("/api/chat.postMessage",
                            where=lambda c: c.body.get("channel") == "U_CAROL")[-1].body
    assert "You reviewed" in json.dumps(dm)
    assert bot.services.requests.get(rids[1]).reviewed_by == "U_CAROL"
    assert bot.services.requests.needs_review() == []


def test_non_member_is_refused_and_nothing_is_written_or_posted(bgbot: Any) -> None:
    bot = bgbot
    before = _without_audit(scan_all(bot.services.client))
    bot.sender.slash(TYPED, user="U_ALICE")
    refusal = _answer(bot, "break_glass")
    assert "you are not in the approval policy" in json.dumps(refusal)
    assert "Ask for approval instead" in json.dumps(refusal)
    bot.sender.slash(f"gsi create helpers StatusIndex status --break-glass “{REASON}”",
                     user="U_ONCALL")
    assert "cannot run an index change" in json.dumps(_answer(bot, "index change"))
    _settle(bot)
    assert _without_audit(scan_all(bot.services.client)) == before
    assert not bot.slack.find("/api/chat.postMessage")
    assert bot.services.requests.list() == []
    refused = [r for r in bot.services.requests.audit.recent(10) if r.action == "break-glass refused"]
    assert [r.actor for r in refused] == ["U_ONCALL", "U_ALICE"]


# == the change modal ===========================================================================
def _shortcut(bot: Any, user: str) -> dict[str, Any]:
    """``user`` opens the change modal from the global shortcut; the view the bot opened."""
    bot.slack.clear()
    assert bot.sender.interact({
        "type": "shortcut", "callback_id": ids.CHANGE_SHORTCUT, "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "trigger_id": "trigger-change", "action_ts": str(time.time()), "token": "legacy"}).status == 200
    return bot.slack.wait_for("/api/views.open")[0].body["view"]


def _submit(bot: Any, user: str, reason: str | None, set_: str = "enabled=false") -> Any:
    """The modal submitted as Slack sends it: plain_text_input values as typed."""
    values: dict[str, Any] = {
        "table": {ACTION["table"]: {"type": "static_select", "selected_option": {
            "value": "helpers", "text": {"type": "plain_text", "text": "helpers"}}}},
        "key": {ACTION["key"]: {"type": "plain_text_input", "value": demo.DEMO_HELPER_ID}},
        "set": {ACTION["set"]: {"type": "plain_text_input", "value": set_}},
        "remove": {ACTION["remove"]: {"type": "plain_text_input", "value": None}},
    }
    if reason is not None:  # the field exists only in a member's modal; a forged one is sent anyway
        values["break_glass"] = {ACTION["break_glass"]: {"type": "plain_text_input",
                                                         "value": reason}}
    return bot.sender.interact({
        "type": "view_submission", "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"}, "api_app_id": "A1",
        "trigger_id": "trigger-submit", "token": "legacy",
        "view": {"id": "V1", "type": "modal", "callback_id": ids.CHANGE_MODAL,
                 "private_metadata": '{"c": ""}', "state": {"values": values}}})


def test_a_member_breaks_glass_from_the_change_modal(bgbot: Any) -> None:
    bot = bgbot
    view = _shortcut(bot, "U_ONCALL")
    field = next(b for b in view["blocks"] if b.get("block_id") == "break_glass")
    assert field["optional"] is True and "runs at once" in field["label"]["text"]
    assert "break_glass" not in {b.get("block_id") for b in _shortcut(bot, "U_ALICE")["blocks"]}

    # & < > arrive as typed in a plain_text_input (no escaping there)
    resp = _submit(bot, "U_ONCALL", REASON)
    assert resp.status == 200 and not resp.body  # the modal closes
    posted = bot.slack.wait_for("/api/chat.postMessage",
                                where=lambda c: c.body.get("channel") == "C_APPROVALS")[0].body
    rid = _buttons(posted)[ids.REVIEW]
    assert _helper(bot)["enabled"] == {"BOOL": False}  # ran at once
    req = bot.services.requests.get(rid)
    assert (req.status.value, req.break_glass, req.break_glass_reason, req.decided_by) == (
        "EXECUTED", True, REASON, "U_ONCALL")
    # the executor is told by DM (a submission has no response_url)
    dm = bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body.get("channel") == "U_ONCALL")
    assert rid in json.dumps(dm[0].body)


@pytest.mark.parametrize(("user", "reason", "fragment"), [
    ("U_ALICE", "INC-42: forged field", "`break_glass` list"),  # not a member: a forged field
    ("U_ONCALL", "x" * 501, "501 characters"),
])
def test_a_refused_break_glass_in_the_modal_is_a_field_error_and_writes_nothing(
        bgbot: Any, user: str, reason: str, fragment: str) -> None:
    bot = bgbot
    before = scan_all(bot.services.client)
    resp = _submit(bot, user, reason)
    assert resp.status == 200
    answer = json.loads(resp.body)
    assert answer["response_action"] == "errors" and fragment in answer["errors"]["break_glass"]
    assert _without_audit(scan_all(bot.services.client)) == _without_audit(before)
    assert not bot.slack.find("/api/chat.postMessage")


def test_an_empty_break_glass_reason_asks_for_approval_as_before(bgbot: Any) -> None:
    bot = bgbot
    assert _submit(bot, "U_ONCALL", "  ").status == 200
    posted = bot.slack.wait_for("/api/chat.postMessage",
                                where=lambda c: c.body.get("channel") == "C_APPROVALS")[0].body
    assert ids.APPROVE in _buttons(posted) and ids.REVIEW not in _buttons(posted)
    assert _helper(bot)["enabled"] == {"BOOL": True}  # waits for a second person
