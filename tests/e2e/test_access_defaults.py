"""End to end: closed by default, one workspace.

- ``serve`` and ``socket`` do not start while DDB_BOT_READERS or DDB_BOT_APPROVERS is empty
  (everyone in the workspace would read PII and approve writes) unless
  DDB_BOT_OPEN_ACCESS=true says so is meant; then the log warns at start and ``/ddb help``
  tells admins. Real processes, a fake Slack.
- A request from another workspace (or org) than the one ``auth.test`` names for the bot's
  token is refused before anything is read: signed requests into the served bot, with
  every DynamoDB call counted.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.render import ids
from dynamo import demo
from testkit.fake_slack import FakeSlack
from testkit.signed import SlackSender

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-access-defaults-token"
NOWHERE = "http://127.0.0.1:9"  # no DynamoDB: the refusals come before any is needed
USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}


# -- start-up ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(slack: FakeSlack, **extra: str) -> tuple[dict[str, str], int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DDB_BOT_", "AWS_ENDPOINT"))}
    env.update({"PYTHONPATH": str(ROOT), "PORT": str(port), "AWS_ENDPOINT_URL_DYNAMODB": NOWHERE,
                "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, **extra})
    return env, port


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize(("mode", "lists", "named", "not_named"), [
    ("serve", {}, ["DDB_BOT_READERS", "DDB_BOT_APPROVERS"], []),
    ("serve", {"DDB_BOT_READERS": "U_READER"}, ["DDB_BOT_APPROVERS"], ["DDB_BOT_READERS"]),
    ("socket", {"DDB_BOT_APPROVERS": "S0BOSSES"}, ["DDB_BOT_READERS"], ["DDB_BOT_APPROVERS"]),
    ("socket", {"DDB_BOT_OPEN_ACCESS": "false"}, ["DDB_BOT_READERS", "DDB_BOT_APPROVERS"], []),
])
def test_serve_and_socket_refuse_to_start_with_an_empty_list(
        slack: FakeSlack, mode: str, lists: dict[str, str], named: list[str],
        not_named: list[str]) -> None:
    secrets = ({"SLACK_SIGNING_SECRET": SECRET} if mode == "serve" else
               {"SLACK_APP_TOKEN": "xapp-1-A111-222-socketmodetoken"})
    env, port = _env(slack, **secrets, **lists)
    proc = subprocess.run([sys.executable, "-m", "bot", mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    for name in named:
        assert name in proc.stderr
    first_line = proc.stderr.strip().splitlines()[0]
    for name in not_named:
        assert f"{name} is empty" not in first_line and f"{name} and" not in first_line
    assert "DDB_BOT_OPEN_ACCESS=true" in proc.stderr  # how to say the whole workspace is meant
    assert not slack.calls  # it stopped before talking to Slack, let alone serving
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_open_access_starts_warns_in_the_log_and_tells_admins_in_help(slack: FakeSlack) -> None:
    env, port = _env(slack, SLACK_SIGNING_SECRET=SECRET, DDB_BOT_OPEN_ACCESS="true",
                     DDB_BOT_APPROVERS="U_BOSS")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        sender = SlackSender(f"http://127.0.0.1:{port}", SECRET, slack.response_url())
        assert sender.slash("help", user="U_BOSS").status == 200
        admin = json.dumps(slack.wait_for("/response/")[0].body)
        assert sender.slash("help", user="U_READER").status == 200
        reader = json.dumps(slack.wait_for("/response/", 2)[1].body)
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    warnings = [json.loads(line) for line in stderr.splitlines()
                if line.startswith("{") and "DDB_BOT_OPEN_ACCESS" in line]
    assert warnings and warnings[0]["level"] == "WARNING"
    assert "DDB_BOT_READERS is empty" in warnings[0]["msg"]
    assert "DDB_BOT_APPROVERS" not in warnings[0]["msg"]  # it is set
    # the approver (an admin) is told in /ddb help; a reader is not
    assert "DDB_BOT_OPEN_ACCESS=true" in admin and "DDB_BOT_READERS is empty" in admin
    assert "DDB_BOT_OPEN_ACCESS" not in reader and "ddb-bot commands" in reader


def test_help_names_every_open_list_to_everyone_who_may_approve(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_open_access=True, ddb_bot_readers=["U_READER"])
    assert bot.sender.slash("help", user="U_READER").status == 200
    text = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert "DDB_BOT_APPROVERS is empty, so everyone in the workspace approves" in text
    assert "DDB_BOT_READERS is empty" not in text


def test_closed_lists_without_open_access_say_nothing_in_help(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_readers=["U_READER"], ddb_bot_approvers=["U_BOSS"],
                   ddb_bot_open_access=True)  # nothing is left open: nothing to say
    assert bot.sender.slash("help", user="U_BOSS").status == 200
    assert "DDB_BOT_OPEN_ACCESS" not in json.dumps(bot.slack.wait_for("/response/")[0].body)


# -- one workspace ----------------------------------------------------------------------
class Reads:
    """Counts every DynamoDB call the bot's client makes."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)


