"""The scheduled functions on AWS Lambda (EventBridge): the digest, posted once however many
invocations overlap, and the expiry sweep; each invocation a fresh process."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.render import ids
from dynamo import demo
from testkit.lambda_invoke import Run
from tests.aws_lambda.conftest import DIGEST_FN, SWEEP_FN, LambdaBot, buttons

HELPER = "helper-lambda-digest"


def _failed_executions(lam: LambdaBot, at: datetime) -> None:
    rows = [{"execution_id": f"exec-lambda-{n}", "helper_id": HELPER,
             "account_id": demo.DEMO_ACCOUNT_ID, "status": "failed",
             "created_at": (at + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "error_message": f"contact {n} not found"} for n in range(3)]
    demo.write(lam.client, "dev", {"executions": rows})


def test_overlapping_digest_invocations_post_it_once(lam: LambdaBot) -> None:
    fired = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    # a daily schedule that fired an hour ago: the due window is the day before that
    lam.configure(DDB_BOT_DIGEST_CHANNEL="C_DIGEST", DDB_BOT_DIGEST_CRON=f"{fired.minute} {fired.hour} * * *")
    _failed_executions(lam, fired - timedelta(hours=3))

    # the first invocation holds the window's lock and is still posting when the second runs
    gate = threading.Event()
    lam.slack.gates["/api/chat.postMessage"] = gate
    first: list[Run] = []
    runner = threading.Thread(target=lambda: first.append(lam.scheduled(DIGEST_FN)))
    runner.start()
    try:
        lam.slack.wait_for("/api/chat.postMessage", timeout=60)
        second = lam.scheduled(DIGEST_FN)
    finally:
        gate.set()
        runner.join(60)
    assert second.returncode == 0 and first[0].returncode == 0
    assert [o.endswith("posted or in progress elsewhere") for o in second.response["outcomes"]] == [True]
    assert [o.endswith(": posted") for o in first[0].response["outcomes"]] == [True]
    # a later tick (the schedule fires every few minutes) finds it posted
    third = lam.scheduled(DIGEST_FN)
    assert third.response["outcomes"] == second.response["outcomes"]
    posts = lam.slack.find("/api/chat.postMessage")
    assert len(posts) == 1 and posts[0].body["channel"] == "C_DIGEST"

    # its "Show executions" button, on Lambda too
    show = buttons(posts[0].body)[ids.SHOW_EXECUTIONS]
    assert json.loads(show)["h"] == HELPER
    assert lam.sender.click(ids.SHOW_EXECUTIONS, show, user="U_BOB").status == 200
    listing = lam.answers(f"Failed executions of {HELPER}")[0]
    assert "exec-lambda-0" in json.dumps(listing) and listing["replace_original"] is False


def test_sweep_expires_an_overdue_request_and_updates_its_message(lam: LambdaBot) -> None:
    assert lam.sender.slash("update helpers helper-0006 set enabled=false").status == 200
    rid = buttons(lam.posts("C_APPROVALS", "helper-0006")[0])[ids.APPROVE]
    lam.settle()
    lam.client.update_item(TableName="mfh-dev-ddb-bot", Key={"pk": {"S": "REQ"}, "sk": {"S": rid}},
                           UpdateExpression="SET expires_at = :past",
                           ExpressionAttributeValues={":past": {"N": "1"}})
    run = lam.scheduled(SWEEP_FN)
    assert run.returncode == 0 and run.response["expired"] >= 1
    update: dict[str, Any] = lam.calls("/api/chat.update", rid)[0].body
    assert update["channel"] == "C_APPROVALS" and "EXPIRED" in json.dumps(update)
    item = lam.client.get_item(TableName="mfh-dev-ddb-bot", Key={"pk": {"S": "REQ"}, "sk": {"S": rid}},
                               ConsistentRead=True)["Item"]
    assert item["status"] == {"S": "EXPIRED"}
