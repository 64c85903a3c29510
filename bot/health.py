"""What the bot depends on, checked: readiness (``GET /readyz``) and ``python -m bot check``.

Liveness and readiness are separate. ``/healthz`` says only that the process serves (the
orchestrator restarts it when that stops). ``/readyz`` also reads the state table (one
``GetItem``: the credentials, the network path and the table, with the permission the bot
already has) and asks Slack ``auth.test`` (the token), on clients of their own that try
once with short timeouts, so a check answers within seconds whatever the dependency does.
Results are cached for ``ttl`` seconds, so probes from several places cost one check;
the answer is 503 naming each failing dependency and why.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from bot import metrics
from bot.config import ConfigError, Settings, slack_mode

TIMEOUT_S = 2.0  # each dependency's connect and read timeout in a check
READY_TTL_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str  # dynamodb, slack, socket
    ok: bool
    detail: str
    ms: float


def _timed(name: str, run: Callable[[], tuple[bool, str]]) -> Check:
    start = time.monotonic()
    try:
        ok, detail = run()
    except Exception as exc:  # a check reports; it never raises
        ok, detail = False, f"check failed: {type(exc).__name__}"
    return Check(name, ok, detail, round((time.monotonic() - start) * 1000, 1))


def dynamodb_check(client: Any, table: str) -> Callable[[], Check]:
    """Read one (absent) item of the state table: proves credentials, network and table."""

    def run() -> tuple[bool, str]:
        try:
            client.get_item(TableName=table, Key={"pk": {"S": "READYZ"}, "sk": {"S": "-"}},
                            ProjectionExpression="pk")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            if code == "ResourceNotFoundException":
                return False, f"state table {table} does not exist (python -m bot init)"
            return False, f"state table {table}: {code}"
        except BotoCoreError as exc:
            return False, f"unreachable ({type(exc).__name__})"
        return True, f"state table {table} readable"

    return lambda: _timed("dynamodb", run)


def slack_check(client: Any) -> Callable[[], Check]:
    """``auth.test`` with the bot token: proves Slack's API answers and takes the token."""
    from slack_sdk.errors import SlackApiError

    def run() -> tuple[bool, str]:
        try:
            resp = client.auth_test()
        except SlackApiError as exc:
            return False, f"auth.test: {exc.response.get('error') or exc.response.status_code}"
        except OSError as exc:
            return False, f"unreachable ({type(exc).__name__})"
        return True, f"team {resp.get('team_id')} as {resp.get('user')} ({resp.get('user_id')})"

    return lambda: _timed("slack", run)


def probe_checks(settings: Settings) -> dict[str, Callable[[], Check]]:
    """The checks of ``settings``' dependencies, on clients that try once, quickly."""
    from slack_sdk import WebClient

    from dynamo.aws import dynamodb_client

    ddb = dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb,
                          max_attempts=1, connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S,
                          max_pool_connections=2)
    checks = {"dynamodb": dynamodb_check(ddb, settings.state_table)}
    if settings.slack_bot_token is not None:
        kwargs: dict[str, Any] = {}
        if settings.slack_api_url:
            kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
        # its own logger, silent: a failure is the check's answer, not an error line per probe
        quiet = logging.getLogger("bot.health.slack_client")
        quiet.setLevel(logging.CRITICAL)
        slack = WebClient(token=settings.slack_bot_token.get_secret_value(),
                          timeout=int(TIMEOUT_S) + 1, retry_handlers=[], logger=quiet, **kwargs)
        checks["slack"] = slack_check(slack)
    return checks


Checks = dict[str, Callable[[], Check]]


class Readiness:
    """The checks, run side by side and cached for ``ttl`` seconds; while one refresh runs,
    other callers get the previous answer rather than a second round of checks.

    ``checks`` may be a function building them, called on the first check: their clients
    (a boto3 client costs ~70 ms of CPU) are then built after the port is open, not
    before the process is ready."""

    def __init__(self, checks: Checks | Callable[[], Checks], ttl: float = READY_TTL_S) -> None:
        self._checks = checks
        self.ttl = ttl
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._at = float("-inf")
        self._last: list[Check] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ddb-readyz")

    @property
    def checks(self) -> Checks:
        if callable(self._checks):
            self._checks = self._checks()
        return self._checks

    def results(self) -> list[Check]:
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._last
            last = self._last
        if not self._refreshing.acquire(blocking=not last):
            return last  # another caller is refreshing: its answer is seconds away
        try:
            with self._lock:
                if time.monotonic() - self._at < self.ttl:
                    return self._last
            futures = [self._pool.submit(check) for check in self.checks.values()]
            done = [f.result() for f in futures]
            for check in done:
                metrics.dependency(check.name, check.ok)
            with self._lock:
                self._last, self._at = done, time.monotonic()
            return done
        finally:
            self._refreshing.release()

    def answer(self) -> tuple[bool, str]:
        """(ready, JSON body): ``failing`` names each dependency that failed, and why."""
        checks = self.results()
        failing = [c for c in checks if not c.ok]
        body = {"ok": not failing, "failing": [f"{c.name}: {c.detail}" for c in failing],
                "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"}
                           for c in checks}}
        return not failing, json.dumps(body)


# -- python -m bot check -------------------------------------------------------------------
def _shown(name: str, value: object) -> str:
    """A setting as ``check`` prints it: secrets as their kind and length only."""
    if value is None:
        return "(not set)"
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        kind = raw[:5] + "…" if raw.startswith(("xoxb-", "xapp-")) else "set"
        return f"{kind} ({len(raw)} characters, masked)"
    if isinstance(value, list):
        return ",".join(value) or "(any)"
    return str(value)


def check_command(settings: Settings, out: Any = None) -> int:
    """Print the effective configuration, then check each connection; 0 all passed,
    1 a connection failed, 2 the configuration is incomplete."""
    out = out or sys.stdout
    print("ddb-bot configuration (environment and .env; secrets masked):", file=out)
    for name in Settings.model_fields:
        print(f"  {name.upper():34} {_shown(name, getattr(settings, name))}", file=out)
    print(f"  {'(state table)':34} {settings.state_table}", file=out)
    try:
        mode = slack_mode(settings, None)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"  {'(mode of python -m bot)':34} {mode}", file=out)
    print("connections:", file=out)
    checks = probe_checks(settings)
    failed = False
    for check in [run() for run in checks.values()]:
        failed |= not check.ok
        print(f"  {check.name:10} {'ok  ' if check.ok else 'FAIL'} {check.detail} "
              f"({check.ms:.0f} ms)", file=out)
    if "slack" not in checks:
        print("  slack      skipped: SLACK_BOT_TOKEN is not set", file=out)
    return 1 if failed else 0
