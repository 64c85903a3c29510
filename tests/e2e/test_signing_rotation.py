"""Rotating the signing secret without an outage: while ``SLACK_SIGNING_SECRET_PREVIOUS`` is
set, requests signed with either secret are served (the log line says which verified);
anything else is refused with 401 before any listener runs, and nothing is written."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from dynamo import demo
from testkit import scan_all
from testkit.signed import SlackSender
from tests.e2e.conftest import SIGNING_SECRET

OLD_SECRET = "old-signing-secret-before-rotation-77"
WRONG_SECRET = "not-a-secret-slack-ever-had-0000"


def _sender(bot: Any, secret: str) -> SlackSender:
    return SlackSender(f"http://127.0.0.1:{bot.port}", secret, bot.slack.response_url())


def _checks(result: str) -> float:
    return REGISTRY.get_sample_value("ddb_bot_signature_checks_total", {"result": result}) or 0


def _line(caplog: pytest.LogCaptureFixture, n: int) -> list[logging.LogRecord]:
    deadline = time.monotonic() + 10
    while True:
        lines = [r for r in caplog.records if r.name == "bot.requests"]
        if len(lines) >= n:
            return lines
        assert time.monotonic() < deadline, "no request line"
        time.sleep(0.05)


def test_both_secrets_verify_during_a_rotation_and_the_log_says_which(
        make_bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bot = make_bot(slack_signing_secret_previous=OLD_SECRET)
    current, previous = _checks("current"), _checks("previous")
    assert _sender(bot, SIGNING_SECRET).slash(f"get users {demo.DEMO_USER_ID}").status == 200
    assert _line(caplog, 1)[0].signed_with == "current"  # type: ignore[attr-defined]
    assert _sender(bot, OLD_SECRET).slash(f"get users {demo.DEMO_USER_ID}").status == 200
    assert _line(caplog, 2)[1].signed_with == "previous"  # type: ignore[attr-defined]
    answers = bot.slack.wait_for("/response/", 2)
    assert all(demo.DEMO_EMAIL in json.dumps(a.body) for a in answers)
    assert (_checks("current"), _checks("previous")) == (current + 1, previous + 1)


@pytest.mark.parametrize("rotating", [True, False])
def test_a_wrong_secret_is_refused_and_nothing_runs(
        make_bot: Any, rotating: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS",
                   **({"slack_signing_secret_previous": OLD_SECRET} if rotating else {}))
    before = scan_all(bot.services.client)
    invalid = _checks("invalid")
    typed = f"update users {demo.DEMO_USER_ID} set status=disabled"
    # after the rotation is over, the old secret is as wrong as any other
    refused = [WRONG_SECRET] if rotating else [WRONG_SECRET, OLD_SECRET]
    for secret in refused:
        resp = _sender(bot, secret).slash(typed)
        assert resp.status == 401
    assert bot.services.work.wait_idle(5)
    assert bot.slack.calls == []  # no answer, no request posted
    assert scan_all(bot.services.client) == before  # no request item, no audit record
    assert _checks("invalid") == invalid + len(refused)
    assert not [r for r in caplog.records if r.name == "bot.requests"]
    warned = [r for r in caplog.records if r.name == "bot.edge"]
    assert len(warned) == len(refused) and "signature" in warned[0].getMessage()
    assert not [r for r in caplog.records if "status=disabled" in r.getMessage()]  # no body logged
