"""One test per claim of SECURITY.md: each attack through the served app, as Slack would send it."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.render import ids
from dynamo import demo
from testkit import scan_all

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _request(bot: Any, text: str, user: str = "U_ALICE") -> str:
    before = len(bot.slack.find("/response/"))
    bot.sender.slash(text, user=user)
    request_id = _buttons(bot.slack.wait_for("/api/chat.postMessage")[0].body)[ids.APPROVE]
    bot.slack.wait_for("/response/", before + 1)  # the requester's answer comes first
    return request_id


def test_forged_request_without_the_signing_secret_is_401(bot: Any) -> None:
    """Claim: a forged request (no valid signature) is rejected before any listener runs."""
    before = scan_all(bot.services.client)
    assert bot.sender.slash("tables", signature="v0=deadbeef").status == 401
    assert bot.sender.slash("tables", signature="v0=").status == 401
    time.sleep(0.2)
    assert bot.slack.find("/response/") == []
    assert scan_all(bot.services.client) == before


def test_spoofed_user_id_breaks_the_signature(bot: Any) -> None:
    """Claim: the user id in a payload can't be changed: it is inside the signed body."""
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=disabled")
    body = urlencode({"payload": json.dumps({
        "type": "block_actions", "user": {"id": "U_BOB"}, "team": {"id": "T1"},
        "channel": {"id": "C_OPS"}, "response_url": bot.sender.response_url,
        "trigger_id": "t", "actions": [{"action_id": ids.APPROVE, "value": request_id,
                                        "type": "button", "block_id": "b"}]})})
    ts = str(int(time.time()))
    signature = bot.sender.verifier.generate_signature(timestamp=ts, body=body)
    # the attacker (the requester) swaps the approver's id for their own after signing
    forged = body.replace("U_BOB", "U_EVE")
    assert bot.sender.post(forged, timestamp=int(ts), signature=signature).status == 401
    assert bot.services.requests.get(request_id).status.value == "PENDING"
    assert bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"][
        "status"] != {"S": "disabled"}


def test_replayed_old_request_is_401(bot: Any) -> None:
    """Claim: a captured request replayed after 5 minutes is refused (timestamp check)."""
    old = int(time.time()) - 6 * 60
    assert bot.sender.slash("tables", timestamp=old).status == 401


def test_replayed_approve_click_runs_the_change_once(bot: Any) -> None:
    """Claim: replaying a valid approve click (within 5 minutes) cannot run a change twice."""
    request_id = _request(bot, f"update helpers {demo.DEMO_HELPER_ID} set description=once")
    payload = {"type": "block_actions", "user": {"id": "U_BOB"}, "team": {"id": "T1"},
               "channel": {"id": "C_OPS"}, "response_url": bot.sender.response_url,
               "trigger_id": "t", "actions": [{"action_id": ids.APPROVE, "value": request_id,
                                               "type": "button", "block_id": "b"}]}
    body = urlencode({"payload": json.dumps(payload)})
    ts = int(time.time())
    sig = bot.sender.verifier.generate_signature(timestamp=str(ts), body=body)
    for _ in range(3):
        assert bot.sender.post(body, timestamp=ts, signature=sig).status == 200
    bot.slack.wait_for("/api/chat.update")
    bot.slack.wait_for("/response/", 3)
    approvals = [r for r in bot.services.requests.audit.recent(20) if r.action == "approve"]
    assert [r.outcome for r in approvals] == ["EXECUTED"]


def test_member_without_rights_reads_nothing(make_bot: Any) -> None:
    """Claim: with DDB_BOT_READERS set, anyone else gets a refusal and no data."""
    bot = make_bot(ddb_bot_readers=["U_READER"])
    bot.sender.slash(f"get users {demo.DEMO_USER_ID}", user="U_STRANGER")
    answer = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert "DDB_BOT_READERS" in answer and demo.DEMO_EMAIL not in answer
    bot.sender.slash(f"get users {demo.DEMO_USER_ID}", user="U_READER")
    assert demo.DEMO_USER_ID in json.dumps(bot.slack.wait_for("/response/", 2)[1].body)


def test_channel_outside_allowed_channels_gets_nothing(make_bot: Any) -> None:
    """Claim: DDB_BOT_ALLOWED_CHANNELS limits where the bot answers at all."""
    bot = make_bot(ddb_bot_allowed_channels=["C_OPS"])
    bot.sender.slash(f"user {demo.DEMO_EMAIL}", channel="C_RANDOM")
    answer = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert "not enabled in this channel" in answer and demo.DEMO_USER_ID not in answer


