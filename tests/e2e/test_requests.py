"""End to end: write requests through signed Slack requests and the fake Web API."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from bot.render import ids
from bot.render.requests import REJECT_MODAL
from dynamo import demo
from testkit import scan_all
from testkit.signed import reject_submission

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}


def _user(bot: Any) -> dict[str, Any]:
    return bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"]


def _request_message(bot: Any, n: int = 1) -> dict[str, Any]:
    """The n-th request message posted in a channel (outcome DMs go to a user id)."""
    return bot.slack.wait_for("/api/chat.postMessage", n, where=_in_channel)[n - 1].body


def _in_channel(call: Any) -> bool:
    return not str(call.body.get("channel", "")).startswith("U")


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions"
            for el in b["elements"]}


def _request(bot: Any, text: str, user: str = "U_ALICE", channel: str = "C_OPS") -> str:
    before = len(bot.slack.find("/response/"))
    assert bot.sender.slash(text, user=user, channel=channel).status == 200
    msg = _request_message(bot)
    # the requester's own answer ("posted in #…") arrives before anyone clicks, so tests
    # that read later answers by position see them in the order a person would
    bot.slack.wait_for("/response/", before + 1)
    return _buttons(msg)[ids.APPROVE]


def _updates(bot: Any, n: int = 1) -> list[Any]:
    return bot.slack.wait_for("/api/chat.update", n)


def test_request_posted_approved_by_second_user_item_changed(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    before = scan_all(bot.services.client)
    resp = bot.sender.slash(f"update users {demo.DEMO_USER_ID} set status=disabled")
    assert resp.status == 200
    posted = _request_message(bot)
    assert posted["channel"] == "C_APPROVALS"
    text = json.dumps(posted)
    assert "status" in text and "disabled" in text and "<@U_ALICE>" in text
    request_id = _buttons(posted)[ids.APPROVE]
    assert _buttons(posted)[ids.REJECT] == request_id
    # the requester is told where it waits
    told = bot.slack.wait_for("/response/")[0].body
    assert "C_APPROVALS" in json.dumps(told) and request_id in json.dumps(told)
    # nothing written yet
    assert scan_all(bot.services.client)["mfh-dev-users"] == before["mfh-dev-users"]

    bot.sender.click(ids.APPROVE, request_id, user="U_BOB", channel="C_APPROVALS")
    update = _updates(bot)[0].body
    assert update["channel"] == "C_APPROVALS"
    assert "EXECUTED" in json.dumps(update) and "<@U_BOB>" in json.dumps(update)
    assert ids.APPROVE not in _buttons(update)
    assert _user(bot)["status"] == {"S": "disabled"}


def test_self_approval_refused_nothing_changes(bot: Any) -> None:
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    before = scan_all(bot.services.client)
    bot.sender.click(ids.APPROVE, request_id, user="U_ALICE")
    refusal = bot.slack.wait_for("/response/", 2)[1].body
    assert "second person" in json.dumps(refusal)
    assert refusal.get("replace_original") is False
    assert scan_all(bot.services.client) == {
        **before, "mfh-dev-ddb-bot": scan_all(bot.services.client)["mfh-dev-ddb-bot"]}
    assert _user(bot)["status"] != {"S": "disabled"}
    assert bot.services.requests.get(request_id).status.value == "PENDING"


def test_non_approver_refused(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approvers=["U_BOSS"])
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    refusal = bot.slack.wait_for("/response/", 2)[1].body
    assert "DDB_BOT_APPROVERS" in json.dumps(refusal)
    assert _user(bot)["status"] != {"S": "disabled"}
    bot.sender.click(ids.APPROVE, request_id, user="U_BOSS")
    _updates(bot)
    assert _user(bot)["status"] == {"S": "disabled"}


def test_approver_group_resolved_with_usergroups_users_list(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approvers=["S0APPROVERS"])
    bot.slack.usergroups["S0APPROVERS"] = ["U_CAROL"]
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    assert "DDB_BOT_APPROVERS" in json.dumps(bot.slack.wait_for("/response/", 2)[1].body)
    bot.sender.click(ids.APPROVE, request_id, user="U_CAROL")
    _updates(bot)
    assert _user(bot)["status"] == {"S": "disabled"}
    assert bot.slack.find("/api/usergroups.users.list")


def test_reject_with_reason_via_modal(bot: Any) -> None:
    request_id = _request(bot, f"delete users {demo.DEMO_USER_ID}")
    bot.sender.click(ids.REJECT, request_id, user="U_BOB")
    opened = bot.slack.wait_for("/api/views.open")[0].body
    assert opened["view"]["callback_id"] == REJECT_MODAL
    assert opened["view"]["private_metadata"] == request_id
    submission = reject_submission(request_id, "wrong account")
    assert bot.sender.interact(submission).status == 200
    update = json.dumps(_updates(bot)[0].body)
    assert "REJECTED" in update and "wrong account" in update and "<@U_BOB>" in update
    assert "Item" in bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)
    # approving a rejected request is refused
    bot.sender.click(ids.APPROVE, request_id, user="U_CAROL")
    assert "REJECTED" in json.dumps(bot.slack.wait_for("/response/", 2)[1].body)


def test_reject_click_is_acked_before_the_modal_call_returns(bot: Any) -> None:
    """The 200 for the Reject click goes back while views.open is still waiting for Slack:
    the modal is opened after the ack, at once, not on the click's own response path."""
    request_id = _request(bot, f"delete users {demo.DEMO_USER_ID}")
    gate = threading.Event()
    bot.slack.gates["/api/views.open"] = gate
    try:
        assert bot.sender.click(ids.REJECT, request_id, user="U_BOB").status == 200
        assert bot.slack.wait_for("/api/views.open")[0].body["view"]["private_metadata"] \
            == request_id
        assert "/api/views.open" not in bot.slack.answered  # still held when the 200 came
    finally:
        gate.set()
    assert bot.services.requests.get(request_id).status.value == "PENDING"


