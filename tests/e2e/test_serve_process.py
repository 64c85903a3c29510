"""``python -m bot serve`` as deployed: a real process, a DynamoDB endpoint, a fake Slack.

It checks the operational promises: ready quickly without ever importing moto, JSON log
lines without secrets, and on SIGTERM the work already acknowledged still finishes (the
answer reaches response_url) before the process exits 0.
"""

from __future__ import annotations

import json
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

from testkit import engine
from testkit.engine import Endpoint
from testkit.fake_slack import FakeSlack
from testkit.signed import SlackSender

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "serve-proc-signing-secret-5f0c9a1e"
BOT_TOKEN = "xoxb-1111-2222-serveproctoken"
RESPONSE_DELAY = 1.5


class SlowResponses(FakeSlack):
    """response_url answers after a delay, so the bot's work is still in flight at SIGTERM."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: float | None = None

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.startswith("/response/"):
            time.sleep(RESPONSE_DELAY)
            self.answered_at = time.monotonic()
        return super().answer(path, body)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    """A DynamoDB endpoint (moto's server or DynamoDB Local, ``testkit.engine``) holding the
    declared tables, the state table and demo data."""
    from dynamo import demo

    with engine.endpoint("serve") as ep:
        client = ep.client()
        engine.create_tables(client)
        demo.seed(client, "dev")
        yield ep


def _env(endpoint: Endpoint, slack: FakeSlack, tmp_path: Path,
         **extra: str) -> tuple[dict[str, str], int]:
    """The process environment (and its PORT), with a `moto` that refuses to import first
    on the path: the serving modes must never need it."""
    blocker = tmp_path / "blocker" / "moto"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        'raise ImportError("moto imported on the serve start-up path")\n')
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DDB_BOT_", "AWS_ENDPOINT"))}
    env.update({
        "PYTHONPATH": f"{blocker.parent}{os.pathsep}{ROOT}", "PORT": str(port),
        **endpoint.env(), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url,
        # the whole workspace, said outright (serve refuses empty lists otherwise: bot.access)
        "DDB_BOT_OPEN_ACCESS": "true", **extra,
    })
    return env, port


def _start(endpoint: Endpoint, slack: FakeSlack, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    env, port = _env(endpoint, slack, tmp_path, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, port


def _wait_ready(proc: subprocess.Popen[str], port: int, timeout: float = 20) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("serve did not become ready")


def test_sigterm_finishes_acknowledged_work_and_logs_json(endpoint: Endpoint, tmp_path: Path) -> None:
    slack = SlowResponses().start()
    proc, port = _start(endpoint, slack, tmp_path)
    try:
        ready = _wait_ready(proc, port)
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack.response_url())
        acked = sender.slash("count executions --exact")
        assert acked.status == 200
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        _, stderr = proc.communicate(timeout=20)
        exited = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
        slack.stop()

    assert proc.returncode == 0, stderr
    # the acknowledged command still answered, and the process waited for it
    answers = slack.find("/response/")
    assert len(answers) == 1 and "executions" in json.dumps(answers[0].body)
    assert slack.answered_at is not None and slack.answered_at <= exited
    assert exited - signalled < 10
    assert ready < 10  # generous for a loaded CI machine; README gives the measured figure

    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # all JSON
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    done = [line for line in lines if line.get("kind") == "command"]
    assert len(done) == 1, lines
    line = done[0]
    assert line["command"] == "count" and line["outcome"] == "ok" and line["user"] == "U_ALICE"
    assert line["target"] == "/ddb count" and line["request_id"]
    assert line["duration_ms"] >= RESPONSE_DELAY * 1000 > line["ack_ms"]
    assert any("stopped after finishing work" in line["msg"] for line in lines)
    assert SIGNING_SECRET not in stderr and BOT_TOKEN not in stderr
    assert "moto imported" not in stderr


class NoWebSocket(FakeSlack):
    """apps.connections.open answers with a WebSocket URL where nothing listens."""

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/apps.connections.open"):
            return {"ok": True, "url": "ws://127.0.0.1:9/link"}
        return super().answer(path, body)


def test_socket_mode_serves_health_and_stops_on_sigterm(endpoint: Endpoint, tmp_path: Path) -> None:
    """Socket Mode: /healthz on PORT reports the WebSocket (down here: 503); SIGTERM → 0."""
    app_token = "xapp-1-A111-222-socketmodetoken"
    slack = NoWebSocket().start()
    env, port = _env(endpoint, slack, tmp_path, SLACK_APP_TOKEN=app_token)
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        status = None
        while status is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.05)
        assert status == 503  # up, but not connected to Slack
        slack.wait_for("/api/apps.connections.open")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        slack.stop()
    assert proc.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any("started in Socket Mode" in line["msg"] for line in lines)
    assert app_token not in stderr and BOT_TOKEN not in stderr and "moto imported" not in stderr