def _event(bot: Any, event: dict[str, Any], team: str) -> Any:
    body = {"token": "legacy", "team_id": team, "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event}
    return bot.sender.post(json.dumps(body), content_type="application/json")


def _slash_from(bot: Any, text: str, team: str, enterprise: str | None = None) -> Any:
    form = {"token": "legacy", "team_id": team, "team_domain": "other", "channel_id": "C_OPS",
            "channel_name": "ops", "user_id": "U_ALICE", "user_name": "alice", "command": "/ddb",
            "text": text, "api_app_id": "A1", "response_url": bot.sender.response_url,
            "trigger_id": "t1", **({"enterprise_id": enterprise} if enterprise else {})}
    return bot.sender.post(urlencode(form))


def _settled(bot: Any) -> None:
    assert bot.services.work.wait_idle(10)
    time.sleep(0.2)  # anything that would have been sent after the ack has been


def test_requests_from_another_workspace_are_refused_before_any_read(
        make_bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    assert bot.sender.slash(f"update users {demo.DEMO_USER_ID} set company=Acme").status == 200
    posted = bot.slack.wait_for("/api/chat.postMessage")[0].body
    request_id = next(el["value"] for b in posted["blocks"] if b.get("type") == "actions"
                      for el in b["elements"] if el["action_id"] == ids.APPROVE)
    _settled(bot)
    answered, published = len(bot.slack.find("/response/")), len(bot.slack.find("/api/views"))
    reads = Reads(bot.services.client)

    refused = bot.sender.slash(f"get users {demo.DEMO_USER_ID}", team="T_OTHER")
    assert refused.status == 200 and "serves only the Slack workspace" in refused.body
    assert "workspace T_OTHER" in refused.body and demo.DEMO_EMAIL not in refused.body
    click = bot.sender.click(ids.APPROVE, request_id, user="U_BOB", team="T_OTHER")
    assert click.status == 200 and "serves only" in click.body
    home = _event(bot, {"type": "app_home_opened", "user": "U_BOB", "channel": "D_X",
                        "tab": "home", "event_ts": str(time.time())}, team="T_OTHER")
    assert home.status == 200
    # our workspace inside an org it is not in: refused too
    org = _slash_from(bot, "tables", team="T1", enterprise="E_OTHER")
    assert org.status == 200 and "org E_OTHER" in org.body
    _settled(bot)

    assert reads.calls == []  # nothing was read (nor written)
    assert len(bot.slack.find("/response/")) == answered  # nobody was answered with data
    logged = [r for r in caplog.records if r.name == "bot.requests"
              and getattr(r, "outcome", None) == "other_workspace"]
    assert len(logged) == 4  # each refusal has its request line, saying why
    assert len(bot.slack.find("/api/views")) == published
    assert bot.services.requests.get(request_id).status.value == "PENDING"
    item = bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"]
    assert item.get("company") != {"S": "Acme"}

    # the same request from the token's workspace is served
    assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    assert demo.DEMO_EMAIL in json.dumps(bot.slack.wait_for("/response/", answered + 1)[-1].body)


def test_an_org_wide_install_serves_its_whole_org_and_nothing_else(make_bot: Any) -> None:
    bot = make_bot()
    bot.slack.workspace = {"enterprise_id": "E1", "is_enterprise_install": True, "team": "Org"}
    assert _slash_from(bot, "tables", team="T2", enterprise="E1").status == 200
    assert "Tables of stage" in json.dumps(bot.slack.wait_for("/response/")[0].body)
    reads = Reads(bot.services.client)
    for team, enterprise in (("T3", "E2"), ("T2", None)):
        resp = _slash_from(bot, "tables", team=team, enterprise=enterprise)
        assert resp.status == 200 and "serves only" in resp.body
    _settled(bot)
    assert reads.calls == [] and len(bot.slack.find("/response/")) == 1


def test_until_auth_test_answers_every_request_is_refused(make_bot: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.edge.RETRY_S", 0.0)  # try auth.test again at the next request
    bot = make_bot()
    bot.slack.scripted["/api/auth.test"] = [(200, {"ok": False, "error": "invalid_auth"}, {})]
    reads = Reads(bot.services.client)
    refused = bot.sender.slash(f"get users {demo.DEMO_USER_ID}")
    assert refused.status == 200 and "has not yet confirmed" in refused.body
    _settled(bot)
    assert reads.calls == [] and not bot.slack.find("/response/")
    # auth.test answers now: the same request is served
    assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    assert demo.DEMO_EMAIL in json.dumps(bot.slack.wait_for("/response/")[0].body)
