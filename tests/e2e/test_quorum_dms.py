"""End to end: quorum approvals and decision DMs through signed Slack requests and moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.render import ids
from dynamo import demo
from testkit import race
from testkit.signed import reject_submission

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}
POLICY = """\
tables:
  users: {update: {approvals: 2}}
  api-keys: {"*": {approvals: 2, approvers: [S0SECURITY]}}
break_glass: [U0ONCALL, S0ONCALL]
"""


@pytest.fixture
def qbot(make_bot: Any, tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    bot = make_bot(ddb_bot_policy_file=str(path))
    bot.slack.usergroups["S0SECURITY"] = ["U_SEC1", "U_SEC2"]
    return bot


def _channel_posts(bot: Any, n: int = 1) -> list[Any]:
    return bot.slack.wait_for("/api/chat.postMessage", n,
                              where=lambda c: str(c.body.get("channel", "")).startswith("C"))


def _dms(bot: Any, user: str = "U_ALICE") -> list[Any]:
    """DMs to ``user`` so far (a DM is a chat.postMessage to the user id)."""
    return [c for c in bot.slack.find("/api/chat.postMessage") if c.body.get("channel") == user]


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _answer(bot: Any, needle: str) -> dict[str, Any]:
    """The ephemeral answer (response_url) containing ``needle``."""
    calls = bot.slack.wait_for("/response/", where=lambda c: needle in json.dumps(c.body))
    return calls[-1].body


def _update_with(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/api/chat.update",
                              where=lambda c: needle in json.dumps(c.body))[-1].body


def _ask(bot: Any, text: str, user: str = "U_ALICE") -> tuple[str, dict[str, Any]]:
    assert bot.sender.slash(text, user=user).status == 200
    posted = _channel_posts(bot)[-1].body
    return _buttons(posted)[ids.APPROVE], posted


def _wait_dm(bot: Any, needle: str, user: str = "U_ALICE") -> dict[str, Any]:
    return bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body.get(
        "channel") == user and needle in json.dumps(c.body))[-1].body


def _settle(bot: Any) -> None:
    """Wait until the bot's work pool has finished everything queued so far."""
    assert bot.services.work.wait_idle(10)  # work queued by that work counts too


def test_quorum_through_slack_message_updates_and_one_dm(qbot: Any) -> None:
    key = qbot.services.client.scan(TableName="mfh-dev-api-keys", Limit=1)["Items"][0]["key_id"]["S"]
    rid, posted = _ask(qbot, f"update api-keys {key} set name=rotated")
    text = json.dumps(posted)
    assert "Needs 2 approvals from distinct people in <!subteam^S0SECURITY>" in text

    qbot.sender.click(ids.APPROVE, rid, user="U_BOB")  # not in the policy's group
    refusal = _answer(qbot, "not one of them")
    assert "S0SECURITY" in json.dumps(refusal) and refusal["replace_original"] is False

    qbot.sender.click(ids.APPROVE, rid, user="U_SEC1")
    partial = _update_with(qbot, "1 of 2 approvals")
    assert "1 of 2 approvals: <@U_SEC1>" in json.dumps(partial)
    assert _buttons(partial)[ids.APPROVE] == rid  # stays approvable
    assert "recorded" in json.dumps(_answer(qbot, "recorded"))
    # the approver's App Home is re-published: the request left "waiting for my approval"
    home = qbot.slack.wait_for("/api/views.publish",
                               where=lambda c: c.body.get("user_id") == "U_SEC1")[-1].body
    assert ids.APPROVE not in _buttons(home["view"])
    other = qbot.slack.wait_for("/api/views.publish",
                                where=lambda c: c.body.get("user_id") == "U_ALICE")[-1].body
    assert "1 of 2 approvals" in json.dumps(other)  # the requester's "my open requests"

    qbot.sender.click(ids.APPROVE, rid, user="U_SEC1")
    assert "counts once" in json.dumps(_answer(qbot, "counts once"))
    _settle(qbot)
    assert _dms(qbot) == []  # no DM for intermediate approvals
    item = qbot.services.client.get_item(TableName="mfh-dev-api-keys",
                                         Key={"key_id": {"S": key}})["Item"]
    assert item["name"] != {"S": "rotated"}

    qbot.sender.click(ids.APPROVE, rid, user="U_SEC2")
    final = _update_with(qbot, "EXECUTED")
    assert ids.APPROVE not in _buttons(final)
    assert "<@U_SEC1>" in json.dumps(final) and "<@U_SEC2>" in json.dumps(final)
    dm = _wait_dm(qbot, "executed")
    assert "<@U_SEC1>" in json.dumps(dm) and "<@U_SEC2>" in json.dumps(dm) and rid in json.dumps(dm)
    item = qbot.services.client.get_item(TableName="mfh-dev-api-keys",
                                         Key={"key_id": {"S": key}})["Item"]
    assert item["name"] == {"S": "rotated"}
    _settle(qbot)
    assert len(_dms(qbot)) == 1