def test_compromised_requester_cannot_approve_or_touch_secrets_or_other_stages(bot: Any) -> None:
    """Claim: a requester alone can't write: not by self-approval, secrets, keys, other
    stages, table deletion, or expression injection."""
    before = scan_all(bot.services.client)
    attempts = [
        "update platform-connection-auths auth-0001 set access_token=attacker",
        f"update users {demo.DEMO_USER_ID} set user_id=user:attacker",
        "update mfh-prod-users user:x set status=x",
        "aws dynamodb delete-table --table-name mfh-dev-users",
        "aws dynamodb update-table --table-name mfh-dev-users --no-deletion-protection-enabled",
        f"update users {demo.DEMO_USER_ID} set #s=x",
        ("aws dynamodb update-item --table-name mfh-dev-users --key "
         "'{\"user_id\":{\"S\":\"user:x\"}}' --update-expression \"SET a = :v REMOVE b\" "
         "--expression-attribute-values '{\":v\":{\"S\":\"1\"},\":w\":{\"S\":\"2\"}}'"),
    ]
    for n, text in enumerate(attempts, 1):
        bot.sender.slash(text, user="U_EVE")
        answer = bot.slack.wait_for("/response/", n)[n - 1].body
        assert ":warning:" in json.dumps(answer), text
    assert not bot.slack.find("/api/chat.postMessage")
    assert scan_all(bot.services.client) == before
    # self-approval of a legitimate request is refused
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=x", user="U_EVE")
    bot.sender.click(ids.APPROVE, request_id, user="U_EVE")
    bot.slack.wait_for("/response/", len(attempts) + 2)
    assert bot.services.requests.get(request_id).status.value == "PENDING"


def test_approval_across_stages_is_refused(bot: Any, make_services: Any) -> None:
    """Claim: a request made for one stage can't be executed by another stage's bot, even
    when both share a state table."""
    request_id = _request(bot, f"update users {demo.DEMO_USER_ID} set status=x")
    prod = make_services(stage="prod", ddb_bot_state_table="mfh-dev-ddb-bot")
    from commands import dispatch

    result = dispatch(f"approve {request_id}", prod.context("U_BOB"))
    assert not result.ok and "stage" in (result.refusal or "")
    assert bot.services.requests.get(request_id).status.value == "PENDING"


def test_no_secret_in_audit_records_or_logs(bot: Any, caplog: Any) -> None:
    """Claim: audit records and the bot's logs (its own at any level, libraries at INFO)
    never hold a secret value or the bot's own tokens."""
    caplog.set_level("INFO")
    for name in ("bot", "commands", "dynamo", "slack_bolt"):
        caplog.set_level("DEBUG", logger=name)
    request_id = _request(bot, "delete platform-connection-auths auth-0001")
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    bot.slack.wait_for("/api/chat.update")
    # its undo (the secrets come back from the image the delete kept, which then goes)
    bot.sender.click(ids.UNDO, request_id, user="U_CAROL")
    undo = bot.slack.wait_for("/api/chat.postMessage",
                              where=lambda c: "undo of" in json.dumps(c.body))[0].body
    bot.sender.click(ids.APPROVE, _buttons(undo)[ids.APPROVE], user="U_BOB")
    bot.slack.wait_for("/api/chat.update", where=lambda c: "undo of" in json.dumps(c.body)
                       and "EXECUTED" in json.dumps(c.body))
    assert bot.services.work.wait_idle(10)
    assert bot.services.client.get_item(TableName="mfh-dev-platform-connection-auths",
                                        Key={"auth_id": {"S": "auth-0001"}})["Item"]
    bot.sender.slash(f"auth {demo.DEMO_CONNECTION_ID}")
    bot.sender.slash("bogus xoxb-1234567890-abcdefghij")
    bot.slack.wait_for("/response/", 3)
    state = json.dumps(scan_all(bot.services.client)["mfh-dev-ddb-bot"])
    everything = state + caplog.text + json.dumps([c.body for c in bot.slack.calls])
    for secret in (*demo.DEMO_SECRETS, "xoxb-test-token", "xoxb-1234567890-abcdefghij",
                   "test-signing-secret-0123456789abcdef"):
        assert secret not in everything, secret


