"""Rules: who may ask, who may decide."""

from __future__ import annotations

from typing import Any

from commands import dispatch
from commands.results import ErrorResult, RequestResult
from testkit import scan_all
from tests.integration.writes.helpers import (
    HELPER,
    SEED_DELETE,
    Clock,
    approve,
    audit,
    created,
    executed,
    helper,
    refused,
    request_item,
    without_audit,
)


# == rules: who may ask, who may decide ==========================================================
def request_disable(svc: Any, user: str) -> RequestResult:
    """``user`` asks, in C_OPS through ``svc``, to disable the demo helper: a pending request."""
    return created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                            svc.context(user, "C_OPS")))


def test_self_approval_is_refused_and_changes_nothing(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_A"), "second person")
    assert without_audit(scan_all(ddb)) == before
    assert request_item(ddb, res.id)["status"] == "PENDING"
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    # the refusal is audited
    assert [(r["actor"], r["action"]) for r in audit(ddb)][-1] == ("U_A", "approve refused")
    # a second person still can
    executed(approve(run, res.id))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_approver_outside_ddb_bot_approvers_is_refused(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["U_BOSS"])
    res = request_disable(svc, "U_A")
    before = without_audit(scan_all(ddb))
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    # nor may a non-approver reject someone else's request
    refused(dispatch(f"/ddb reject {res.id} no", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    executed(dispatch(f"/ddb approve {res.id}", svc.context("U_BOSS", "C_OPS")))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_approver_who_is_also_the_requester_is_still_refused(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["U_BOSS"])
    res = request_disable(svc, "U_BOSS")
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_BOSS", "C_OPS")),
            "second person")
    assert request_item(ddb, res.id)["status"] == "PENDING"


def test_user_group_approvers_without_slack_refuse(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["S0OPS"])
    res = request_disable(svc, "U_A")
    before = without_audit(scan_all(ddb))
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_requester_outside_ddb_bot_requesters_is_refused_at_request_time(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_requesters=["U_A"])
    before = scan_all(ddb)
    for text in (f"/ddb update helpers {HELPER} set enabled=false", "/ddb delete helpers "
                 f"{HELPER}", '/ddb put platforms {"platform_id":"p-9"}',
                 "/ddb gsi create helpers StatusIndex status", f"/ddb {SEED_DELETE}"):
        res = dispatch(text, svc.context("U_C", "C_OPS"))
        assert isinstance(res, ErrorResult), res
        assert "DDB_BOT_REQUESTERS" in res.message
    assert scan_all(ddb) == before
    # a listed requester can; and U_C may still approve it (approvers are unrestricted)
    res = request_disable(svc, "U_A")
    executed(dispatch(f"/ddb approve {res.id}", svc.context("U_C", "C_OPS")))


def test_allowed_channels_refuse_other_channels(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_allowed_channels=["C_OPS"])
    before = scan_all(ddb)
    res = dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                   svc.context("U_A", "C_RANDOM"))
    assert isinstance(res, ErrorResult) and "DDB_BOT_ALLOWED_CHANNELS" in res.message, res
    assert scan_all(ddb) == before
    req = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    res = dispatch(f"/ddb approve {req.id}", svc.context("U_B", "C_RANDOM"))
    assert isinstance(res, ErrorResult) and "DDB_BOT_ALLOWED_CHANNELS" in res.message, res
    assert request_item(ddb, req.id)["status"] == "PENDING"
    executed(dispatch(f"/ddb approve {req.id}", svc.context("U_B", "C_OPS")))


def test_reject_with_reason_then_approve_is_refused(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    done = run("U_B", f"/ddb reject {res.id} wrong helper, use helper-0002")
    assert isinstance(done, RequestResult) and done.ok, done
    assert done.status == "REJECTED" and done.decided_by == "U_B"
    assert done.reason == "wrong helper, use helper-0002"
    stored = request_item(ddb, res.id)
    assert stored["status"] == "REJECTED" and stored["reason"] == done.reason
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_C"), "already REJECTED", "U_B")
    refused(run("U_C", f"/ddb reject {res.id}"), "already REJECTED")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_requester_may_withdraw(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    done = run("U_A", f"/ddb reject {res.id}")
    assert isinstance(done, RequestResult) and done.status == "REJECTED", done
    assert done.decided_by == "U_A" and done.reason is None
    refused(approve(run, res.id), "already REJECTED")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_unknown_request_id_is_refused(run: Any, ddb: Any) -> None:
    before = without_audit(scan_all(ddb))
    refused(approve(run, "RNOSUCHREQUEST"), "no write request")
    refused(run("U_B", "/ddb reject RNOSUCHREQUEST"), "no write request")
    assert without_audit(scan_all(ddb)) == before
    res = run("U_B", "/ddb approve")
    assert isinstance(res, ErrorResult) and res.usage == "/ddb approve <request id>"
