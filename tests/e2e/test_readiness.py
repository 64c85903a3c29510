"""Liveness and readiness apart, and requests while a dependency is down.

``/healthz`` says the process serves; ``/readyz`` also reads the state table and asks
Slack ``auth.test``, cached, and answers 503 naming what fails. With Slack's Web API or
DynamoDB unreachable, every request is still acked, logged, and answered in words where
Slack (its response_url) can be reached: before, Bolt called ``auth.test`` on the request's
path and, with the Web API down, each request ended in a 500 after ~2.5 s of retries, with
no log line and no answer.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_app
from bot.config import load_settings
from bot.health import Readiness, probe_checks
from bot.server import HttpServer, start_http
from bot.services import Services
from dynamo import demo
from testkit.fake_slack import FakeSlack
from testkit.signed import SlackSender

ROOT = Path(__file__).resolve().parents[2]
SECRET = "readiness-signing-secret-8d1f"
TOKEN = "xoxb-4444-5555-readinesstoken"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connections are refused


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def served(ddb: Any, seeded: Any, slack: FakeSlack) -> Iterator[Any]:
    """Serve a bot with these settings (and optionally its own DynamoDB client)."""
    servers: list[HttpServer] = []

    def serve(client: Any = None, **overrides: Any) -> tuple[HttpServer, SlackSender, Services]:
        values = {"slack_bot_token": TOKEN, "slack_signing_secret": SECRET,
                  "slack_api_url": slack.api_url, **overrides}
        services = Services.build(load_settings(**values), client or ddb)
        server = start_http(build_app(services), "127.0.0.1", 0)
        servers.append(server)
        return server, SlackSender(f"http://127.0.0.1:{server.port}", SECRET,
                                   slack.response_url()), services

    yield serve
    for server in servers:
        server.close()


def test_readyz_checks_dynamodb_and_slack_and_names_what_fails(served: Any,
                                                               slack: FakeSlack) -> None:
    server, _sender, services = served()
    settings = services.settings
    server.wsgi.readiness = Readiness(probe_checks(settings), ttl=0)
    status, body = _get(server.port, "/readyz")
    assert status == 200 and body["ok"] and body["failing"] == []
    assert body["checks"]["dynamodb"]["ok"] and body["checks"]["slack"]["ok"]
    assert "UBOT" in body["checks"]["slack"]["detail"]

    closed = _closed_port()
    cases = [
        (settings.model_copy(update={"slack_api_url": f"http://127.0.0.1:{closed}/api/"}),
         "slack: unreachable"),
        (settings.model_copy(update={"aws_endpoint_url_dynamodb": f"http://127.0.0.1:{closed}"}),
         "dynamodb: unreachable"),
        (settings.model_copy(update={"ddb_bot_state_table": "mfh-dev-missing"}),
         "dynamodb: state table mfh-dev-missing does not exist (python -m bot init)"),
    ]
    for broken, named in cases:
        server.wsgi.readiness = Readiness(probe_checks(broken), ttl=0)
        status, body = _get(server.port, "/readyz")
        assert status == 503 and not body["ok"], body
        assert [f for f in body["failing"] if f.startswith(named)], (named, body)
        assert len(body["failing"]) == 1  # the other dependency still passes
        assert _get(server.port, "/healthz") == (200, {"ok": True})  # liveness: still serving

    # Slack answers, but refuses the token
    slack.scripted["/api/auth.test"] = [(200, {"ok": False, "error": "invalid_auth"}, {})]
    server.wsgi.readiness = Readiness(probe_checks(settings), ttl=0)
    status, body = _get(server.port, "/readyz")
    assert status == 503 and body["failing"] == ["slack: auth.test: invalid_auth"]


def test_readiness_is_cached_and_draining_is_not_ready(served: Any, slack: FakeSlack) -> None:
    server, _sender, services = served()
    server.wsgi.readiness = Readiness(probe_checks(services.settings), ttl=60)
    slack.clear()
    for _ in range(3):
        assert _get(server.port, "/readyz")[0] == 200
    assert len(slack.find("/api/auth.test")) == 1  # three probes, one check
    server.wsgi.draining = True
    status, body = _get(server.port, "/readyz")
    assert status == 503 and "stopping" in body["failing"][0]


def _request_lines(caplog: pytest.LogCaptureFixture, command: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.requests"
            and getattr(r, "command", None) == command]


def _wait_line(caplog: pytest.LogCaptureFixture, command: str) -> logging.LogRecord:
    deadline = time.monotonic() + 30
    while not _request_lines(caplog, command):
        assert time.monotonic() < deadline, "no request line"
        time.sleep(0.05)
    return _request_lines(caplog, command)[0]


def test_with_slacks_web_api_down_requests_are_acked_answered_and_logged(
        served: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    """The Web API (slack.com/api) goes down while response_url (hooks.slack.com) still
    answers: commands are acked at once, answered at response_url and logged."""
    caplog.set_level(logging.INFO)
    hooks = FakeSlack().start()  # response_url, apart from the Web API
    try:
        _server, sender, _services = served()
        sender = SlackSender(sender.base_url, SECRET, hooks.response_url())
        assert sender.slash("help").status == 200  # auth.test answered: the workspace is known
        assert _wait_line(caplog, "help").outcome == "ok"  # type: ignore[attr-defined]
        slack.stop()  # the Web API is gone
        resp = sender.slash(f"get users {demo.DEMO_USER_ID}")
        assert resp.status == 200  # was 500 when Bolt's auth.test ran on the request path
        answers = hooks.wait_for("/response/", 2)
        assert demo.DEMO_EMAIL in json.dumps(answers[1].body)
        line = _wait_line(caplog, "get")
        assert line.outcome == "ok" and line.ack_ms is not None  # type: ignore[attr-defined]
    finally:
        hooks.stop()


def test_with_slacks_web_api_down_from_the_start_each_request_is_told_why(
        served: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    """Before ``auth.test`` ever answered the token's workspace is unknown, and requests are
    refused (``bot.workspace``: closed, not open): still acked with the reason in words,
    which Slack shows the person, and logged."""
    from bot.workspace import UNKNOWN

    caplog.set_level(logging.INFO)
    _server, sender, _services = served(slack_api_url=f"http://127.0.0.1:{_closed_port()}/api/")
    for _ in range(2):
        resp = sender.slash(f"get users {demo.DEMO_USER_ID}")
        assert resp.status == 200 and resp.body == UNKNOWN  # was a 500 with an empty body
    deadline = time.monotonic() + 10
    while len(lines := [r for r in caplog.records if r.name == "bot.requests"]) < 2:
        assert time.monotonic() < deadline, "no request lines"
        time.sleep(0.05)
    assert [r.outcome for r in lines] == ["workspace_unknown"] * 2  # type: ignore[attr-defined]
    assert slack.calls == []  # nothing read, nothing answered elsewhere


def test_with_dynamodb_unreachable_the_person_is_told_in_words(
        served: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    from dynamo.aws import dynamodb_client

    caplog.set_level(logging.INFO)
    closed = f"http://127.0.0.1:{_closed_port()}"
    client = dynamodb_client("us-west-2", closed, max_attempts=2)
    _server, sender, _services = served(client, aws_endpoint_url_dynamodb=closed)
    assert sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    answer = json.dumps(slack.wait_for("/response/", timeout=30)[0].body)
    assert "DynamoDB could not be reached" in answer and "nothing was changed" in answer
    line = _wait_line(caplog, "get")
    assert line.outcome == "error"  # type: ignore[attr-defined]


# -- the real process ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table
    from testkit.moto import threaded_moto_server

    with threaded_moto_server() as url:
        client = dynamodb_client("us-west-2", url)
        create_platform_tables(client, "dev")
        create_state_table(client, "mfh-dev-ddb-bot")
        demo.seed(client, "dev")
        yield url


def test_serve_process_readyz_follows_slack_while_healthz_and_requests_go_on(
        endpoint: str, tmp_path: Path) -> None:
    slack = FakeSlack().start()
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_"))}
    env.update({"PYTHONPATH": str(ROOT), "PORT": str(port), "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "DDB_BOT_OPEN_ACCESS": "true"})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped = False
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            try:
                status, body = _get(port, "/readyz")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        assert status == 200 and set(body["checks"]) == {"dynamodb", "slack"}, body
        metrics_text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert 'ddb_bot_dependency_up{dependency="slack"} 1.0' in metrics_text

        slack.stop()  # Slack's API and response_url both gone
        stopped = True
        deadline = time.monotonic() + 30
        while (got := _get(port, "/readyz"))[0] != 503:  # once the 5 s cache runs out
            assert time.monotonic() < deadline, got
            time.sleep(0.2)
        assert [f for f in got[1]["failing"] if f.startswith("slack: unreachable")], got
        assert _get(port, "/healthz") == (200, {"ok": True})
        sender = SlackSender(f"http://127.0.0.1:{port}", SECRET, slack.response_url())
        assert sender.slash("help").status == 200  # acked; its answer cannot be delivered
        proc.send_signal(signal.SIGTERM)  # the stop waits for that work, then logs its line
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if not stopped:
            slack.stop()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    done = [x for x in lines if x.get("logger") == "bot.requests" and x.get("command") == "help"]
    assert len(done) == 1 and done[0]["outcome"] == "exception", done
    assert done[0]["error"] in ("URLError", "ConnectionRefusedError")
    assert proc.returncode == 0
