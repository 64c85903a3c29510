"""The digest against moto: the two read plans agree, read only what they must, names only
for shown groups, secrets never shown, bad input, throttling retried, locks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from bot.render.blocks import render_message
from bot.render.limits import problems
from bot.render.text import render_text
from commands import Context, dispatch
from commands.digest import DigestResult
from commands.results import ErrorResult, ItemsResult
from dynamo import demo
from dynamo import digest as dg
from dynamo import digest_reads as reads
from dynamo.locks import WindowLocks
from dynamo.schedule import Window, iso
from tests.integration import digest_data as data

FAILED = ("failed", "error", "timeout")


@pytest.fixture
def rows(ddb: Any) -> list[dict[str, Any]]:
    return data.seed(ddb, days=4)


def _ctx(store: Any, **kw: Any) -> Context:
    kw.setdefault("now", data.NOW)
    return Context(store=store, user_id="U_TESTER", **kw)


def _in(rows: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    lo, hi = iso(window.start), iso(window.end)
    return [r for r in rows if lo <= r["created_at"] < hi]


def test_query_and_scan_plans_give_the_same_digest(store: Any, rows: list[dict[str, Any]]) -> None:
    by_query = dg.build(store, data.WINDOW, FAILED, force="query")
    by_scan = dg.build(store, data.WINDOW, FAILED, force="scan")
    assert (by_scan.failed, by_scan.total, by_scan.previous_failed) == (6, 11, 5)
    assert [(g.helper_id, g.count, g.previous) for g in by_scan.groups] == [
        ("helper-1", 4, 3), ("helper-ghost", 1, 1), ("helper-2", 1, 1)]
    # account queries cannot see executions of an account missing from the accounts table
    assert (by_query.failed, by_query.total, by_query.previous_failed) == (5, 10, 4)
    orphans = [g for g in by_scan.groups if g.account_id == "acct-ghost"]
    assert [(g.key, g.count, g.signatures) for g in by_query.groups] == [
        (g.key, g.count, g.signatures) for g in by_scan.groups if g not in orphans]
    # queries read both windows (the trend) and nothing else; the scan reads every item
    span = _in(rows, Window(data.WINDOW.previous.start, data.WINDOW.end))
    assert by_query.stats.executions_read == len([r for r in span if r["account_id"] != "acct-ghost"])
    assert by_query.stats.accounts_read == 3
    assert by_scan.stats.executions_read == len(rows) > len(span)
    assert by_scan.stats.accounts_read == 0


def test_reads_project_only_what_the_digest_needs(store: Any, rows: list[dict[str, Any]]) -> None:
    stats = reads.ReadStats()
    for force in ("query", "scan"):
        plan = reads.choose(len(rows), 3, data.WINDOW.length, force=force)  # type: ignore[arg-type]
        got = reads.read_range(store, plan, data.WINDOW.start, data.WINDOW.end, stats)
        assert got and all(set(r) <= set(reads.PROJECTION) for r in got)
        assert "trigger_type" not in got[0] and "user_id" not in got[0]


def test_planner_reads_describe_table(store: Any, rows: list[dict[str, Any]]) -> None:
    plan = reads.plan_reads(store, timedelta(days=2))
    assert (plan.table_items, plan.accounts) == (len(rows), 3)
    # ~2 of ~30 days in the span: three queries and the accounts read less than a scan
    assert plan.strategy == "query" and plan.est_query_items < plan.est_scan_items
    assert dg.build(store, data.WINDOW, FAILED).stats.plan.strategy == "query"


def test_names_only_for_the_groups_shown(store: Any, rows: list[dict[str, Any]]) -> None:
    d = dg.build(store, data.WINDOW, FAILED, top=1)
    assert d.stats.names_read == 2  # helper-1 and acct-1, nothing else
    assert (d.groups[0].helper_name, d.groups[0].account_name) == ("Tagger", "Acme")
    assert not d.groups[1].named and d.groups[1].helper_name is None
    everyone = dg.build(store, data.WINDOW, FAILED, force="scan")
    ghost = next(g for g in everyone.groups if g.helper_id == "helper-ghost")
    assert ghost.named and ghost.helper_name is None and ghost.account_name is None
    text = render_text(DigestResult(digest=everyone))
    assert "unknown helper (helper-ghost)" in text and "(no error message)" in text


def test_the_bearer_token_never_shows(store: Any, rows: list[dict[str, Any]]) -> None:
    result = dispatch("digest --since 3d --top 25", _ctx(store))
    assert isinstance(result, DigestResult)
    msg = render_message(result)
    assert problems(msg) == []
    for out in (json.dumps(msg), render_text(result), result.model_dump_json()):
        assert data.JWT not in out
    assert "[masked credential]" in render_text(result)


def test_demo_digest_masks_the_demo_jwt(ctx: Any, seeded: Any) -> None:
    result = dispatch("digest --since 8d --top 25", ctx)
    assert isinstance(result, DigestResult) and result.digest.failed > 0
    outputs = (json.dumps(render_message(result)), render_text(result),
               result.model_dump_json())
    for out in outputs:
        for secret in demo.DEMO_SECRETS:
            assert secret not in out
    sigs = [s.text for g in result.digest.groups for s in g.signatures]
    assert any("[masked credential]" in s for s in sigs)


@pytest.mark.parametrize(("text", "expected"), [
    ("digest --since 24x", "not a duration"),
    ("digest --since 0h", "not a duration"),
    ("digest --since 400d", "longer than a year"),
    ("digest --top 0", "--top must be between"),
    ("digest --top many", "whole number"),
    ("digest now", "unexpected `now`"),
    ("digest --helper helper-1", "needs --from and --to"),
    ("digest --helper helper-1 --from yesterday --to today", "not an ISO-8601 time"),
    ("digest --helper helper-1 --from 2024-05-02T00:00:00Z --to 2024-05-01T00:00:00Z",
     "--to must be after --from"),
    ("digest --helper '' --from 2024-05-01T00:00:00Z --to 2024-05-02T00:00:00Z", "helper id"),
    ("digest --bogus", "unknown option"),
])
def test_bad_input_is_one_clear_error_with_usage(store: Any, text: str, expected: str) -> None:
    result = dispatch(text, _ctx(store))
    assert isinstance(result, ErrorResult), result
    assert expected in result.message
    assert "/ddb digest" in result.usage


def test_default_window_is_since_the_last_scheduled_run(store: Any, rows: list[dict[str, Any]]) -> None:
    result = dispatch("digest", _ctx(store, now=data.WINDOW.end + timedelta(hours=10)))
    assert isinstance(result, DigestResult)
    assert result.digest.start == iso(data.WINDOW.end) and result.digest.failed == 0
    assert "since the last scheduled digest" in result.how


def test_group_listing_pages_through_failed_executions(store: Any, rows: list[dict[str, Any]]) -> None:
    text = (f"digest --helper helper-1 --from {iso(data.WINDOW.start)} "
            f"--to {iso(data.WINDOW.end)} --limit 3")
    first = dispatch(text, _ctx(store))
    assert isinstance(first, ItemsResult) and first.index == "HelperIdCreatedAtIndex"
    assert len(first.items) == 3 and first.next_key is not None
    second = dispatch(text, _ctx(store, start_key=first.next_key))
    assert isinstance(second, ItemsResult)
    got = first.items + second.items
    assert len(got) == 4 and second.next_key is None
    assert all(i["status"] in FAILED and i["helper_id"] == "helper-1" for i in got)
    assert [i["created_at"] for i in got] == sorted((i["created_at"] for i in got), reverse=True)
    empty = dispatch(text.replace("helper-1", "helper-none"), _ctx(store))
    assert isinstance(empty, ItemsResult) and not empty.items and "no failed" in empty.notes[0]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def test_throttling_is_retried_by_botocore(ddb: Any, store: Any, rows: list[dict[str, Any]]) -> None:
    """A ThrottlingException on the first Query is retried by botocore, not by us.

    Injected at ``before-send`` (an HTTP response), where botocore's retry handler sees it;
    a ``before-call`` answer would skip botocore's retries altogether.
    """
    calls = {"n": 0}

    def throttle_once(**_: Any) -> AWSResponse | None:
        calls["n"] += 1
        if calls["n"] > 1:
            return None
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                           "message": "Rate of requests exceeds the allowed throughput."})
        return AWSResponse("https://dynamodb", 400, {"x-amzn-ErrorType": "ThrottlingException"},
                           _Raw(body.encode()))

    ddb.meta.events.register("before-send.dynamodb.Query", throttle_once)
    try:
        d = dg.build(store, data.WINDOW, FAILED, force="query")
    finally:
        ddb.meta.events.unregister("before-send.dynamodb.Query", throttle_once)
    assert calls["n"] > 3  # one throttled, then every account's query
    assert (d.failed, d.total) == (5, 10)  # acct-ghost is not in the accounts table


def test_window_locks(store: Any) -> None:
    now = [1_000_000.0]
    a = WindowLocks(store, "mfh-dev-ddb-bot", lease_seconds=60, clock=lambda: now[0])
    b = WindowLocks(store, "mfh-dev-ddb-bot", lease_seconds=60, clock=lambda: now[0])
    lock = a.acquire("2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z")
    assert lock is not None and lock.attempt == 1
    assert b.acquire("2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z") is None
    assert b.stale("2024-01-01T00:00:00Z") == []
    now[0] += 61  # the holder died: its lease ran out
    assert [r.end for r in b.stale("2024-01-01T00:00:00Z")] == ["2024-05-02T09:00:00Z"]
    again = b.acquire("2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z")
    assert again is not None and again.attempt == 2
    assert not a.mark_posted(lock, "C1", "1.1", {})  # the old holder lost it
    assert b.mark_posted(again, "C1", "1.2", {"failed": 1})
    now[0] += 10_000
    assert a.acquire("2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z") is None  # posted: never again
    rec = a.get("2024-05-02T09:00:00Z")
    assert rec is not None and (rec.state, rec.message_ts, rec.summary) == ("posted", "1.2", {"failed": 1})
    assert a.latest_end("2024-06-01T00:00:00Z") == "2024-05-02T09:00:00Z"
    assert a.latest_end("2024-05-02T09:00:00Z") is None
