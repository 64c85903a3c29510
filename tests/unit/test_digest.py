"""The digest's pure parts: normalisation, grouping, trend, sparkline, planner, windows,
and the message inside Slack's limits with many groups, secrets never shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.render import ids
from bot.render.blocks import render_message
from bot.render.digest import render_digest, sparkline, trend
from bot.render.limits import problems, texts_of
from bot.render.text import render_text
from commands.digest import DigestResult, show_command, show_value
from dynamo.digest import NO_MESSAGE, Group, aggregate, normalise
from dynamo.digest_reads import HISTORY, choose
from dynamo.schedule import Window, due_window, iso, latest_fire, since_last_run, trigger

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8"
START = datetime(2024, 5, 1, 9, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=24))
FAILED = ("failed", "error", "timeout")


def ex(hours: float, status: str = "failed", helper: str = "helper-1", account: str = "acct-1",
       msg: Any = "boom", **extra: Any) -> dict[str, Any]:
    item = {"execution_id": f"exec-{hours}-{helper}", "helper_id": helper, "account_id": account,
            "status": status, "error_message": msg,
            "created_at": iso(START + timedelta(hours=hours))}
    item.update(extra)
    return {k: v for k, v in item.items() if v is not None}


def all_text(msg: dict[str, Any]) -> str:
    return "\n".join(t for b in msg["blocks"] for t in texts_of(b))


def buttons(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["accessory"] for b in msg["blocks"] if b.get("accessory")]


def check(msg: dict[str, Any]) -> dict[str, Any]:
    assert problems(msg) == []
    for button in buttons(msg):
        assert len(button["value"]) <= 2000 and len(button["text"]["text"]) <= 75
    assert [x.to_dict() for x in Block.parse_all(msg["blocks"])] == msg["blocks"]
    return msg


# -- normalisation ---------------------------------------------------------------------
@pytest.mark.parametrize(("message", "signature"), [
    ("contact 3f2b1c4d-1111-4222-8333-123456789abc not found", "contact <uuid> not found"),
    ("timeout after 5012ms waiting for Keap", "timeout after <n>ms waiting for Keap"),
    ("auth expired for connection conn-0042", "auth expired for connection conn-<n>"),
    ("failed at 2024-05-01T09:13:07.123Z, retry at 2024-05-01 10:00:00+02:00",
     "failed at <ts>, retry at <ts>"),
    ("user ada@example.com was rejected", "user <email> was rejected"),
    ("hash 9f86d081884c7d659a2feaa0c55ad015 mismatched", "hash <hex> mismatched"),
    ("  lots \n of\t space  ", "lots of space"),
    ("", NO_MESSAGE),
    (None, NO_MESSAGE),
    (429, "<n>"),
])
def test_normalise(message: Any, signature: str) -> None:
    assert normalise(message) == signature


def test_normalise_masks_credentials_and_is_short() -> None:
    sig = normalise(f"401 from API, request had Authorization: Bearer {JWT}")
    assert JWT not in sig and "masked credential" in sig
    assert len(normalise("x" * 5000)) <= 200


def test_one_bug_is_one_signature() -> None:
    a = normalise("HubSpot API returned 429 Too Many Requests for contact 12")
    b = normalise("HubSpot API returned 429 Too Many Requests for contact 99931")
    assert a == b


# -- grouping and trend ------------------------------------------------------------------
def test_groups_counts_rate_signatures_last_seen_and_trend() -> None:
    rows = [
        ex(1, msg="contact 11111111-2222-4333-8444-555555555555 not found"),
        ex(5, msg="contact 99999999-2222-4333-8444-555555555555 not found"),
        ex(7, status="timeout", msg="timeout after 30s"),
        ex(2, status="success"),
        ex(3, status="error", helper="helper-2", account="acct-2", msg="bad"),
        ex(23.5, status="success", helper="helper-2", account="acct-2"),
        # previous window: helper-1 failed once, helper-3 twice
        ex(-3, helper="helper-1"),
        ex(-10, helper="helper-3", account="acct-3"),
        ex(-11, helper="helper-3", account="acct-3"),
        ex(-1, status="success"),
        # outside both windows
        ex(25), ex(-25),
    ]
    d = aggregate(rows, WINDOW, FAILED)
    assert (d.failed, d.total) == (4, 6)
    assert d.rate == pytest.approx(4 / 6)
    assert d.previous_failed == 3
    top, second = d.groups
    assert (top.helper_id, top.account_id, top.count, top.previous) == ("helper-1", "acct-1", 3, 1)
    assert top.last_seen == iso(START + timedelta(hours=7))
    assert [(s.text, s.count) for s in top.signatures] == [
        ("contact <uuid> not found", 2), ("timeout after <n>s", 1)]
    assert top.signatures[0].last_seen == iso(START + timedelta(hours=5))
    assert (second.helper_id, second.count, second.previous) == ("helper-2", 1, 0)
    assert trend(top.count, top.previous) == "▲ +2 (+200%)"
    assert trend(second.count, second.previous) == "new"


def test_trend_texts() -> None:
    assert trend(3, None) == ""
    assert trend(0, 0) == "= same"
    assert trend(5, 5) == "= same"
    assert trend(2, 4) == "▼ −2 (−50%)"
    assert trend(4, 0) == "new"


def test_stored_previous_summary_gives_the_trend() -> None:
    rows = [ex(1), ex(2), ex(-5)]  # the -5 row is ignored when a stored summary is given
    stored = {"start": iso(WINDOW.previous.start), "end": iso(WINDOW.start), "failed": 9,
              "total": 90, "groups": {"acct-1/helper-1": 6}}
    d = aggregate(rows, WINDOW, FAILED, stored)
    assert d.trend_source == "stored"
    assert d.previous_failed == 9
    assert d.groups[0].previous == 6
    assert trend(d.groups[0].count, d.groups[0].previous) == "▼ −4 (−67%)"


def test_missing_fields_do_not_break_the_digest() -> None:
    rows = [
        {"execution_id": "e1", "status": "failed", "created_at": iso(START + timedelta(hours=1))},
        {"execution_id": "e2", "helper_id": "h", "created_at": iso(START + timedelta(hours=2))},
        {"execution_id": "e3", "status": "failed", "helper_id": "h", "account_id": "a",
         "error_message": {"weird": "map"}, "created_at": iso(START + timedelta(hours=3))},
        {"execution_id": "e4", "status": "failed", "created_at": "not a time"},
        {"execution_id": "e5", "status": "failed"},
        {"execution_id": "e6", "status": "failed", "created_at": 12345},
    ]
    d = aggregate(rows, WINDOW, FAILED)
    assert (d.failed, d.total, d.skipped) == (2, 3, 3)
    keys = {(g.helper_id, g.account_id) for g in d.groups}
    assert keys == {("?", "?"), ("h", "a")}
    nameless = next(g for g in d.groups if g.helper_id == "?")
    assert nameless.signatures[0].text == NO_MESSAGE
    msg = check(render_digest(DigestResult(digest=d)))
    text = all_text(msg)
    assert "(no helper_id)" in text and "(no account_id)" in text
    # the group without a helper id has nothing to list, so no button
    assert len(buttons(msg)) == 1
    assert "skipped" in render_text(DigestResult(digest=d))


def test_hourly_buckets_and_sparkline() -> None:
    rows = [ex(0.1), ex(0.2), ex(5.5), ex(23.99), ex(2, status="success")]
    d = aggregate(rows, WINDOW, FAILED)
    assert d.bucket_hours == 1 and len(d.hourly) == 24
    assert d.hourly[0] == 2 and d.hourly[5] == 1 and d.hourly[23] == 1 and sum(d.hourly) == 4
    line = sparkline(d.hourly)
    assert len(line) == 24 and line[0] == "█" and line[1] == "▁" and line[5] != "▁"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""
    week = aggregate([ex(1)], Window(START, START + timedelta(days=7)), FAILED)
    assert len(week.hourly) <= 48 and week.bucket_hours == 4


# -- planner -------------------------------------------------------------------------------
def test_planner_large_table_few_accounts_queries() -> None:
    plan = choose(200_000, 1_000, timedelta(hours=48))
    assert plan.strategy == "query"
    assert plan.est_query_items < plan.est_scan_items / 5
    assert choose(200_000, 1_000, timedelta(hours=24)).strategy == "query"
    assert choose(5_000_000, 20_000, timedelta(days=2)).strategy == "query"


def test_planner_small_table_or_many_accounts_scans() -> None:
    assert choose(300, 250, timedelta(hours=48)).strategy == "scan"
    assert choose(200_000, 150_000, timedelta(hours=48)).strategy == "scan"
    assert choose(0, 0, timedelta(hours=48)).strategy == "scan"
    assert choose(40, 20, timedelta(hours=48)).strategy == "scan"
    # a window as long as the history: queries would read everything and then some
    assert choose(200_000, 1_000, HISTORY * 2).strategy == "scan"


def test_planner_force_and_segments() -> None:
    assert choose(200_000, 1_000, timedelta(hours=48), force="scan").strategy == "scan"
    assert choose(200_000, 1_000, timedelta(hours=48), force="scan").reason == "forced"
    assert choose(200_000, 1_000, timedelta(hours=48)).segments == 8
    assert choose(100, 1, timedelta(hours=48)).segments == 1


# -- windows ------------------------------------------------------------------------------
def test_windows_follow_the_cron_in_its_time_zone() -> None:
    now = datetime(2024, 5, 2, 10, 30, tzinfo=UTC)
    w = due_window("0 9 * * *", "UTC", now)
    assert w == Window(datetime(2024, 5, 1, 9, tzinfo=UTC), datetime(2024, 5, 2, 9, tzinfo=UTC))
    # 09:00 in Berlin (summer) is 07:00 UTC
    w = due_window("0 9 * * *", "Europe/Berlin", now)
    assert (w.start.hour, w.end.hour, w.end.day) == (7, 7, 2)
    # weekdays only: Monday's window reaches back to Friday
    monday = datetime(2024, 5, 6, 12, tzinfo=UTC)
    w = due_window("0 9 * * 1-5", "UTC", monday)
    assert w.start == datetime(2024, 5, 3, 9, tzinfo=UTC) and w.length == timedelta(days=3)
    # exactly at the fire time the window ending now is due
    assert due_window("0 9 * * *", "UTC", datetime(2024, 5, 2, 9, tzinfo=UTC)).end.day == 2
    assert latest_fire(trigger("*/5 * * * *", "UTC"), now, before=True) == \
        datetime(2024, 5, 2, 10, 25, tzinfo=UTC)
    # crontab counts weekdays from Sunday = 0 (and 7); APScheduler 3 from Monday = 0
    sunday = datetime(2024, 5, 5, 12, tzinfo=UTC)
    for dow in ("0", "7", "sun", "6-7"):
        assert due_window("0 9 * * " + dow, "UTC", sunday).end == datetime(2024, 5, 5, 9, tzinfo=UTC)
    s = since_last_run("0 9 * * *", "UTC", now)
    assert s.start == datetime(2024, 5, 2, 9, tzinfo=UTC) and s.end == now
    assert WINDOW.previous == Window(START - timedelta(days=1), START)
    with pytest.raises(ValueError):
        Window(START, START)


# -- rendering ----------------------------------------------------------------------------
def _many(groups: int, sigs: int = 8, long: int = 500) -> list[dict[str, Any]]:
    rows = []
    for g in range(groups):
        for s in range(sigs):
            rows.append(ex(g % 24 + s / 100, helper=f"helper-{g:05d}" + "x" * (g % 3 * 40),
                           account=f"acct-{g:05d}",
                           msg=f"error kind {chr(65 + s)} " + "<!here> `tick` & *" * (long // 20)
                           + f" Bearer {JWT}"))
    return rows


@pytest.mark.parametrize(("groups", "top"), [(1, 10), (10, 10), (120, 10), (120, 25)])
def test_many_groups_stay_inside_slack_limits(groups: int, top: int) -> None:
    d = aggregate(_many(groups), WINDOW, FAILED)
    for i, g in enumerate(d.groups[:top]):
        g.helper_name = "Helper " + "ñ" * 200 if i % 2 else None
        g.account_name = "<@U123> Account " * 20
        g.named = True
    msg = check(render_digest(DigestResult(digest=d, top=top)))
    text = json.dumps(msg)
    assert JWT not in text and "<!here>" not in text and "<@U123>" not in text
    shown = buttons(msg)
    assert 1 <= len(shown) <= min(groups, top)
    assert all(b["action_id"] == ids.SHOW_EXECUTIONS for b in shown)
    if groups > len(shown):
        assert "more groups" in all_text(msg)
    # every button value names its helper and the window
    cmd = show_command(shown[0]["value"])
    assert cmd is not None and d.start in cmd and d.end in cmd
    # the generic renderer hands digests to the digest renderer
    assert render_message(DigestResult(digest=d, top=top)) == msg


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 23), st.sampled_from(["failed", "error", "ok", "timeout"]),
                          st.integers(0, 40), st.text(max_size=300)), max_size=120))
def test_any_data_renders_safely(rows: list[tuple[int, str, int, str]]) -> None:
    items = [ex(h + 0.5, status=s, helper=f"h{n}", account=f"a{n % 7}", msg=m) for h, s, n, m in rows]
    d = aggregate(items, WINDOW, FAILED)
    assert d.failed == sum(1 for _, s, _, _ in rows if s != "ok")
    assert sum(g.count for g in d.groups) == d.failed == sum(d.hourly)
    msg = check(render_digest(DigestResult(digest=d)))
    if not d.failed:
        assert len(msg["blocks"]) == 1 and "No failed executions" in all_text(msg)


def test_clean_window_is_one_short_line() -> None:
    d = aggregate([ex(1, status="success"), ex(2, status="success")], WINDOW, FAILED)
    msg = check(render_digest(DigestResult(digest=d)))
    assert len(msg["blocks"]) == 1
    assert "No failed executions" in all_text(msg) and "2 executions" in all_text(msg)
    assert render_text(DigestResult(digest=d)).startswith("No failed executions")


def test_unknown_helper_and_account_show_their_ids() -> None:
    d = aggregate([ex(1, helper="helper-ghost", account="acct-ghost")], WINDOW, FAILED)
    d.groups[0].named = True  # looked up, not found
    text = all_text(render_digest(DigestResult(digest=d)))
    assert "unknown helper" in text and "helper-ghost" in text
    assert "unknown account" in text and "acct-ghost" in text
    console = render_text(DigestResult(digest=d))
    assert "unknown helper (helper-ghost)" in console and "unknown account (acct-ghost)" in console


def test_console_text_shows_the_same_digest() -> None:
    rows = [ex(1, msg=f"401 Bearer {JWT}"), ex(2, msg="contact 12 not found"), ex(-2)]
    d = aggregate(rows, WINDOW, FAILED)
    d.groups[0].helper_name, d.groups[0].account_name, d.groups[0].named = "Tagger", "Acme", True
    text = render_text(DigestResult(digest=d))
    assert JWT not in text
    assert "2 failed of 2 executions (100.0% failure rate)" in text
    assert "Tagger (helper-1) · Acme (acct-1)" in text
    assert "contact <n> not found" in text and "▲ +1 (+100%)" in text


def test_button_value_round_trip_and_refusals() -> None:
    value = show_value("helper 'quoted'; rm", "2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z")
    assert value is not None
    cmd = show_command(value)
    assert cmd is not None and cmd.startswith("digest --helper ")
    assert show_value("h" * 3000, "a", "b") is None
    for bad in ("", "not json", "[]", '{"h": 1, "f": "a", "t": "b"}', '{"h": "x"}'):
        assert show_command(bad) is None


def test_group_key_ties_most_recent_first() -> None:
    d = aggregate([ex(1, helper="old"), ex(9, helper="new")], WINDOW, FAILED)
    assert [g.helper_id for g in d.groups] == ["new", "old"]
    assert isinstance(d.groups[0], Group)
