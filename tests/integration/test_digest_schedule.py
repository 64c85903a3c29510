"""The scheduled digest: posted exactly once per window through the Web API, whatever
the replicas, crashes, Slack 429s or DynamoDB faults; missed runs coalesce; the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from bot.messaging.client import web_client
from bot.scheduler import DIGEST_LEASE_SECONDS, digest_command, digest_tick, start_scheduler
from dynamo.aws import dynamodb_client
from dynamo.locks import WindowLocks
from dynamo.schedule import iso
from testkit import REGION, race
from testkit.fake_slack import FakeSlack
from tests.integration import digest_data as data

CHANNEL = "C_DIGEST"
POST = "/api/chat.postMessage"


@pytest.fixture
def replica(ddb: Any, make_services: Any, slack: FakeSlack) -> Any:
    """A bot replica: its own Services and Web API client (``replica(own_client=True)``
    also gets its own boto3 client, as another process would)."""

    def make(own_client: bool = False) -> tuple[Any, Any]:
        from bot.config import load_settings
        from bot.services import Services

        settings = load_settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url,
                                 ddb_bot_digest_channel=CHANNEL, ddb_bot_digest_cron=data.CRON)
        services = Services.build(settings, dynamodb_client(REGION) if own_client else ddb)
        return services, web_client(services)

    return make


def _posts(slack: FakeSlack) -> list[Any]:
    return slack.find(POST)


def _text(call: Any) -> str:
    return json.dumps(call.body, ensure_ascii=False)


def _lock(services: Any) -> Any:
    return WindowLocks(services.store, services.settings.state_table).get(iso(data.WINDOW.end))


def test_two_replicas_firing_together_post_one_digest(ddb: Any, replica: Any,
                                                      slack: FakeSlack) -> None:
    data.seed(ddb)
    a, b = replica(own_client=True), replica(own_client=True)
    outcomes = race(2, lambda i: digest_tick(*(a, b)[i], now=data.NOW))
    assert len(outcomes) == 2
    posts = _posts(slack)
    assert len(posts) == 1, [c.path for c in slack.calls]
    assert posts[0].body["channel"] == CHANNEL
    flat = sorted(o for out in outcomes for o in out)
    assert [o.split(": ", 1)[1] for o in flat] == ["posted", "posted or in progress elsewhere"]
    text = _text(posts[0])
    assert "Tagger" in text and "Acme" in text and "unknown helper" not in text
    assert data.JWT not in text
    rec = _lock(a[0])
    assert rec.state == "posted" and rec.message_ts and rec.summary["failed"] == 5
    # the same tick again (another replica, late) posts nothing
    assert digest_tick(*b, now=data.NOW + timedelta(minutes=30))[0].endswith("elsewhere")
    assert len(_posts(slack)) == 1


def test_crashed_run_is_retried_once_its_lease_runs_out(ddb: Any, replica: Any,
                                                        slack: FakeSlack) -> None:
    data.seed(ddb)
    services, client = replica()
    # a replica took the lock and died before posting
    dead = WindowLocks(services.store, services.settings.state_table,
                       lease_seconds=DIGEST_LEASE_SECONDS, clock=lambda: data.NOW.timestamp())
    assert dead.acquire(iso(data.WINDOW.start), iso(data.WINDOW.end)) is not None
    # within the lease nobody posts: the holder may still be working
    assert "elsewhere" in digest_tick(services, client, now=data.NOW + timedelta(minutes=5))[0]
    assert _posts(slack) == []
    # after the lease the next tick (the retry job) posts it, once
    later = data.NOW + timedelta(seconds=DIGEST_LEASE_SECONDS + 60)
    assert digest_tick(services, client, now=later, due=False)[0].endswith("posted")
    assert digest_tick(services, client, now=later + timedelta(minutes=5)) == [
        f"{iso(data.WINDOW.start)} → {iso(data.WINDOW.end)}: posted or in progress elsewhere"]
    assert len(_posts(slack)) == 1
    rec = _lock(services)
    assert rec.state == "posted" and rec.attempts == 2


def test_failed_post_is_retried_on_the_next_tick(ddb: Any, replica: Any, slack: FakeSlack) -> None:
    data.seed(ddb)
    services, client = replica()
    slack.scripted[POST] = [(200, {"ok": False, "error": "channel_not_found"}, {})]
    out = digest_tick(services, client, now=data.NOW)
    assert "failed (SlackApiError), will retry" in out[0]
    assert _lock(services).state == "taken"
    out = digest_tick(services, client, now=data.NOW + timedelta(minutes=5), due=False)
    assert out[0].endswith("posted")
    posts = _posts(slack)
    assert len(posts) == 2 and _lock(services).state == "posted"  # one refused, one posted


def test_slack_429_is_retried_and_one_digest_posted(ddb: Any, replica: Any,
                                                    slack: FakeSlack) -> None:
    data.seed(ddb)
    services, client = replica()
    slack.scripted[POST] = [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    out = digest_tick(services, client, now=data.NOW)
    assert out[0].endswith("posted")
    posts = _posts(slack)
    assert len(posts) == 2  # the 429, then slack_sdk's retry
    assert posts[0].body == posts[1].body
    assert _lock(services).state == "posted"


def test_dynamodb_fault_without_retry_leaves_the_window_for_the_next_tick(
        ddb: Any, replica: Any, slack: FakeSlack) -> None:
    """A Query error botocore does not retry (answered at ``before-call``, past its retry
    handler) fails the run; the window is released and the next tick posts it."""
    data.seed(ddb)
    services, client = replica()
    calls = {"n": 0}

    def fail_first(params: dict[str, Any], **_: Any) -> Any:
        if "mfh-dev-executions" not in str(params.get("body")):  # only the digest's reads
            return None
        calls["n"] += 1
        if calls["n"] == 1:
            resp = AWSResponse("https://dynamodb", 400, {}, None)
            return resp, {"Error": {"Code": "ThrottlingException", "Message": "slow down"},
                          "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    ddb.meta.events.register("before-call.dynamodb.Query", fail_first)
    try:
        first = digest_tick(services, client, now=data.NOW)
        assert "failed (StoreError)" in first[0] and _posts(slack) == []
        second = digest_tick(services, client, now=data.NOW + timedelta(minutes=5), due=False)
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.Query", fail_first)
    assert second[0].endswith("posted") and len(_posts(slack)) == 1


def test_missed_runs_coalesce_into_one_digest(
        ddb: Any, replica: Any, slack: FakeSlack) -> None:
    data.seed(ddb, days=5)
    services, client = replica()
    earlier = data.WINDOW.end - timedelta(days=3)
    # the digest three days ago was posted...
    assert digest_tick(services, client, now=earlier + timedelta(minutes=1))[0].endswith("posted")
    # ...then the bot was down for two fires: the next window reaches back to it
    later = data.WINDOW.end + timedelta(minutes=1)
    assert digest_tick(services, client, now=later)[0].startswith(
        f"{iso(earlier)} → {iso(data.WINDOW.end)}: posted")
    first, second = _posts(slack)
    assert "*5 failed of 10" in _text(first).replace("\\n", "\n")
    assert "*14 failed of 29" in _text(second).replace("\\n", "\n")
    # the next day has no executions: one short line
    digest_tick(services, client, now=data.WINDOW.end + timedelta(days=1, minutes=1))
    third = _posts(slack)[2].body
    assert len(third["blocks"]) == 1 and "No failed executions" in _text(_posts(slack)[2])


def test_trend_comes_from_the_previous_digest_and_only_the_window_is_read(
        ddb: Any, replica: Any, slack: FakeSlack) -> None:
    data.seed(ddb, days=2)
    services, client = replica()
    assert digest_tick(services, client, now=data.WINDOW.start + timedelta(minutes=1))[0] \
        .endswith("posted")
    assert digest_tick(services, client, now=data.NOW)[0].endswith("posted")
    text = _text(_posts(slack)[1]).replace("\\n", "\n")
    assert "trend from the previous digest" in text
    assert "previous window 4, ▲ +1 (+25%)" in text
    # the window's 10 executions (acct-ghost has no account item), not the previous day's
    assert "Read 10 executions by account queries" in text


def test_tick_without_channel_or_far_too_late(ddb: Any, make_services: Any, replica: Any,
                                              slack: FakeSlack) -> None:
    services = make_services()
    assert digest_tick(services, None, now=data.NOW) == ["no DDB_BOT_DIGEST_CHANNEL: nothing posted"]
    services, client = replica()
    out = digest_tick(services, client, now=data.NOW + timedelta(hours=7),
                      max_late=timedelta(hours=6))
    assert "next run covers it" in out[0] and _posts(slack) == []


def test_scheduler_has_the_digest_jobs_only_with_a_channel(make_services: Any, replica: Any) -> None:
    plain = start_scheduler(make_services(), None)
    try:
        assert [j.id for j in plain.get_jobs()] == ["expire-requests"]
    finally:
        plain.shutdown(wait=False)
    services, client = replica()
    services.settings = services.settings.model_copy(update={"ddb_bot_digest_tz": "Europe/Berlin"})
    sched = start_scheduler(services, client)
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
        digest = jobs["digest"]
        assert digest.coalesce is True and digest.max_instances == 1
        assert digest.misfire_grace_time == 6 * 3600
        assert str(digest.trigger.timezone) == "Europe/Berlin"
        assert digest.next_run_time.astimezone(digest.trigger.timezone).hour == 9
        assert jobs["digest-retry"].kwargs == {"due": False}
    finally:
        sched.shutdown(wait=False)


# -- python -m bot digest ------------------------------------------------------------------
def test_cli_dry_run_prints_digest_and_reads_posts_nothing(
        seeded: Any, replica: Any, slack: FakeSlack, capsys: Any) -> None:
    services, _ = replica()
    # the CLI builds its own client; inside moto's mock that reaches the same tables
    assert digest_command(services.settings, "8d", True, None) == 0
    out = capsys.readouterr().out
    assert "Failed executions" in out and "failure rate" in out and "(helper-0" in out
    assert "planner: query" in out and "read: executions 320 items" in out and "RCU" in out
    for secret in seeded.DEMO_SECRETS:
        assert secret not in out
    assert digest_command(services.settings, "8d", True, None, plan="scan") == 0
    assert "planner: scan — forced" in capsys.readouterr().out
    assert _posts(slack) == []
    assert digest_command(services.settings, "soon", True, None) == 2
    assert "not a duration" in capsys.readouterr().err


def test_cli_posts_the_scheduled_window_under_its_lock(ddb: Any, replica: Any,
                                                       slack: FakeSlack, capsys: Any) -> None:
    services, _ = replica()
    settings = services.settings
    assert digest_command(settings.model_copy(update={"ddb_bot_digest_channel": None}), None,
                          False, None) == 2
    assert "needs --channel" in capsys.readouterr().err
    assert digest_command(settings, None, False, "C_OTHER") == 0
    assert digest_command(settings, None, False, "C_OTHER") == 0  # same window: not again
    out = capsys.readouterr().out
    assert out.count(": posted\n") == 1 and "elsewhere" in out
    assert [c.body["channel"] for c in _posts(slack)] == ["C_OTHER"]
    assert digest_command(settings, "2h", False, None) == 0  # an explicit window, no lock
    assert [c.body["channel"] for c in _posts(slack)] == ["C_OTHER", CHANNEL]


@pytest.mark.parametrize(("var", "value"), [("DDB_BOT_DIGEST_CRON", "61 9 * * *"),
                                            ("DDB_BOT_DIGEST_CRON", "0 9 * * 8"),
                                            ("DDB_BOT_DIGEST_TZ", "Mars/Olympus_Mons")])
def test_start_up_fails_naming_a_bad_digest_setting(monkeypatch: pytest.MonkeyPatch, capsys: Any,
                                                    var: str, value: str) -> None:
    from bot.__main__ import main

    monkeypatch.setenv(var, value)
    for mode in (["digest", "--dry-run"], ["serve"]):
        assert main(mode) == 2
        assert var in capsys.readouterr().err