def test_two_last_approvals_at_once_in_slack_run_once_and_dm_once(qbot: Any) -> None:
    rid, _ = _ask(qbot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    qbot.sender.click(ids.APPROVE, rid, user="U_BOB")
    _update_with(qbot, "1 of 2 approvals")
    race(2, lambda i: qbot.sender.click(ids.APPROVE, rid, user=f"U_LAST{i}"))
    _update_with(qbot, "EXECUTED")
    _answer(qbot, "already EXECUTED")
    # a Reject click on the decided request refreshes its message, but DMs no one again
    qbot.sender.click(ids.REJECT, rid, user="U_CAROL")
    _answer(qbot, "no longer pending")
    _settle(qbot)
    executed = [r for r in qbot.services.requests.audit.recent(50)
                if r.action == "approve" and r.outcome == "EXECUTED"]
    assert len(executed) == 1
    assert len(_dms(qbot)) == 1
    req = qbot.services.requests.get(rid)
    assert len(req.approvals) == 2 and "U_BOB" in req.approvals
    got = qbot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"]
    assert got["status"] == {"S": "disabled"}


def test_help_in_slack_hides_what_a_plain_reader_may_not_run(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_requesters=["U_REQ"], ddb_bot_approvers=["U_APPR"])
    bot.sender.slash("help", user="U_READER")
    text = json.dumps(bot.slack.wait_for("/response/")[0].body)
    for hidden in ("/ddb update", "/ddb delete", "/ddb put", "/ddb gsi", "/ddb approve",
                   "/ddb reject"):
        assert hidden not in text, hidden
    assert "/ddb get" in text and "/ddb pending" in text


def test_rejected_dm_carries_the_reason(bot: Any) -> None:
    rid, _ = _ask(bot, f"delete users {demo.DEMO_USER_ID}")
    submission = reject_submission(rid, "wrong account")
    assert bot.sender.interact(submission).status == 200
    dm = json.dumps(_wait_dm(bot, "rejected"))
    assert "wrong account" in dm and "<@U_BOB>" in dm
    _settle(bot)
    assert len(_dms(bot)) == 1


def test_stale_dm_offers_the_rerequest_button(bot: Any) -> None:
    rid, _ = _ask(bot, f"update users {demo.DEMO_USER_ID} set company=Acme")
    bot.services.client.update_item(
        TableName="mfh-dev-users", Key=USER_KEY, UpdateExpression="SET company = :c",
        ExpressionAttributeValues={":c": {"S": "Changed meanwhile"}})
    bot.sender.click(ids.APPROVE, rid, user="U_BOB")
    dm = _wait_dm(bot, "changed since the preview")
    assert _buttons(dm) == {ids.REREQUEST: rid}
    # the button in the DM re-requests with fresh data
    bot.sender.click(ids.REREQUEST, rid, user="U_ALICE", channel="D_ALICE")
    fresh = _channel_posts(bot, 2)[-1].body
    assert "Changed meanwhile" in json.dumps(fresh)


def test_expired_dm_once_from_a_late_click_and_the_sweep(bot: Any) -> None:
    from bot.scheduler import sweep_expired

    rid, _ = _ask(bot, f"update users {demo.DEMO_USER_ID} set status=a")
    real = bot.services.requests.clock
    bot.services.requests.clock = lambda: real() + 31 * 60
    try:
        bot.sender.click(ids.APPROVE, rid, user="U_BOB")
        assert "expired" in json.dumps(_wait_dm(bot, "expired"))
        bot.sender.click(ids.APPROVE, rid, user="U_DAN")  # another late click
        bot.sender.click(ids.REJECT, rid, user="U_DAN")
        _answer(bot, "no longer pending")
        assert sweep_expired(bot.services, bot.app.client) == 0
        second = bot.services.requests.plan_update(
            "users", {"user_id": demo.DEMO_USER_ID}, {"status": "b"}, [], "U_CAROL")
        bot.services.requests.save(second)
    finally:
        bot.services.requests.clock = real
    bot.services.requests.clock = lambda: real() + 62 * 60
    try:
        assert sweep_expired(bot.services, bot.app.client) == 1
        assert sweep_expired(bot.services, bot.app.client) == 0
    finally:
        bot.services.requests.clock = real
    assert second.id in json.dumps(_wait_dm(bot, "expired", user="U_CAROL"))
    _settle(bot)
    assert len(_dms(bot)) == 1 and len(_dms(bot, "U_CAROL")) == 1


def test_failed_gsi_change_dms_the_error(bot: Any) -> None:
    rid, _ = _ask(bot, "gsi create helpers StatusIndex status --projection KEYS_ONLY")

    class Http:
        status_code = 400

    def refuse(**_kw: Any) -> Any:
        return Http(), {"Error": {"Code": "LimitExceededException",
                                  "Message": "Subscriber limit exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}

    events = bot.services.client.meta.events
    events.register("before-call.dynamodb.UpdateTable", refuse)
    try:
        bot.sender.click(ids.APPROVE, rid, user="U_BOB")
        dm = json.dumps(_wait_dm(bot, "failed"))
    finally:
        events.unregister("before-call.dynamodb.UpdateTable", refuse)
    assert "LimitExceededException" in dm
    assert bot.services.requests.get(rid).status.value == "FAILED"
