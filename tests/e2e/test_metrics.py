"""Metrics through real parts: signed requests into the served bot, ``GET /metrics`` scraped
over HTTP and parsed by prometheus_client's own parser, moto underneath, the fake Slack.

The series are the process's, shared by every test in it, so each test reads what its
own requests added (after − before).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.listeners import surfaces
from bot.render import ids
from bot.services import WorkQueue
from commands.registry import REGISTRY as COMMANDS
from dynamo import demo
from dynamo.schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
MARK = "zq7mark"  # typed into requests; must never reach a label


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    assert MARK not in text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def grown(port: int, before: Samples, name: str, by: float = 1, **labels: str) -> Samples:
    """Scrape until ``name{labels}`` grew by ``by`` (a request's line is written once its
    work has ended, just after the answer reached the fake Slack)."""
    deadline = time.monotonic() + 10
    while True:
        after = scrape(port)
        if value(after, name, **labels) - value(before, name, **labels) >= by:
            return after
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}{labels} did not grow by {by}")
        time.sleep(0.05)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_command_is_counted_with_its_surface_outcome_times_and_reads(bot: Any) -> None:
    before = scrape(bot.port)
    assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    assert demo.DEMO_EMAIL in json.dumps(bot.slack.wait_for("/response/")[0].body)
    after = grown(bot.port, before, "ddb_bot_requests_total", surface="command", command="get",
                  outcome="ok")
    assert delta(after, before, "ddb_bot_ack_seconds_count", surface="command") == 1
    assert delta(after, before, "ddb_bot_answer_seconds_count", surface="command",
                 command="get") == 1
    # the read: by table (the short name), with the capacity DynamoDB reported
    assert delta(after, before, "ddb_bot_dynamodb_calls_total", table="users", outcome="ok") >= 1
    assert delta(after, before, "ddb_bot_dynamodb_consumed_capacity_units_total", table="users",
                 kind="read") > 0
    assert value(after, "ddb_bot_work_queue_capacity") == bot.services.work.capacity


def test_label_values_stay_in_known_sets_whatever_is_typed_or_clicked(bot: Any) -> None:
    sender = bot.sender
    odd = [f"{MARK}-table drop", f"get {MARK}-users x", f"Robert'); {MARK} <a@b.com> 12",
           f"update users {demo.DEMO_USER_ID} set status={MARK}", "get users user:" + MARK]
    for text in odd:
        assert sender.slash(text).status == 200
    assert sender.click(ids.APPROVE, f"req-{MARK}").status == 200  # no such request
    sender.click(f"ddb_{MARK}_forged", "x")  # no listener: Bolt answers 404
    assert bot.services.work.wait_idle(10)
    deadline = time.monotonic() + 10
    samples = scrape(bot.port)
    while value(samples, "ddb_bot_requests_total", surface="block_actions", command="other") < 1:
        assert time.monotonic() < deadline, "the forged click was not counted"
        samples = scrape(bot.port)
    listener_ids = {ident for _kind, ident in surfaces(bot.app)}
    allowed = {
        "surface": metrics.SURFACES | {"other"},
        "command": set(COMMANDS) | listener_ids | {"unknown", "other", "none"},
        "outcome": metrics.OUTCOMES | {"other", "throttled", "conditional_check_failed",
                                       "transaction_canceled", "client_error", "server_error",
                                       "unreachable", "rate_limited", "posted", "nothing_due",
                                       "elsewhere", "failed", "executed", "stale", "no_answer"},
        "table": {t.short for t in TABLES} | {"state", "several", "other"},
        "kind": {"read", "write"},
        "result": {"current", "previous", "invalid"},
        "dependency": {"dynamodb", "slack"},
        "decision": {"approved", "rejected", "withdrawn", "expired"},
        "event": {"created", "approval_recorded", "approved", "withdrawn", "rejected", "expired"}
        | {s.lower() for s in ("EXECUTED", "EXECUTING", "STALE", "FAILED")},
    }
    import botocore.session

    allowed["operation"] = set(botocore.session.get_session().get_service_model(
        "dynamodb").operation_names)
    for (name, labels), _v in samples.items():
        if not name.startswith("ddb_bot_"):
            continue
        for key, val in labels:
            if key == "le":
                continue
            if key == "method":
                assert re.fullmatch(r"[a-z]+(\.[a-zA-Z]+)+|other", val), (name, val)
                continue
            assert val in allowed[key], (name, key, val)


def test_write_request_events_decision_time_and_slack_calls_with_a_429(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    before = scrape(bot.port)
    # Slack answers the request's post with one 429 first (Retry-After: 0), then posts it
    bot.slack.scripted["/api/chat.postMessage"] = [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})]
    assert bot.sender.slash(f"update users {demo.DEMO_USER_ID} set status=disabled").status == 200
    calls = bot.slack.wait_for("/api/chat.postMessage", 2,
                               where=lambda c: c.body.get("channel") == "C_APPROVALS")
    request_id = next(el["value"] for b in calls[-1].body["blocks"] if b.get("type") == "actions"
                      for el in b["elements"] if el["action_id"] == ids.APPROVE)
    assert bot.sender.click(ids.APPROVE, request_id, user="U_BOB", channel="C_APPROVALS").status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in json.dumps(c.body))
    after = grown(bot.port, before, "ddb_bot_write_requests_total", event="executed")
    for event in ("created", "approved", "executed"):
        assert delta(after, before, "ddb_bot_write_requests_total", event=event) == 1, event
    assert delta(after, before, "ddb_bot_write_request_decision_seconds_count",
                 decision="approved") == 1
    assert delta(after, before, "ddb_bot_slack_api_rate_limited_total",
                 method="chat.postMessage") == 1
    assert delta(after, before, "ddb_bot_slack_api_calls_total", method="chat.postMessage",
                 outcome="ok") >= 1
    assert delta(after, before, "ddb_bot_slack_api_calls_total", method="chat.update",
                 outcome="ok") >= 1
    assert bot.services.work.wait_idle(10)  # the outcome DM: nothing left for the next test


def test_break_glass_runs_and_the_unreviewed_count(make_bot: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("break_glass: [U_ONCALL]\n")
    bot = make_bot(ddb_bot_policy_file=str(policy), ddb_bot_approval_channel="C_APPROVALS")
    monkeypatch.setattr(metrics.STATE, "ttl", 0.0)  # read the state table on every scrape
    before = scrape(bot.port)
    assert value(before, "ddb_bot_break_glass_unreviewed") == 0
    typed = (f"update helpers {demo.DEMO_HELPER_ID} set enabled=false "
             "--break-glass \"INC-1 runaway helper\"")
    assert bot.sender.slash(typed, user="U_ONCALL").status == 200
    after = grown(bot.port, before, "ddb_bot_break_glass_runs_total", outcome="executed")
    assert value(after, "ddb_bot_break_glass_unreviewed") == 1
    # a pending request shows in the pending gauge, with its age
    assert bot.sender.slash(f"update users {demo.DEMO_USER_ID} set status=disabled").status == 200
    after = grown(bot.port, after, "ddb_bot_write_requests_total", event="created")
    assert value(after, "ddb_bot_write_requests_pending") == 1
    assert bot.services.work.wait_idle(10)
    assert value(after, "ddb_bot_write_requests_overdue") == 0
    assert value(after, "ddb_bot_write_request_oldest_pending_seconds") >= 0
    # EMF: the state gauges only when asked for (a scheduled invocation, not a request's)
    plain, with_state = _lines(), _lines(state=True)
    assert not [d for d in _emf(plain) if "ddb_bot_write_requests_pending" in d]
    assert [d for d in _emf(with_state) if d.get("ddb_bot_write_requests_pending") == 1
            and d.get("ddb_bot_break_glass_unreviewed") == 1]


def test_busy_refusals_and_the_work_queue_depth(make_bot: Any) -> None:
    bot = make_bot()
    bot.services.work = WorkQueue(workers=1, backlog=1)
    metrics.instrument(bot.services)  # the gauge follows the replaced queue
    gate = threading.Event()
    try:
        for _ in range(2):
            assert bot.services.after_ack(gate.wait, 10, busy=lambda: None)
        before = scrape(bot.port)
        assert value(before, "ddb_bot_work_queue_jobs") == 2
        assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
        grown(bot.port, before, "ddb_bot_busy_refusals_total")
        grown(bot.port, before, "ddb_bot_requests_total", surface="command", command="get",
              outcome="busy")
    finally:
        gate.set()
        bot.services.work.shutdown()
    assert "busy" in json.dumps(bot.slack.wait_for("/response/")[0].body)


class _Raw:
    """An HTTP body for botocore's ``AWSResponse``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def test_dynamodb_throttles_count_each_attempt_and_capacity_stays_hidden(
        make_services: Any) -> None:
    from botocore.awsrequest import AWSResponse

    services = make_services()
    metrics.instrument(services)
    client = services.client
    throttled = {"n": 0}

    def throttle_twice(request: Any, **_: Any) -> Any:
        if throttled["n"] >= 2:
            return None  # then moto answers
        throttled["n"] += 1
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#"
                           "ProvisionedThroughputExceededException", "message": "slow down"})
        return AWSResponse(request.url, 400, {}, _Raw(body.encode()))

    sample = REGISTRY.get_sample_value
    labels = {"table": "users", "operation": "GetItem"}
    throttles = sample("ddb_bot_dynamodb_throttles_total", labels) or 0
    ok = sample("ddb_bot_dynamodb_calls_total", {**labels, "outcome": "ok"}) or 0
    read = sample("ddb_bot_dynamodb_consumed_capacity_units_total",
                  {"table": "users", "kind": "read"}) or 0
    client.meta.events.register_first("before-send.dynamodb.GetItem", throttle_twice)
    try:
        resp = client.get_item(TableName="mfh-dev-users", Key={"user_id": {"S": "user:x"}})
    finally:
        client.meta.events.unregister("before-send.dynamodb.GetItem", throttle_twice)
    assert "ConsumedCapacity" not in resp  # asked for by the hook, not by this caller
    assert sample("ddb_bot_dynamodb_throttles_total", labels) == throttles + 2
    assert sample("ddb_bot_dynamodb_calls_total", {**labels, "outcome": "ok"}) == ok + 1
    assert sample("ddb_bot_dynamodb_consumed_capacity_units_total",
                  {"table": "users", "kind": "read"}) > read
    asked = client.get_item(TableName="mfh-dev-users", Key={"user_id": {"S": "user:x"}},
                            ReturnConsumedCapacity="TOTAL")
    assert asked["ConsumedCapacity"]["TableName"] == "mfh-dev-users"  # a caller's own stays
    # a table outside the declared ones is "other", never its name
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName=f"{MARK}-table", Key={"k": {"S": "x"}})
    assert sample("ddb_bot_dynamodb_calls_total", {"table": "other", "operation": "GetItem",
                                                   "outcome": "client_error"})