def test_stale_request_offers_rerequest(bot: Any) -> None:
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set company=Acme")
    bot.services.client.update_item(
        TableName="mfh-dev-users", Key=USER_KEY, UpdateExpression="SET company = :c",
        ExpressionAttributeValues={":c": {"S": "Changed meanwhile"}})
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    update = _updates(bot)[0].body
    assert "STALE" in json.dumps(update)
    assert _buttons(update).get(ids.REREQUEST) == request_id
    assert _user(bot)["company"] == {"S": "Changed meanwhile"}
    bot.sender.click(ids.REREQUEST, request_id, user="U_ALICE")
    fresh = _request_message(bot, 2)
    assert "Changed meanwhile" in json.dumps(fresh)
    assert _buttons(fresh)[ids.APPROVE] != request_id


def test_expired_request_late_click_and_sweep(bot: Any) -> None:
    from bot.scheduler import sweep_expired

    late = _request(bot, f"update users {demo.DEMO_USER_ID} set status=a")
    real = bot.services.requests.clock
    bot.services.requests.clock = lambda: real() + 31 * 60
    try:
        bot.sender.click(ids.APPROVE, late, user="U_BOB")
        assert "expired" in json.dumps(bot.slack.wait_for("/response/", 2)[1].body)
        assert bot.services.requests.get(late).status.value == "EXPIRED"
        assert _user(bot)["status"] != {"S": "a"}
    finally:
        bot.services.requests.clock = real
    # the periodic sweep expires and updates the message of an unanswered one
    second = bot.services.requests.plan_update("users", {"user_id": demo.DEMO_USER_ID},
                                               {"status": "b"}, [], "U_ALICE")
    bot.services.requests.save(second)
    bot.services.requests.set_message(second.id, "C_OPS", "1700000000.000200")
    bot.services.requests.clock = lambda: real() + 31 * 60
    try:
        assert sweep_expired(bot.services, bot.app.client) >= 1
    finally:
        bot.services.requests.clock = real
    updates = bot.slack.wait_for("/api/chat.update", where=lambda c: c.body.get("ts") == "1700000000.000200")
    assert "EXPIRED" in json.dumps(updates[0].body)


