"""Every Slack surface on AWS Lambda: signed requests in as HTTP API events, each invocation
a fresh process, the work in the function's own asynchronous invocations, answers through
the fake Slack, changes in DynamoDB."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bot.render import ids
from bot.render.requests import REJECT_MODAL
from dynamo import demo
from testkit.signed import reject_submission
from tests.aws_lambda.conftest import LambdaBot, buttons, change_submission, who

AUTH_KEY = {"auth_id": {"S": "auth-0002"}}
AUTHS = "mfh-dev-platform-connection-auths"


def _submit_change(lam: LambdaBot, table: str, key: str, set_: str) -> Any:
    return lam.sender.interact(change_submission(table, key, set_))


def _home_opened(lam: LambdaBot, user: str, tab: str = "home") -> Any:
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D_HOME", "tab": tab,
                      "event_ts": str(time.time())}}
    return lam.sender.post(json.dumps(body), content_type="application/json")


def _requests(lam: LambdaBot) -> list[dict[str, Any]]:
    return lam.client.query(TableName="mfh-dev-ddb-bot", KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": "REQ"}})["Items"]


def _async(lam: LambdaBot) -> list[Any]:
    return [r for r in lam.settle() if r.invocation_type == "Event"]


# -- slash command and result buttons ----------------------------------------------------------
def test_the_ack_returns_before_the_work_which_runs_in_its_own_invocation(lam: LambdaBot) -> None:
    lam.stub.hold()
    resp = lam.sender.slash("tables")
    assert resp.status == 200 and resp.body == ""  # the ack: Slack shows nothing yet
    time.sleep(0.3)
    assert not lam.slack.find("/response/")  # the acking process has ended, having answered nothing
    assert lam.stub.release() == 1  # one asynchronous invocation carries the work
    assert "Tables of stage" in lam.answers()[0]["text"]
    assert [r.function for r in _async(lam)] == ["ddb-bot-dev-slack"]


def test_read_then_next_page_and_show_json(lam: LambdaBot) -> None:
    assert lam.sender.slash("scan users --limit 2").status == 200
    first = lam.answers("user:")[0]
    view = buttons(first)[ids.NEXT_PAGE]
    assert lam.sender.click(ids.NEXT_PAGE, view).status == 200
    second = lam.answers("user:", 2)[1]
    assert second["replace_original"] is True and second != first
    assert lam.sender.click(ids.SHOW_JSON, buttons(first)[ids.SHOW_JSON]).status == 200
    shown = lam.answers(n=3)[2]
    assert shown["response_type"] == "ephemeral" and shown["replace_original"] is False
    assert '"user_id"' in json.dumps(shown["blocks"]).replace('\\"', '"')  # the JSON of the items


# -- approvals, their DMs, undo --------------------------------------------------------------
def test_request_approved_with_a_dm_then_undone(lam: LambdaBot) -> None:
    original = lam.client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"]
    assert lam.sender.slash("delete platform-connection-auths auth-0002").status == 200
    posted = lam.posts("C_APPROVALS", "auth-0002")[0]
    rid = buttons(posted)[ids.APPROVE]
    assert "C_APPROVALS" in json.dumps(lam.answers(rid)[0])  # the requester is told where
    assert "Item" in lam.client.get_item(TableName=AUTHS, Key=AUTH_KEY)  # nothing written yet

    assert lam.sender.click(ids.APPROVE, rid, user="U_BOB", channel="C_APPROVALS").status == 200
    done = lam.calls("/api/chat.update", "EXECUTED")[0].body
    assert rid in json.dumps(done) and buttons(done) == {ids.UNDO: rid}
    assert rid in json.dumps(lam.posts("U_ALICE", rid)[0])  # the requester's outcome DM
    assert "Item" not in lam.client.get_item(TableName=AUTHS, Key=AUTH_KEY)

    assert lam.sender.click(ids.UNDO, rid, user="U_CAROL", channel="C_APPROVALS").status == 200
    undo = lam.posts("C_APPROVALS", f"(undo of {rid})")[0]
    assert demo.DEMO_SECRETS[1] not in json.dumps(undo)  # the kept image's secret stays out
    lam.sender.click(ids.APPROVE, buttons(undo)[ids.APPROVE], user="U_BOB", channel="C_APPROVALS")
    lam.calls("/api/chat.update", f"undo of {rid}")
    lam.settle()
    assert lam.client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"] == original


def test_reject_opens_its_modal_and_the_reason_is_recorded(lam: LambdaBot) -> None:
    user_key = {"user_id": {"S": demo.DEMO_USER_ID}}
    before = lam.client.get_item(TableName="mfh-dev-users", Key=user_key)["Item"]
    assert lam.sender.slash(f"update users {demo.DEMO_USER_ID} set status=disabled").status == 200
    rid = buttons(lam.posts("C_APPROVALS", demo.DEMO_USER_ID)[0])[ids.APPROVE]
    assert lam.sender.click(ids.REJECT, rid, user="U_BOB", channel="C_APPROVALS").status == 200
    opened = lam.calls("/api/views.open")[0].body["view"]
    assert opened["callback_id"] == REJECT_MODAL and opened["private_metadata"] == rid
    assert lam.sender.interact(reject_submission(rid, "wrong account")).status == 200
    update = json.dumps(lam.calls("/api/chat.update", "REJECTED")[0].body)
    assert "wrong account" in update and "<@U_BOB>" in update
    lam.settle()
    assert lam.client.get_item(TableName="mfh-dev-users", Key=user_key)["Item"] == before


# -- shortcuts, the change modal, App Home ------------------------------------------------------
def test_change_shortcut_modal_and_submission_carried_to_the_work(lam: LambdaBot) -> None:
    shortcut = {"type": "shortcut", "callback_id": ids.CHANGE_SHORTCUT, "team": {"id": "T1"},
                "user": who("U_ALICE"), "trigger_id": "trigger-change",
                "action_ts": str(time.time()), "token": "legacy"}
    assert lam.sender.interact(shortcut).status == 200
    assert lam.calls("/api/views.open")[0].body["view"]["callback_id"] == ids.CHANGE_MODAL
    lam.settle()
    started = len(_async(lam))
    requests = len(_requests(lam))

    refused = _submit_change(lam, "helpers", demo.DEMO_HELPER_ID, "enabled=maybe")
    assert refused.status == 200 and refused.json()["response_action"] == "errors"
    assert len(_async(lam)) == started  # nothing to do after the ack: no invocation
    assert len(_requests(lam)) == requests  # and nothing written

    ok = _submit_change(lam, "helpers", demo.DEMO_HELPER_ID, "enabled=false")
    assert ok.status == 200 and ok.body == ""  # the modal closes
    posted = lam.posts("C_APPROVALS", demo.DEMO_HELPER_ID)[0]
    rid = buttons(posted)[ids.APPROVE]
    assert rid in json.dumps(lam.posts("U_ALICE", rid)[0])  # no response_url: told by DM
    assert len(_requests(lam)) == requests + 1


def test_request_change_button_opens_the_modal_prefilled(lam: LambdaBot) -> None:
    assert lam.sender.slash("get helpers helper-0004").status == 200
    card = lam.answers("helper-0004")[0]
    assert lam.sender.click(ids.REQUEST_CHANGE, buttons(card)[ids.REQUEST_CHANGE]).status == 200
    view = lam.calls("/api/views.open")[0].body["view"]
    key = next(b for b in view["blocks"] if b.get("block_id") == "key")
    assert key["element"]["initial_value"] == "helper_id=helper-0004"


def test_lookup_shortcut_answers_in_the_thread(lam: LambdaBot) -> None:
    resp = lam.sender.shortcut(f"customer says {demo.DEMO_ACCOUNT_ID} is broken",
                               ids.LOOKUP_SHORTCUT, message_ts="1700000000.000300")
    assert resp.status == 200
    reply = lam.posts("C_OPS", demo.DEMO_ACCOUNT_ID)[0]
    assert reply["thread_ts"] == "1700000000.000300"


def test_app_home_is_published_and_other_tabs_start_nothing(lam: LambdaBot) -> None:
    assert _home_opened(lam, "U_ERIN").status == 200
    published = lam.calls("/api/views.publish")[0].body
    assert published["user_id"] == "U_ERIN" and published["view"]["type"] == "home"
    started = len(_async(lam))
    assert _home_opened(lam, "U_ERIN", tab="messages").status == 200
    assert len(_async(lam)) == started
    assert len(lam.slack.find("/api/views.publish")) == 1


# -- break-glass and its review ----------------------------------------------------------------
def test_break_glass_posts_loudly_and_is_reviewed(lam: LambdaBot, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("break_glass: [U_ONCALL]\n")
    lam.configure(DDB_BOT_POLICY_FILE=str(policy))
    key = {"helper_id": {"S": "helper-0005"}}
    typed = 'update helpers helper-0005 set enabled=false --break-glass "INC-7 runaway helper"'
    assert lam.sender.slash(typed, user="U_ONCALL").status == 200
    loud = lam.posts("C_APPROVALS", "INC-7")[0]
    assert lam.calls("/response/", "helper-0005")  # the executor's own answer
    item = lam.client.get_item(TableName="mfh-dev-helpers", Key=key, ConsistentRead=True)["Item"]
    assert item["enabled"] == {"BOOL": False}  # ran at once, no approval
    review = buttons(loud)[ids.REVIEW]
    assert lam.sender.click(ids.REVIEW, review, user="U_BOB", channel="C_APPROVALS").status == 200
    updated = lam.calls("/api/chat.update", "Reviewed")[-1].body
    assert "*Reviewed* by <@U_BOB>" in json.dumps(updated) and ids.REVIEW not in buttons(updated)