def test_digest_runs_and_posts(ddb: Any, slack: Any) -> None:
    from bot.config import load_settings
    from bot.messaging.client import web_client
    from bot.scheduler import digest_tick
    from bot.services import Services
    from tests.integration import digest_data as data

    data.seed(ddb)
    settings = load_settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url,
                             ddb_bot_digest_channel="C_DIGEST", ddb_bot_digest_cron=data.CRON)
    services = Services.build(settings, ddb)
    sample = REGISTRY.get_sample_value
    posted = sample("ddb_bot_digest_runs_total", {"outcome": "posted"}) or 0
    posts = sample("ddb_bot_digest_posts_total") or 0
    assert digest_tick(services, web_client(services), now=data.NOW)[0].endswith("posted")
    assert sample("ddb_bot_digest_runs_total", {"outcome": "posted"}) == posted + 1
    assert sample("ddb_bot_digest_posts_total") == posts + 1
    assert slack.find("/api/chat.postMessage")


def _emf(lines: list[str]) -> list[dict[str, Any]]:
    """The EMF documents, each checked against the format's rules."""
    docs = []
    for line in lines:
        doc = json.loads(line)
        meta = doc["_aws"]
        assert isinstance(meta["Timestamp"], int)
        for directive in meta["CloudWatchMetrics"]:
            assert directive["Namespace"] == "ddb-bot"
            for dims in directive["Dimensions"]:
                assert len(dims) <= 30 and all(isinstance(doc[d], str) for d in dims)
            for metric in directive["Metrics"]:
                got = doc[metric["Name"]]
                assert metric["Unit"] in ("Count", "Seconds", "None")
                assert isinstance(got, int | float) or (
                    isinstance(got, list) and 0 < len(got) <= 100
                    and all(isinstance(v, int | float) for v in got))
        docs.append(doc)
    return docs


