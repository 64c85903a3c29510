"""Expiry of pending requests; the pending list and a request's history."""

from __future__ import annotations

from typing import Any

from commands import dispatch
from commands.results import ErrorResult, TableResult
from testkit import scan_all
from tests.integration.writes.helpers import (
    FAKE_NOW,
    HELPER,
    STATE,
    Clock,
    approve,
    audit,
    audit_outcomes,
    created,
    executed,
    helper,
    refused,
    request_item,
    without_audit,
)


# == expiry =====================================================================================
def test_late_approval_is_refused_as_expired(
        run: Any, ddb: Any, services: Any, clock: Clock) -> None:
    ttl = int(services.settings.ddb_bot_request_ttl.total_seconds())
    assert ttl == 30 * 60
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    assert res.expires_at == FAKE_NOW + ttl
    clock.now = FAKE_NOW + ttl  # expires_at is exclusive
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id), "expired")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    stored = request_item(ddb, res.id)
    assert stored["status"] == "EXPIRED"
    after = without_audit(scan_all(ddb))
    assert {t: v for t, v in after.items() if t != STATE} == \
        {t: v for t, v in before.items() if t != STATE}
    refused(approve(run, res.id, "U_C"), "already EXPIRED")
    assert ("expire", "EXPIRED") in audit_outcomes(ddb, res.id)


def test_approval_just_before_expiry_runs(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    clock.now = res.expires_at - 1  # type: ignore[operator]
    executed(approve(run, res.id))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_shorter_request_ttl_from_settings(seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_request_ttl="5m")
    svc.requests.clock = clock_ = Clock()
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    assert res.expires_at == FAKE_NOW + 300
    clock_.now = FAKE_NOW + 301
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")), "expired")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_expire_due_expires_only_overdue_pending_and_is_idempotent(
        run: Any, ddb: Any, services: Any, clock: Clock) -> None:
    old = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    old_done = created(run("U_A", "/ddb update helpers helper-0002 set enabled=false"))
    executed(approve(run, old_done.id))
    old_rejected = created(run("U_A", "/ddb update helpers helper-0003 set enabled=false"))
    run("U_B", f"/ddb reject {old_rejected.id}")
    clock.now = FAKE_NOW + 20 * 60
    fresh = created(run("U_A", "/ddb delete helpers helper-0004"))
    clock.now = FAKE_NOW + 31 * 60  # past the first requests' TTL, not the fresh one's

    expired = services.requests.expire_due()
    assert [r.id for r in expired] == [old.id]
    assert expired[0].status.value == "EXPIRED"
    assert services.requests.expire_due() == []
    assert request_item(ddb, old.id)["status"] == "EXPIRED"
    assert request_item(ddb, old_done.id)["status"] == "EXECUTED"
    assert request_item(ddb, old_rejected.id)["status"] == "REJECTED"
    assert request_item(ddb, fresh.id)["status"] == "PENDING"
    assert [r[0] for r in run("U_B", "/ddb pending").rows] == [fresh.id]
    refused(approve(run, old.id), "already EXPIRED")
    executed(approve(run, fresh.id))
    assert helper(ddb, "helper-0004") is None
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    expire_records = [r for r in audit(ddb) if r["action"] == "expire"]
    assert [(r["actor"], r["request_id"]) for r in expire_records] == [("ddb-bot", old.id)]


# == pending and history =========================================================================
def test_pending_lists_open_requests(run: Any, ddb: Any, clock: Clock) -> None:
    empty = run("U_B", "/ddb pending")
    assert isinstance(empty, TableResult) and empty.rows == [] and empty.notes
    first = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    clock.now += 1
    second = created(run("U_C", "/ddb delete helpers helper-0002"))
    clock.now += 1
    third = created(run("U_A", "/ddb gsi create helpers StatusIndex status"))
    executed(approve(run, second.id))
    res = run("U_B", "/ddb pending")
    assert isinstance(res, TableResult), res
    assert [r[0] for r in res.rows] == [third.id, first.id]  # newest first
    row = {r[0]: r for r in res.rows}[first.id]
    assert row[1] == f"update helpers {HELPER}" and row[2] == "<@U_A>"
    assert run("U_B", "/ddb pending extra").ok is False


def test_history_lists_every_step_with_its_actor(run: Any, ddb: Any, clock: Clock) -> None:
    a = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    refused(approve(run, a.id, "U_A"))
    executed(approve(run, a.id, "U_B"))
    b = created(run("U_C", "/ddb delete helpers helper-0002"))
    run("U_B", f"/ddb reject {b.id} not today")
    c = created(run("U_A", "/ddb delete helpers helper-0003"))
    clock.now += 3600
    refused(approve(run, c.id, "U_B"), "expired")

    res = run("U_B", "/ddb history --limit 50")
    assert isinstance(res, TableResult), res
    steps = [(row[1], row[2], row[3], row[5]) for row in reversed(res.rows)]  # oldest first
    assert steps == [
        ("<@U_A>", "request", a.id, "PENDING"),
        ("<@U_A>", "approve refused", a.id, steps[1][3]),
        ("<@U_B>", "approve", a.id, "EXECUTED"),
        ("<@U_C>", "request", b.id, "PENDING"),
        ("<@U_B>", "reject", b.id, "REJECTED"),
        ("<@U_A>", "request", c.id, "PENDING"),
        ("ddb-bot", "expire", c.id, "EXPIRED"),
        ("<@U_B>", "approve refused", c.id, steps[7][3]),
    ]
    assert "second person" in steps[1][3] and "expired" in steps[7][3]
    assert {row[4] for row in res.rows if row[3] == a.id and row[2] != "approve refused"} == \
        {f"update helpers {HELPER}"}
    # the audit records keep the preview and the reason
    rejected = next(r for r in audit(ddb) if r["action"] == "reject")
    assert rejected["detail"]["reason"] == "not today"
    assert rejected["detail"]["preview"]
    limited = run("U_B", "/ddb history --limit 2")
    assert len(limited.rows) == 2
    assert isinstance(run("U_B", "/ddb history --limit 0"), ErrorResult)
