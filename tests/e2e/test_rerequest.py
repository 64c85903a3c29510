"""End to end: whoever asked for a change never approves it, Re-request or not.

Re-request runs a stale request's text again with whoever clicked as its requester. The
person who asked first must stay someone who may not approve the new request (and so must
every earlier generation's requester), or a requester could have a colleague click
Re-request and then approve their own change. Signed clicks into the served bot, moto.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.render import ids
from dynamo import demo

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}
CHANNEL = "C_APPROVALS"


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _posted(bot: Any, n: int) -> dict[str, Any]:
    """The n-th request message posted in the approval channel."""
    return bot.slack.wait_for("/api/chat.postMessage", n,
                              where=lambda c: c.body.get("channel") == CHANNEL)[n - 1].body


def _company(bot: Any) -> dict[str, Any]:
    item = bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY,
                                        ConsistentRead=True)["Item"]
    return item.get("company", {})


def _users(bot: Any) -> list[dict[str, Any]]:
    return bot.services.client.scan(TableName="mfh-dev-users", ConsistentRead=True)["Items"]


def _change_meanwhile(bot: Any, value: str) -> None:
    bot.services.client.update_item(
        TableName="mfh-dev-users", Key=USER_KEY, UpdateExpression="SET company = :c",
        ExpressionAttributeValues={":c": {"S": value}})


def _holding(needle: str) -> Any:
    return lambda call: needle in json.dumps(call.body)


def _make_stale(bot: Any, request_id: str, approver: str, meanwhile: str) -> None:
    _change_meanwhile(bot, meanwhile)
    assert bot.sender.click(ids.APPROVE, request_id, user=approver, channel=CHANNEL).status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "STALE" in json.dumps(c.body)
                       and request_id in json.dumps(c.body))
    assert bot.services.requests.get(request_id).status.value == "STALE"


def _rerequest(bot: Any, request_id: str, clicker: str, n: int) -> str:
    assert bot.sender.click(ids.REREQUEST, request_id, user=clicker, channel=CHANNEL).status == 200
    return _buttons(_posted(bot, n))[ids.APPROVE]


def _refused(bot: Any, request_id: str, user: str, needle: str) -> None:
    before = _users(bot)
    seen = len([c for c in bot.slack.find("/response/") if _holding(needle)(c)])
    assert bot.sender.click(ids.APPROVE, request_id, user=user, channel=CHANNEL).status == 200
    bot.slack.wait_for("/response/", seen + 1, where=_holding(needle))  # this click's refusal
    assert bot.services.work.wait_idle(10)
    req = bot.services.requests.get(request_id)
    assert req.status.value == "PENDING" and user not in req.approvals
    assert _users(bot) == before  # nothing written


def _home(bot: Any, user: str) -> dict[str, Any]:
    mine = lambda c: c.body.get("user_id") == user  # noqa: E731
    before = len([c for c in bot.slack.find("/api/views.publish") if mine(c)])
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D_HOME",
                      "tab": "home", "event_ts": str(time.time())}}
    assert bot.sender.post(json.dumps(body), content_type="application/json").status == 200
    return bot.slack.wait_for("/api/views.publish", before + 1, where=mine)[-1].body["view"]


def test_the_first_requester_cannot_approve_a_rerequest_of_their_change(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel=CHANNEL)
    assert bot.sender.slash(f"update users {demo.DEMO_USER_ID} set company=Acme",
                            user="U_ALICE").status == 200
    first = _buttons(_posted(bot, 1))[ids.APPROVE]
    _make_stale(bot, first, "U_BOB", "Changed meanwhile")

    # Bob re-requests Alice's change: he is its requester now, and Alice still asked for it
    second = _rerequest(bot, first, "U_BOB", 2)
    req = bot.services.requests.get(second)
    assert (req.requester, req.asked_before, req.rerequest_of) == ("U_BOB", ["U_ALICE"], first)
    _refused(bot, second, "U_ALICE", "you asked for this change before")
    _refused(bot, second, "U_BOB", "a second person has to approve it")
    # nor is it offered to her as one to approve in her App Home
    assert second not in json.dumps([b for b in _home(bot, "U_ALICE")["blocks"]
                                     if b.get("type") == "actions"])

    # a second generation: Carol re-requests Bob's re-request; all three asked for it
    _make_stale(bot, second, "U_DAVE", "Changed again")
    third = _rerequest(bot, second, "U_CAROL", 3)
    req = bot.services.requests.get(third)
    assert (req.requester, req.asked_before) == ("U_CAROL", ["U_ALICE", "U_BOB"])
    for user in ("U_ALICE", "U_BOB"):
        _refused(bot, third, user, "you asked for this change before")
    refusals = [r for r in bot.services.requests.audit.recent(50)
                if r.action == "approve refused" and r.request_id == third]
    assert {r.actor for r in refusals} == {"U_ALICE", "U_BOB"}

    # someone who never asked approves it, and it runs once
    assert bot.sender.click(ids.APPROVE, third, user="U_DAVE", channel=CHANNEL).status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in json.dumps(c.body))
    assert _company(bot) == {"S": "Acme"}
    assert bot.services.work.wait_idle(10)


def test_the_original_requester_rerequesting_stays_the_requester(make_bot: Any) -> None:
    """Alice clicks Re-request on her own stale change: she asks again and still may not
    approve it; anyone else may."""
    bot = make_bot(ddb_bot_approval_channel=CHANNEL)
    assert bot.sender.slash(f"update users {demo.DEMO_USER_ID} set company=Acme",
                            user="U_ALICE").status == 200
    first = _buttons(_posted(bot, 1))[ids.APPROVE]
    _make_stale(bot, first, "U_BOB", "Changed meanwhile")
    again = _rerequest(bot, first, "U_ALICE", 2)
    req = bot.services.requests.get(again)
    assert (req.requester, req.asked_before) == ("U_ALICE", [])
    _refused(bot, again, "U_ALICE", "a second person has to approve it")
    assert bot.sender.click(ids.APPROVE, again, user="U_BOB", channel=CHANNEL).status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in json.dumps(c.body))
    assert _company(bot) == {"S": "Acme"}
    assert bot.services.work.wait_idle(10)