def test_emf_lines_carry_the_same_series(bot: Any) -> None:
    metrics.emit_emf(lambda _line: None)  # from here on, only what this test adds
    before = scrape(bot.port)
    assert bot.sender.slash("help").status == 200
    bot.slack.wait_for("/response/")
    after = grown(bot.port, before, "ddb_bot_requests_total", surface="command", command="help")
    lines: list[str] = []
    assert metrics.emit_emf(lines.append) == len(lines) > 0
    docs = _emf(lines)
    mine = {"surface": "command", "command": "help", "outcome": "ok"}
    line = next(d for d in docs if all(d.get(k) == v for k, v in mine.items())
                and "ddb_bot_requests_total" in d)
    assert line["ddb_bot_requests_total"] == delta(after, before, "ddb_bot_requests_total", **mine)
    ack = next(d for d in docs if d.get("surface") == "command" and "ddb_bot_ack_seconds" in d)
    assert len(ack["ddb_bot_ack_seconds"]) >= 1
    # a second flush carries only what happened since: not this request again
    again = _emf(_lines())
    assert not [d for d in again if all(d.get(k) == v for k, v in mine.items())
                and "ddb_bot_requests_total" in d]


def _lines(state: bool = False) -> list[str]:
    out: list[str] = []
    metrics.emit_emf(out.append, state=state)
    return out


def test_alert_rules_and_readme_name_only_exposed_series() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-alerts.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    exposed = metrics.series_names()
    used: set[str] = set()
    for rule in alerts:
        assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule), rule
        assert rule["labels"]["severity"] in ("page", "warning", "info")
        names = set(re.findall(r"\bddb_bot_[a-z_]+\b", rule["expr"]))
        assert names and names <= exposed, (rule["alert"], names - exposed)
        used |= names
    # errors, busy refusals, throttles and stuck pending requests are covered
    assert {"ddb_bot_requests_total", "ddb_bot_busy_refusals_total",
            "ddb_bot_dynamodb_throttles_total", "ddb_bot_write_requests_overdue"} <= used
    readme = (ROOT / "README.md").read_text()
    base = {re.sub(r"_(bucket|count|sum)$", "", n) for n in exposed}
    assert not [n for n in sorted(base) if f"`{n}" not in readme]
    promtool = shutil.which("promtool")  # Debian's `prometheus` package; .ci/run installs it
    assert promtool or not os.environ.get("DDB_PROMTOOL_REQUIRED"), "promtool is required here"
    if promtool:
        out = subprocess.run([promtool, "check", "rules",
                              str(ROOT / "deploy" / "prometheus-alerts.yml")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
