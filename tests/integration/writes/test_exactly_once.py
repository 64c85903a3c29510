"""Exactly once: a request runs once, only if the item is still what the preview showed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commands import dispatch
from commands.results import RequestResult
from testkit import race, scan_all
from tests.integration.writes.helpers import (
    HELPER,
    Clock,
    approve,
    audit_outcomes,
    created,
    executed,
    full,
    get_item,
    helper,
    preview,
    put_item,
    refused,
    request_item,
    without_audit,
)


# == exactly once ================================================================================
def test_approving_an_executed_request_again_changes_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    executed(approve(run, res.id))
    # someone flips it back by other means; a second approval must not redo the change
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET enabled = :t",
                    ExpressionAttributeValues={":t": {"BOOL": True}})
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_C"), "already EXECUTED", "U_B")
    refused(approve(run, res.id, "U_B"), "already EXECUTED")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_item_changed_since_preview_goes_stale_and_writes_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false status=paused"))
    # a concurrent change of a touched attribute
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": "archived"}})
    changed = helper(ddb)
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert done.error and "changed" in done.error
    assert helper(ddb) == changed  # the concurrent change survives, nothing else written
    assert request_item(ddb, res.id)["status"] == "STALE"
    refused(approve(run, res.id, "U_C"), "already STALE")
    assert helper(ddb) == changed


def test_update_stale_when_the_item_was_deleted(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set priority=1 --no-touch"))
    ddb.delete_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb) is None  # the update did not recreate a half item


def test_update_stale_when_a_removed_or_absent_attribute_appeared(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set priority=1 --no-touch"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET priority = :p",
                    ExpressionAttributeValues={":p": {"N": "7"}})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb)["priority"] == Decimal(7)  # type: ignore[index]


def test_change_of_an_untouched_attribute_does_not_block(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false --no-touch"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET #n = :n", ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":n": {"S": "Renamed"}})
    executed(approve(run, res.id))
    item = helper(ddb)
    assert item is not None and item["enabled"] is False and item["name"] == "Renamed"


def test_delete_stale_when_the_item_changed(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb delete helpers helper-0002"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": "helper-0002"}},
                    UpdateExpression="SET execution_count = execution_count + :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    changed = helper(ddb, "helper-0002")
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb, "helper-0002") == changed


def test_put_new_stale_when_someone_created_it_meanwhile(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"Mine"}'))
    put_item(ddb, "platforms", {"platform_id": "plat-0100", "name": "Theirs"})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "Theirs"}


def test_put_replace_stale_when_an_attribute_it_adds_appeared_meanwhile(
        run: Any, ddb: Any, clock: Clock) -> None:
    """The preview said `logo_alt: (absent) → new`; if it is no longer absent, it is stale."""
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0001","name":"HubSpot",'
                             '"logo_alt":"new"} --replace'))
    assert preview(res)["logo_alt"] == ("(absent)", "new")
    ddb.update_item(TableName=full("platforms"), Key={"platform_id": {"S": "plat-0001"}},
                    UpdateExpression="SET logo_alt = :v",
                    ExpressionAttributeValues={":v": {"S": "theirs"}})
    changed = get_item(ddb, "platforms", {"platform_id": "plat-0001"})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert get_item(ddb, "platforms", {"platform_id": "plat-0001"}) == changed


def _one_executed(results: list[Any]) -> RequestResult:
    for r in results:
        assert isinstance(r, RequestResult), r
    winners = [r for r in results if r.ok]
    assert len(winners) == 1, results
    assert winners[0].status == "EXECUTED"
    for r in results:
        if not r.ok:
            assert r.event == "refused" and "already" in (r.refusal or ""), r
    return winners[0]


def test_concurrent_approvals_by_eight_approvers_execute_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"Pipedrive",'
                             '"slug":"pipedrive"}'))
    results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    winner = _one_executed(results)
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "Pipedrive", "slug": "pipedrive"}
    stored = request_item(ddb, res.id)
    assert stored["status"] == "EXECUTED" and stored["decided_by"] == winner.decided_by
    assert audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1


def test_concurrent_approvals_of_an_update_write_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set execution_count=100"))
    results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    _one_executed(results)
    assert helper(ddb)["execution_count"] == Decimal(100)  # type: ignore[index]
    assert audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1
    assert sum(1 for a, _ in audit_outcomes(ddb, res.id) if a == "approve refused") == 7


def test_double_click_executes_once(run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"X"}'))
    results = race(2, lambda _i: dispatch(f"/ddb approve {res.id}", as_user("U_B")))
    _one_executed(results)
    assert audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "X"}


def test_concurrent_gsi_approvals_run_update_table_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb gsi create helpers StatusIndex status"))
    calls: list[str] = []

    def count(**_kw: Any) -> None:
        calls.append("UpdateTable")

    ddb.meta.events.register("before-call.dynamodb.UpdateTable", count)
    try:
        results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.UpdateTable", count)
    _one_executed(results)
    assert calls == ["UpdateTable"]
    live = ddb.describe_table(TableName=full("helpers"))["Table"]["GlobalSecondaryIndexes"]
    assert "StatusIndex" in {g["IndexName"] for g in live}


def test_restart_between_request_and_approval(
        run: Any, ddb: Any, make_services: Any, services: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    restarted = make_services()  # a new process: nothing shared but the tables
    assert restarted is not services and restarted.requests is not services.requests
    restarted.requests.clock = clock
    assert [r[0] for r in dispatch("/ddb pending", restarted.context("U_B", "C_OPS")).rows] \
        == [res.id]
    executed(dispatch(f"/ddb approve {res.id}", restarted.context("U_B", "C_OPS")))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]
    refused(dispatch(f"/ddb approve {res.id}", make_services().context("U_C", "C_OPS")),
            "already EXECUTED")
    refused(approve(run, res.id, "U_C"), "already EXECUTED")
    assert audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1
