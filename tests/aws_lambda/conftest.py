"""The bot as AWS Lambda runs it: every invocation a fresh process that ends with its handler.

One DynamoDB endpoint with the demo data (moto's server, or DynamoDB Local with
``DDB_TEST_ENGINE``) serves the whole package; tests touch different items, so they need no
reset. Each test gets a fake Slack and the functions' environment pointing at it; the
Invoke API stand-in (``testkit.lambda_invoke``) runs the asynchronous invocations the
Slack function starts for its work. After each test every invocation must have ended
cleanly, with no thread left running when its handler returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testkit import engine
from testkit.fake_slack import Call, FakeSlack
from testkit.lambda_invoke import LambdaSender, LambdaStub, Run

SIGNING_SECRET = "lambda-signing-secret-9d1e4c7a0b2f"
BOT_TOKEN = "xoxb-2222-3333-lambdatoken"
SLACK_FN, DIGEST_FN, SWEEP_FN = "ddb-bot-dev-slack", "ddb-bot-dev-digest", "ddb-bot-dev-sweep"
FUNCTIONS = {SLACK_FN: "bot.aws_lambda.slack_events", DIGEST_FN: "bot.aws_lambda.digest",
             SWEEP_FN: "bot.aws_lambda.sweep"}


@pytest.fixture(scope="package")
def endpoint() -> Iterator[engine.Endpoint]:
    from dynamo import demo

    with engine.endpoint("lambda") as ep:
        client = ep.client()
        engine.create_tables(client)
        demo.seed(client, "dev")
        yield ep


@pytest.fixture(scope="package")
def stub() -> Iterator[LambdaStub]:
    stub = LambdaStub(FUNCTIONS).start_serving()
    yield stub
    stub.stop()


@dataclass
class LambdaBot:
    """The deployed bot as a test sees it: signed requests in, the fake Slack out."""

    stub: LambdaStub
    slack: FakeSlack
    sender: LambdaSender
    client: Any  # DynamoDB, for what a test checks in the tables
    first_run: int  # runs before this test began
    errors_expected: bool = False  # the test provokes an error that is logged
    failures_expected: int = 0  # invocations the test expects to fail

    def configure(self, **settings: str) -> None:
        """Settings of the functions (environment variables), as serverless.yml sets them."""
        self.stub.env.update(settings)

    def settle(self) -> list[Run]:
        """Wait for every asynchronous invocation; the runs of this test so far."""
        self.stub.wait_idle(60)
        return self.stub.runs[self.first_run:]

    def scheduled(self, function: str) -> Run:
        """An EventBridge schedule firing ``function``, synchronously."""
        event = {"version": "0", "id": "evt-1", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "123456789012",
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "region": "us-west-2", "resources": [], "detail": {}}
        return self.stub.invoke(function, event)

    def answers(self, needle: str = "", n: int = 1) -> list[dict[str, Any]]:
        """Bodies sent to response_url that contain ``needle``, once ``n`` arrived."""
        return [c.body for c in self.slack.wait_for(
            "/response/", n, timeout=60, where=lambda c: needle in json.dumps(c.body))]

    def posts(self, channel: str, needle: str = "", n: int = 1) -> list[dict[str, Any]]:
        return [c.body for c in self.slack.wait_for(
            "/api/chat.postMessage", n, timeout=60,
            where=lambda c: c.body.get("channel") == channel and needle in json.dumps(c.body))]

    def calls(self, path: str, needle: str = "", n: int = 1) -> list[Call]:
        return self.slack.wait_for(path, n, timeout=60,
                                   where=lambda c: needle in json.dumps(c.body))


@pytest.fixture
def lam(endpoint: engine.Endpoint, stub: LambdaStub, slack: FakeSlack) -> Iterator[LambdaBot]:
    stub.wait_idle(60)
    stub.env = {**endpoint.env(), "AWS_REGION": endpoint.region, "STAGE": "dev",
                "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url, "DDB_BOT_APPROVAL_CHANNEL": "C_APPROVALS",
                "DDB_BOT_OPEN_ACCESS": "true"}  # tests act as many people
    bot = LambdaBot(stub, slack, LambdaSender(stub, SLACK_FN, SIGNING_SECRET, slack.response_url()),
                    endpoint.client(), len(stub.runs))
    yield bot
    runs = bot.settle()
    failed = [(r.function, r.returncode, r.output.get("error"), r.stderr[-2000:])
              for r in runs if r.returncode != 0]
    assert len(failed) == bot.failures_expected, f"invocations failed: {failed}"
    left = [(r.function, r.threads) for r in runs if r.threads]
    assert not left, f"threads still running when the handler returned: {left}"
    errors = [line for r in runs for line in r.stderr.splitlines() if '"level":"ERROR"' in line]
    assert bool(errors) == bot.errors_expected, f"errors logged: {errors}"


def buttons(msg: dict[str, Any]) -> dict[str, str]:
    """action_id → value of a message's buttons (actions blocks and section accessories)."""
    out = {}
    for b in msg.get("blocks", []):
        elements = b.get("elements", []) if b.get("type") == "actions" else [b.get("accessory") or {}]
        for el in elements:
            if el.get("type") == "button":
                out.setdefault(el["action_id"], el.get("value", ""))
    return out


def who(user: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "team_id": "T1"}


def change_submission(table: str, key: str, set_: str, user: str = "U_ALICE") -> dict[str, Any]:
    """The change modal submitted as Slack sends it (input values raw)."""
    from bot.render import ids
    from bot.render.modals import ACTION

    def text(v: str) -> dict[str, Any]:
        return {"type": "plain_text_input", "value": v or None}

    values = {
        "table": {ACTION["table"]: {"type": "static_select", "selected_option": {
            "value": table, "text": {"type": "plain_text", "text": table}}}},
        "key": {ACTION["key"]: text(key)}, "set": {ACTION["set"]: text(set_)},
        "remove": {ACTION["remove"]: text("")},
        "channel": {ACTION["channel"]: {"type": "conversations_select",
                                        "selected_conversation": "C_REQS"}},
    }
    return {"type": "view_submission", "team": {"id": "T1"}, "user": who(user), "api_app_id": "A1",
            "trigger_id": "trigger-submit", "token": "legacy",
            "view": {"id": "V1", "type": "modal", "callback_id": ids.CHANGE_MODAL,
                     "private_metadata": '{"c": ""}', "state": {"values": values}}}
