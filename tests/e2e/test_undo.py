"""End to end: `/ddb undo` and the Undo button through signed Slack requests and moto."""

from __future__ import annotations

import json
from typing import Any

from bot.render import ids
from dynamo import demo
from testkit import scan_all

AUTH_KEY = {"auth_id": {"S": "auth-0001"}}
AUTHS = "mfh-dev-platform-connection-auths"


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _posted(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body.get(
        "channel") == "C_APPROVALS" and needle in json.dumps(c.body))[-1].body


def _updated(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/api/chat.update",
                              where=lambda c: needle in json.dumps(c.body))[-1].body


def _answer(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", where=lambda c: needle in json.dumps(c.body))[-1].body


def _executed(bot: Any, text: str) -> tuple[str, dict[str, Any]]:
    """Ask as U_ALICE, approve as U_BOB; the source id and its EXECUTED message."""
    assert bot.sender.slash(text, user="U_ALICE").status == 200
    rid = _buttons(_posted(bot, text.split()[0]))[ids.APPROVE]
    bot.sender.click(ids.APPROVE, rid, user="U_BOB", channel="C_APPROVALS")
    return rid, _updated(bot, f"{rid}: ")


def _settle(bot: Any) -> None:
    assert bot.services.work.wait_idle(10)


def test_undo_button_restores_a_deleted_item_secrets_never_in_slack(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    client = bot.services.client
    original = client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"]
    assert original["access_token"] == {"S": demo.DEMO_SECRETS[0]}
    rid, done = _executed(bot, "delete platform-connection-auths auth-0001")
    assert "EXECUTED" in json.dumps(done) and _buttons(done) == {ids.UNDO: rid}
    assert "Item" not in client.get_item(TableName=AUTHS, Key=AUTH_KEY)

    assert bot.sender.click(ids.UNDO, rid, user="U_CAROL", channel="C_APPROVALS").status == 200
    undo_msg = _posted(bot, f"(undo of {rid})")
    text = json.dumps(undo_msg)
    assert "put platform-connection-auths auth-0001 (undo of" in text
    assert "current" in text and "restored" in text and "(restored, not shown)" in text
    assert "Asked by <@U_CAROL>" in text
    undo_id = _buttons(undo_msg)[ids.APPROVE]
    assert bot.services.requests.get(undo_id).undo_of == rid
    told = _answer(bot, undo_id)  # the clicker is told where it waits
    assert told["response_type"] == "ephemeral"

    bot.sender.click(ids.APPROVE, undo_id, user="U_BOB", channel="C_APPROVALS")
    final = _updated(bot, f"{undo_id}: ")
    assert "EXECUTED" in json.dumps(final)
    assert client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"] == original
    _settle(bot)
    calls = json.dumps([c.body for c in bot.slack.calls])
    for secret in demo.DEMO_SECRETS[:3]:
        assert secret not in calls


def test_typed_undo_of_an_update_and_its_refusals(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    helpers = "mfh-dev-helpers"
    key = {"helper_id": {"S": demo.DEMO_HELPER_ID}}
    original = bot.services.client.get_item(TableName=helpers, Key=key)["Item"]
    assert original["status"] != {"S": "paused"}
    rid, _ = _executed(bot, f"update helpers {demo.DEMO_HELPER_ID} set status=paused")

    assert bot.sender.slash(f"undo {rid}", user="U_CAROL").status == 200
    msg = _posted(bot, f"(undo of {rid})")
    assert f"update helpers {demo.DEMO_HELPER_ID} (undo of {rid})" in json.dumps(msg)
    row = next(line for b in msg["blocks"] if b.get("type") == "section"
               for line in b["text"]["text"].splitlines() if line.startswith("status"))
    assert "paused" in row and original["status"]["S"] in row  # current -> restored
    undo_id = _buttons(msg)[ids.APPROVE]

    before = scan_all(bot.services.client)
    bot.sender.slash(f"undo {undo_id}", user="U_CAROL")  # still pending: nothing to undo
    refusal = _answer(bot, "not EXECUTED")
    assert refusal["response_type"] == "ephemeral" and "/ddb undo &lt;request id&gt;" in json.dumps(
        refusal)
    _settle(bot)
    assert {k: v for k, v in scan_all(bot.services.client).items() if k != "mfh-dev-ddb-bot"} \
        == {k: v for k, v in before.items() if k != "mfh-dev-ddb-bot"}
    assert len(bot.services.requests.list(statuses=["PENDING"])) == 1

    bot.sender.click(ids.APPROVE, undo_id, user="U_BOB", channel="C_APPROVALS")
    _updated(bot, f"{undo_id}: ")
    after = bot.services.client.get_item(TableName=helpers, Key=key)["Item"]
    assert after["status"] == original["status"]
    _settle(bot)


def test_undo_click_by_someone_who_may_not_request_writes_is_refused(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS",
                   ddb_bot_requesters="U_ALICE,U_CAROL")
    rid, done = _executed(bot, f"update helpers {demo.DEMO_HELPER_ID} set status=paused")
    assert _buttons(done) == {ids.UNDO: rid}
    bot.sender.click(ids.UNDO, rid, user="U_MALLORY", channel="C_APPROVALS")
    refusal = _answer(bot, "DDB_BOT_REQUESTERS")
    assert refusal["replace_original"] is False
    _settle(bot)
    assert [r.id for r in bot.services.requests.list(limit=10)] == [rid]  # nothing requested


def test_undo_of_an_item_changed_since_through_slack(make_bot: Any) -> None:
    """The item changes twice around an undo: before it is asked (refused, nothing requested)
    and after (the approval finds it STALE; the other change stays)."""
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    helpers = "mfh-dev-helpers"
    key = {"helper_id": {"S": demo.DEMO_HELPER_ID}}
    client = bot.services.client
    rid, _ = _executed(bot, f"update helpers {demo.DEMO_HELPER_ID} set status=paused")

    # someone else changes the item: the undo would overwrite that, so it is refused
    client.update_item(TableName=helpers, Key=key, UpdateExpression="SET #s = :v",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":v": {"S": "archived"}})
    bot.sender.slash(f"undo {rid}", user="U_CAROL")
    refusal = _answer(bot, "changed since")
    assert refusal["response_type"] == "ephemeral" and "`status`" in json.dumps(refusal)
    _settle(bot)
    assert [r.id for r in bot.services.requests.list(limit=10)] == [rid]  # nothing requested

    # put back what the update left; the undo is asked; then the item changes again
    client.update_item(TableName=helpers, Key=key, UpdateExpression="SET #s = :v",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":v": {"S": "paused"}})
    bot.sender.slash(f"undo {rid}", user="U_CAROL")
    undo_id = _buttons(_posted(bot, f"(undo of {rid})"))[ids.APPROVE]
    client.update_item(TableName=helpers, Key=key, UpdateExpression="SET #s = :v",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":v": {"S": "archived"}})
    bot.sender.click(ids.APPROVE, undo_id, user="U_BOB", channel="C_APPROVALS")
    stale = _updated(bot, "STALE")
    assert undo_id in json.dumps(stale) and "item changed since the preview" in json.dumps(stale)
    assert _buttons(stale).get(ids.REREQUEST) == undo_id
    _settle(bot)
    assert client.get_item(TableName=helpers, Key=key)["Item"]["status"] == {"S": "archived"}
    assert bot.services.requests.get(undo_id).status.value == "STALE"