def test_bot_token_only_goes_to_slack_in_the_authorization_header(bot: Any) -> None:
    """Claim: the bot token is sent only as a bearer header to the Web API, never in a body."""
    bot.sender.slash(f"update users {demo.DEMO_USER_ID} set status=x")
    bot.slack.wait_for("/api/chat.postMessage")
    for call in bot.slack.calls:
        assert "xoxb-test-token" not in json.dumps(call.body)
        if call.path.startswith("/api/"):
            assert call["auth"] == "Bearer xoxb-test-token"


# -- credential shapes in ordinary attributes, through every surface (issue 9, items 2-3) --------
LEAKY_EXEC = "exec-leaky-0001"
# (as stored, the secret part that must never be shown, what stays around it)
LEAKS = [
    ("postgres://admin:Pg4dminPW@db:5432/app", "Pg4dminPW", "postgres://admin:"),
    ("https://deploy:GitPW9x@git.example.com/x.git", "GitPW9x", "https://deploy:"),
    ('config {"password": "hunter2zz"}', "hunter2zz", "password"),
    ("retry with passwd=Passwd77&user=ada", "Passwd77", "passwd="),
    ("OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z failed", "Ab3dEf6hIj9kLm2nOp5qRs8t", "OPENAI "),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG",
     "aws_secret_access_key="),
]


def _seed_leaky_execution(bot: Any) -> None:
    item = {"execution_id": {"S": LEAKY_EXEC}, "account_id": {"S": demo.DEMO_ACCOUNT_ID},
            "helper_id": {"S": demo.DEMO_HELPER_ID}, "status": {"S": "failed"},
            "created_at": {"S": "2026-11-29T20:51:24Z"}}
    for i, (value, _, _) in enumerate(LEAKS):
        item[f"note_{i}"] = {"S": value}
    bot.services.client.put_item(TableName="mfh-dev-executions", Item=item)


def _assert_masked(text: str) -> None:
    for _, secret, kept in LEAKS:
        assert secret not in text, secret
        assert kept in text, kept
    assert "[masked credential]" in text


def test_credential_shapes_are_masked_in_replies_json_requests_and_console(bot: Any) -> None:
    """Claim: URL passwords, keyword=value, provider keys and AWS secret keys are masked in a
    reply, its Show JSON, the approval request, history and the console; the text around
    each (key name, scheme, user) stays."""
    import io

    from bot.console import Console

    _seed_leaky_execution(bot)
    bot.sender.slash(f"get executions {LEAKY_EXEC}")
    reply = bot.slack.wait_for("/response/")[0].body
    _assert_masked(json.dumps(reply))
    bot.sender.click(ids.SHOW_JSON, _buttons(reply)[ids.SHOW_JSON])
    _assert_masked(json.dumps(bot.slack.wait_for("/response/", 2)[1].body))
    # the request message in the approval channel shows the before → after preview
    request_id = _request(bot, f"update executions {LEAKY_EXEC} set status=retried")
    bot.sender.slash(f"delete executions {LEAKY_EXEC}")
    posted = bot.slack.wait_for("/api/chat.postMessage", 2)
    _assert_masked(json.dumps(posted[1].body))
    bot.sender.click(ids.APPROVE, request_id, user="U_BOB")
    history = io.StringIO()
    console = Console(bot.services, "U_ALICE", out=history, err=io.StringIO())
    assert console.one(f"/ddb get executions {LEAKY_EXEC}") == 0
    assert console.one("/ddb history --limit 5") == 0
    _assert_masked(history.getvalue())


def test_auth_card_keeps_the_line_after_token_type(bot: Any) -> None:
    """Claim: a mask never crosses a line: ``token_type  Bearer`` and the next attribute
    (``updated_at``) are shown as stored, in Slack and in the console."""
    import io

    from bot.console import Console

    bot.sender.slash(f"auth {demo.DEMO_CONNECTION_ID}")
    text = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert "Bearer" in text and "updated_at" in text and "[masked credential]" not in text
    out = io.StringIO()
    assert Console(bot.services, "U_ALICE", out=out, err=io.StringIO()).one(
        f"/ddb auth {demo.DEMO_CONNECTION_ID}") == 0
    rows = {ln.split()[0]: ln.split(None, 1)[-1] for ln in out.getvalue().splitlines() if ln.strip()}
    assert rows["token_type"] == "Bearer"
    assert rows["updated_at"].startswith("20") and "masked" not in out.getvalue()
