"""``python -m bot`` as a user runs it: demo, console, init, seed (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from dynamo import demo
from testkit import engine
from testkit.engine import Endpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DDB_BOT_", "AWS_ENDPOINT"))}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=base, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_one_command_prints_and_exits_zero() -> None:
    proc = run("demo", "-c", f"/ddb user {demo.DEMO_EMAIL}")
    assert proc.returncode == 0, proc.stderr
    assert demo.DEMO_USER_ID in proc.stdout


def test_demo_error_goes_to_stderr_with_nonzero_exit() -> None:
    proc = run("demo", "-c", "/ddb get users")
    assert proc.returncode != 0
    assert "missing key" in proc.stderr and "/ddb get" in proc.stderr
    assert proc.stdout.strip() == ""


def test_demo_repl_next_page_and_no_secrets() -> None:
    script = "\n".join([
        f"/ddb auth {demo.DEMO_CONNECTION_ID}",
        "/ddb executions acct-0001 --limit 2",
        "next",
        "as U_OTHER",
        "/ddb bogus",
        "quit",
    ]) + "\n"
    proc = run("demo", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for secret in demo.DEMO_SECRETS:
        assert secret not in out
    assert "[redacted]" in proc.stdout
    assert "now acting as U_OTHER" in proc.stdout
    assert "unknown subcommand" in proc.stderr


def test_bad_configuration_names_the_variable() -> None:
    proc = run("demo", "-c", "/ddb tables", env={"STAGE": "Bad Stage!"})
    assert proc.returncode == 2
    assert "STAGE" in proc.stderr


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    """An empty DynamoDB over HTTP: moto's server or DynamoDB Local (``testkit.engine``)."""
    with engine.endpoint("cli") as ep:
        yield ep


def test_init_seed_console_against_a_dynamodb_endpoint(endpoint: Endpoint) -> None:
    env: dict[str, Any] = {**endpoint.env(), "STAGE": "qa"}
    proc = run("init", "--all", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "mfh-qa-ddb-bot: created" in proc.stdout
    assert "mfh-qa-users" in proc.stdout
    proc = run("init", env=env)
    assert "mfh-qa-ddb-bot: exists" in proc.stdout
    proc = run("seed", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    proc = run("console", "-c", f"/ddb user {demo.DEMO_EMAIL}", env=env)
    assert proc.returncode == 0, proc.stderr
    assert demo.DEMO_USER_ID in proc.stdout
    proc = run("console", "-c", "/ddb describe users", env=env)
    assert "matches the declared schema" in proc.stdout
    proc = run("console", "-c", "/ddb get mfh-dev-users user:x", env=env)
    assert proc.returncode != 0 and "outside" in proc.stderr


def test_demo_on_dynamodb_local_answers_from_the_real_engine() -> None:
    """``demo --engine dynamodb-local``: DynamoDB Local started, seeded, used, stopped."""
    import re
    import socket

    from dynamo.local_engine import DynamoDBLocalUnavailable, require_java

    try:
        require_java()
    except DynamoDBLocalUnavailable as exc:  # ./dev test skips the whole tier then, too
        pytest.skip(str(exc))
    proc = run("demo", "--engine", "dynamodb-local", stdin="/ddb describe users\nquit\n",
               timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Items: 12 (approximate)" in proc.stdout
    assert "PITR: unknown" in proc.stdout  # DynamoDB Local has no PITR (moto: DISABLED)
    assert "none: matches the declared schema" in proc.stdout
    url = re.search(r"demo data loaded \(DynamoDB Local on http://127\.0\.0\.1:(\d+)\)",
                    proc.stdout)
    assert url, proc.stdout
    with pytest.raises(OSError):  # stopped when the demo ended
        socket.create_connection(("127.0.0.1", int(url.group(1))), timeout=2).close()


def test_demo_help_names_both_engines() -> None:
    proc = run("demo", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "--engine {moto,dynamodb-local}" in text
    assert "moto in this process (default)" in text and "DynamoDB Local" in text