def test_concurrent_approvals_execute_exactly_once(bot: Any) -> None:
    request_id = _request(
        bot, 'put platforms {"platform_id":"plat-0100","name":"Pipedrive","slug":"pipedrive"}')
    n = 8
    barrier = threading.Barrier(n)

    def click(i: int) -> None:
        barrier.wait()
        bot.sender.click(ids.APPROVE, request_id, user=f"U_APPROVER{i}")

    threads = [threading.Thread(target=click, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bot.slack.wait_for("/api/chat.update", 1)
    # every other click got a refusal
    bot.slack.wait_for("/response/", 1 + (n - 1))
    time.sleep(0.3)
    executed = [r for r in bot.services.requests.audit.recent(50)
                if r.action == "approve" and r.outcome == "EXECUTED"]
    assert len(executed) == 1
    item = bot.services.client.get_item(TableName="mfh-dev-platforms",
                                        Key={"platform_id": {"S": "plat-0100"}})["Item"]
    assert item["name"] == {"S": "Pipedrive"}


def test_retried_delivery_of_the_same_click_runs_once(bot: Any) -> None:
    request_id = _request(bot, f"update helpers {demo.DEMO_HELPER_ID} set execution_count=0")
    for _ in range(3):
        bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    bot.slack.wait_for("/response/", 3)
    approvals = [r for r in bot.services.requests.audit.recent(50) if r.action == "approve"]
    assert len(approvals) == 1 and approvals[0].outcome == "EXECUTED"


def test_pasted_seed_update_and_delete_become_requests(bot: Any) -> None:
    bot.services.client.put_item(TableName="mfh-dev-users", Item={
        "user_id": {"S": "user:abc"}, "status": {"S": "pending"}, "email": {"S": "abc@example.com"}})
    update = ("aws dynamodb update-item --table-name mfh-dev-users --key "
              "'{\"user_id\":{\"S\":\"user:abc\"}}' --update-expression \"SET #s = :s, updated_at = :u\" "
              "--expression-attribute-names '{\"#s\":\"status\"}' --expression-attribute-values "
              "'{\":s\":{\"S\":\"active\"},\":u\":{\"S\":\"2025-02-05T00:00:00Z\"}}' --region us-west-2")
    request_id = _request(bot, update)
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    _updates(bot)
    item = bot.services.client.get_item(TableName="mfh-dev-users",
                                        Key={"user_id": {"S": "user:abc"}})["Item"]
    assert item["status"] == {"S": "active"}
    assert item["updated_at"] == {"S": "2025-02-05T00:00:00Z"}
    delete = ("aws dynamodb delete-item --table-name mfh-dev-users --key "
              "'{\"user_id\":{\"S\":\"user:abc\"}}' --region us-west-2")
    bot.sender.slash(delete)
    second = _request_message(bot, 2)
    bot.sender.click(ids.APPROVE, _buttons(second)[ids.APPROVE], user="U_BOB")
    _updates(bot, 2)
    assert "Item" not in bot.services.client.get_item(TableName="mfh-dev-users",
                                                      Key={"user_id": {"S": "user:abc"}})


def test_gsi_create_visible_in_describe(bot: Any) -> None:
    request_id = _request(bot, "gsi create helpers StatusIndex status --projection KEYS_ONLY")
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    assert "EXECUTED" in json.dumps(_updates(bot)[0].body)
    bot.sender.slash("describe helpers")
    described = bot.slack.wait_for("/response/", where=lambda c: "Drift" in json.dumps(c.body))
    text = json.dumps(described[0].body)
    assert "StatusIndex" in text and "not declared" in text


def test_requester_outside_requesters_is_refused(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_requesters=["U_OPS"])
    before = scan_all(bot.services.client)
    bot.sender.slash(f"update users {demo.DEMO_USER_ID} set status=x", user="U_ALICE")
    assert "DDB_BOT_REQUESTERS" in json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert scan_all(bot.services.client) == before
    assert not bot.slack.find("/api/chat.postMessage")


def test_secrets_never_in_request_message(bot: Any) -> None:
    request_id = _request(bot, "delete platform-connection-auths auth-0001")
    msg = json.dumps(_request_message(bot))
    for secret in demo.DEMO_SECRETS:
        assert secret not in msg
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    # every state item but the deleted item's image kept for its undo (SECURITY.md, Undo)
    state = [i for i in scan_all(bot.services.client)["mfh-dev-ddb-bot"] if i["pk"]["S"] != "UNDO"]
    text = json.dumps(_updates(bot)[0].body) + json.dumps(state)
    for secret in demo.DEMO_SECRETS:
        assert secret not in text


def test_approval_whose_answer_was_lost_after_the_commit_is_shown_executed(bot: Any) -> None:
    """DynamoDB commits the approval's transaction, the answer never arrives (dropped at
    botocore's HTTP layer after moto committed, as a read timeout): the message in Slack
    says EXECUTED by the approver, never "refused … nothing changed"."""
    from botocore.exceptions import ReadTimeoutError

    from testkit import engine

    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    lost: list[str] = []

    def drop(request: Any, event_name: str, **_kw: Any) -> None:
        if lost:
            return None  # the retry reaches moto, which fails its conditions
        lost.append(event_name)
        engine.deliver(request, event_name)  # DynamoDB commits
        raise ReadTimeoutError(endpoint_url=request.url)

    bot.services.client.meta.events.register("before-send.dynamodb.TransactWriteItems", drop)
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    text = json.dumps(_updates(bot)[0].body)
    assert lost
    assert "EXECUTED" in text and "<@U_BOB>" in text
    assert "nothing changed" not in text and "refused" not in text.lower()
    assert _user(bot)["status"] == {"S": "disabled"}
    assert bot.services.requests.get(request_id).status.value == "EXECUTED"
