"""Operations in-process: request log lines, JSON formatting, retries, health, draining."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from bot.logs import JsonFormatter, RequestInfo, bind
from testkit.fake_slack import FakeSlack


def _record(msg: str, *args: Any, exc: bool = False, **extra: Any) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom xoxb-1234567890-abcdefghij")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_json_formatter_one_object_per_line_secrets_masked() -> None:
    fmt = JsonFormatter(secrets=["plain-signing-secret-1234"])
    line = fmt.format(_record("token %s and %s", "xoxb-1111-2222-abcdefgh", "plain-signing-secret-1234",
                              exc=True, user="U1", detail={"auth": "Bearer abcdefghijklmnop"},
                              duration_ms=12.5))
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "WARNING" and data["logger"] == "bot.test" and data["ts"].endswith("Z")
    assert data["user"] == "U1" and data["duration_ms"] == 12.5
    assert "xoxb-" not in line and "plain-signing-secret-1234" not in line
    assert "abcdefghijklmnop" not in line and "[redacted]" in data["msg"]
    assert "ValueError" in data["exc"] and "xoxb-1234567890" not in data["exc"]


def test_request_line_waits_for_every_job_of_the_request(caplog: pytest.LogCaptureFixture) -> None:
    from bot.logs import CURRENT

    info = RequestInfo("block_actions", "U1", "C1", "ddb_next_page")
    token = CURRENT.set(info)
    try:
        gate = threading.Event()
        jobs = [bind(lambda: None), bind(gate.wait)]
    finally:
        CURRENT.reset(token)
    with caplog.at_level(logging.INFO, logger="bot.requests"):
        threads = [threading.Thread(target=j) for j in jobs]
        for t in threads:
            t.start()
        threads[0].join()
        assert not [r for r in caplog.records if r.name == "bot.requests"]  # one still running
        gate.set()
        threads[1].join()
    lines = [r for r in caplog.records if r.name == "bot.requests"]
    assert len(lines) == 1 and lines[0].outcome == "ok" and lines[0].target == "ddb_next_page"


def test_one_log_line_per_slash_command_and_button(bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.requests"):
        assert bot.sender.slash("scan helpers --limit 2").status == 200
        answer = bot.slack.wait_for("/response/")[0]
        value = next(e["value"] for b in answer.body["blocks"] for e in b.get("elements", [])
                     if e.get("action_id") == "ddb_next_page")
        assert bot.sender.click("ddb_next_page", value).status == 200
        bot.slack.wait_for("/response/", count=2)
        deadline = time.monotonic() + 5
        while len([r for r in caplog.records if r.name == "bot.requests"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    slash, click = [r for r in caplog.records if r.name == "bot.requests"]
    assert (slash.kind, slash.command, slash.outcome, slash.user) == ("command", "scan", "ok", "U_ALICE")
    assert slash.ack_ms is not None and slash.duration_ms >= slash.ack_ms
    assert slash.consumed_capacity > 0  # what the scan cost, as DynamoDB reported it
    assert slash.request_id != click.request_id
    assert (click.kind, click.target, click.command, click.outcome) == (
        "block_actions", "ddb_next_page", "scan", "ok")


def test_web_api_rate_limit_is_retried_after_retry_after(slack: FakeSlack) -> None:
    from bot.config import load_settings
    from bot.messaging.client import web_client

    class _S:
        settings = load_settings(slack_bot_token="xoxb-test-token", slack_api_url=slack.api_url)

    slack.scripted["/api/chat.postMessage"] = [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    start = time.monotonic()
    resp = web_client(_S()).chat_postMessage(channel="C1", text="hello")  # type: ignore[arg-type]
    assert resp["ok"]
    calls = slack.find("/api/chat.postMessage")
    assert len(calls) == 2  # the 429, then the one post that went through
    assert calls[1]["at"] - calls[0]["at"] >= 0.9 and time.monotonic() - start >= 0.9


def test_dynamodb_client_uses_botocore_standard_retries() -> None:
    from dynamo.aws import dynamodb_client

    client = dynamodb_client("us-west-2")
    retries = client.meta.config.retries
    # botocore retries throttling and 5xx itself, with backoff (not adaptive mode: its
    # client-wide rate limiter slows every table after a few throttles on one);
    # ``max_attempts: 6`` means six retries, which botocore records as seven attempts
    assert retries["mode"] == "standard" and retries["total_max_attempts"] == 7


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_only_server_reports_the_socket_connection() -> None:
    """Socket Mode serves GET /healthz on PORT too; it fails while the WebSocket is down."""
    from bot.server import start_http

    connected = threading.Event()
    server = start_http(None, "127.0.0.1", 0)
    server.health = connected.is_set
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert _get(base + "/healthz")[0] == 503
        connected.set()
        assert _get(base + "/healthz") == (200, '{"ok": true}')
        req = urllib.request.Request(base + "/slack/events", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 404  # no Slack app behind a health-only server
    finally:
        server.close()


def test_draining_server_answers_then_refuses(bot: Any) -> None:
    """After SIGTERM: requests still arriving are answered (and their connection closed)
    until the server is idle; after that, stragglers on old connections get 503."""
    from bot.server import start_http
    from testkit.signed import SlackSender
    from tests.e2e.conftest import SIGNING_SECRET

    server = start_http(bot.app, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    sender = SlackSender(base, SIGNING_SECRET, bot.slack.response_url())
    try:
        server.wsgi.draining = True
        assert _get(base + "/healthz")[0] == 503  # load balancers stop sending
        assert sender.slash("tables").status == 200
        bot.slack.wait_for("/response/")
        assert server.wsgi.close_when_idle(timeout=1)
        assert sender.slash("tables").status == 503
    finally:
        server.close()


def test_request_line_names_what_ran_but_never_its_arguments() -> None:
    from bot.logs import _describe

    assert _describe({"command": "/ddb", "text": "get users user:abc"}) == ("command", "/ddb get")
    assert _describe({"command": "/ddb", "text": "ada@example.com"}) == ("command", "/ddb ?")
    assert _describe({"command": "/ddb", "text": ""}) == ("command", "/ddb help")
    assert _describe({"type": "block_actions", "actions": [{"action_id": "ddb_approve"}]}) == (
        "block_actions", "ddb_approve")
    assert _describe({"type": "view_submission", "view": {"callback_id": "ddb_change"}}) == (
        "view_submission", "ddb_change")
