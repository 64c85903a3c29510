"""Undo on moto: each kind round-trips, the performed kind's policy applies, refusals write
nothing, and an item that changes after the undo was asked makes it STALE."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, RequestResult
from dynamo import demo
from dynamo.requests.undo import DAY, UNDO_PK
from dynamo.store import serialize_item
from testkit import race, scan_all
from testkit.race import once_before
from tests.integration.writes.helpers import (
    FAKE_NOW,
    HELPER,
    STATE,
    Clock,
    approve,
    audit,
    created,
    executed,
    full,
    get_item,
    helper,
    iso,
    preview,
    put_item,
    request_item,
    state_items,
    without_audit,
)

AUTH = {"auth_id": "auth-0001"}
PLAT = {"platform_id": "plat-0001"}
NEW_PLAT = {"platform_id": "plat-0100", "name": "Pipedrive", "slug": "pipedrive"}


def _auth(ddb: Any) -> dict[str, Any] | None:
    return get_item(ddb, "platform-connection-auths", AUTH)


def _done(run: Callable[..., Any], text: str) -> RequestResult:
    """Ask as U_A, approve as U_B: the executed source of an undo."""
    return executed(approve(run, created(run("U_A", text)).id))


def _no_secret_outside_undo(ddb: Any) -> None:
    """No seeded secret in any request or audit record (only the kept image holds them)."""
    for pk in ("REQ", "AUDIT"):
        text = json.dumps(state_items(ddb, pk), default=str)
        for secret in demo.DEMO_SECRETS[:3]:
            assert secret not in text, pk


def _refused(result: Any, *fragments: str) -> ErrorResult:
    assert isinstance(result, ErrorResult), result
    for fragment in fragments:
        assert fragment in result.message, result.message
    assert result.usage == "/ddb undo <request id>"
    return result


@contextmanager
def _nothing_written(ddb: Any) -> Iterator[None]:
    before = without_audit(scan_all(ddb))
    yield
    assert without_audit(scan_all(ddb)) == before


# -- round trips ------------------------------------------------------------------------------
def test_update_undo_restores_touched_attributes_and_stamps_updated_at(
        run: Any, ddb: Any, clock: Clock) -> None:
    original = helper(ddb)
    assert original and "description" in original and original["enabled"] is True
    src = _done(run, f"/ddb update helpers {HELPER} set enabled=false remove description")
    assert src.undoable
    clock.now += 60
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    assert undo.undo_of == src.id and undo.change == f"update helpers {HELPER} (undo of {src.id})"
    assert undo.columns == ("current", "restored")
    assert preview(undo) == {"enabled": ("false", "true"),
                             "description": ("(absent)", original["description"]),
                             "updated_at": (iso(FAKE_NOW), iso(FAKE_NOW + 60))}
    stored = request_item(ddb, undo.id)
    assert stored["undo_of"] == src.id and stored["kind"] == "update"
    # its freshness is what the source left: the values it set, its removals absent
    assert stored["before"] == {"enabled": False, "updated_at": iso(FAKE_NOW)}
    assert stored["missing"] == ["description"]
    executed(approve(run, undo.id, "U_D"))
    assert helper(ddb) == {**original, "updated_at": iso(FAKE_NOW + 60)}  # a new change


def test_delete_undo_puts_the_whole_item_back_secrets_included(
        run: Any, ddb: Any, clock: Clock) -> None:
    original = _auth(ddb)
    assert original and original["access_token"] == demo.DEMO_SECRETS[0]
    src = _done(run, "/ddb delete platform-connection-auths auth-0001")
    assert _auth(ddb) is None
    # the executing transaction kept the image, for the undo window
    (kept,) = state_items(ddb, UNDO_PK)
    assert kept["sk"] == src.id and kept["ttl"] == FAKE_NOW + 7 * DAY
    assert kept["image"] == original
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    rows = preview(undo)
    for secret in ("access_token", "refresh_token", "api_key", "api_secret"):
        assert rows[secret] == ("(absent)", "(restored, not shown)")
    assert rows["status"] == ("(absent)", original["status"])
    assert "put platform-connection-auths auth-0001 (undo of" in undo.change
    assert request_item(ddb, undo.id)["restores"] == ["access_token", "api_key", "api_secret",
                                                      "refresh_token"]
    _no_secret_outside_undo(ddb)
    done = executed(approve(run, undo.id, "U_D"))
    assert _auth(ddb) == original  # exactly the deleted item
    assert state_items(ddb, UNDO_PK) == []  # the kept image goes with the undo
    _no_secret_outside_undo(ddb)
    assert done.undoable  # an undo is undoable like any executed put
    # ...and undoing the undo deletes it again, keeping the image once more
    again = executed(approve(run, created(run("U_A", f"/ddb undo {done.id}")).id, "U_B"))
    assert request_item(ddb, again.id)["kind"] == "delete" and _auth(ddb) is None
    assert state_items(ddb, UNDO_PK)[0]["image"] == original


def test_put_of_a_new_item_is_undone_by_a_delete(run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, f"/ddb put platforms {json.dumps(NEW_PLAT)}")
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == NEW_PLAT
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    assert undo.change == f"delete platforms plat-0100 (undo of {src.id})"
    assert preview(undo)["name"] == ("Pipedrive", "(absent)")
    executed(approve(run, undo.id))
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) is None


def test_put_replace_is_undone_by_putting_the_replaced_item_back(
        run: Any, ddb: Any, clock: Clock) -> None:
    original = get_item(ddb, "platforms", PLAT)
    assert original
    new = {"platform_id": "plat-0001", "name": "Replaced", "slug": "replaced"}
    src = _done(run, f"/ddb put platforms {json.dumps(new)} --replace")
    assert get_item(ddb, "platforms", PLAT) == new
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    assert preview(undo)["name"] == ("Replaced", original["name"])
    assert preview(undo)["category"] == ("(absent)", original["category"])
    executed(approve(run, undo.id))
    assert get_item(ddb, "platforms", PLAT) == original


def test_the_policy_of_the_kind_the_undo_performs_applies(
        make_services: Any, seeded: Any, tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  platforms: {delete: {approvals: 2}}\n")
    svc = make_services(ddb_bot_policy_file=str(path))

    def run(user: str, text: str) -> Any:
        return dispatch(text, svc.context(user, "C_OPS"))

    src = _done(run, f"/ddb put platforms {json.dumps(NEW_PLAT)}")  # a put needs one
    undo = created(run("U_C", f"/ddb undo {src.id}"))  # a delete: two
    assert (undo.need, undo.requirement(str)) == (
        2, "Needs 2 approvals from distinct people, not the requester (approval policy)")
    first = approve(run, undo.id, "U_B")
    assert (first.event, first.status) == ("approved", "PENDING")
    assert get_item(svc.client, "platforms", {"platform_id": "plat-0100"}) == NEW_PLAT
    executed(approve(run, undo.id, "U_D"))
    assert get_item(svc.client, "platforms", {"platform_id": "plat-0100"}) is None


# -- refusals: a clear reason, nothing requested ------------------------------------------------
def test_undo_refusals_say_why_and_write_nothing(run: Any, ddb: Any, clock: Clock) -> None:
    pending = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    rejected = created(run("U_A", "/ddb delete platforms plat-0002"))
    run("U_B", f"/ddb reject {rejected.id} no")
    stale = created(run("U_A", "/ddb delete platforms plat-0003"))
    put_item(ddb, "platforms", {**get_item(ddb, "platforms", {"platform_id": "plat-0003"}),
                                "name": "changed"})
    assert approve(run, stale.id).status == "STALE"
    gsi = created(run("U_A", "/ddb gsi create helpers StatusIndex status"))
    cases = [
        (pending.id, ["is PENDING, not EXECUTED", "nothing to undo"]),
        (rejected.id, ["is REJECTED, not EXECUTED"]),
        (stale.id, ["is STALE, not EXECUTED"]),
        ("R0000000000NOPE", ["no write request `R0000000000NOPE`"]),
        (gsi.id, ["index changes are not undone",
                  "request the opposite `/ddb gsi delete helpers …`"]),
    ]
    for rid, fragments in cases:
        with _nothing_written(ddb):
            _refused(run("U_C", f"/ddb undo {rid}"), *fragments)
    with _nothing_written(ddb):
        _refused(run("U_C", "/ddb undo"), "give one request id")


def test_undo_of_another_stage_is_refused(run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, f"/ddb update helpers {HELPER} set enabled=false")
    ddb.update_item(TableName=STATE, Key=serialize_item({"pk": "REQ", "sk": src.id}),
                    UpdateExpression="SET stage = :s",
                    ExpressionAttributeValues={":s": {"S": "prod"}})
    with _nothing_written(ddb):
        _refused(run("U_C", f"/ddb undo {src.id}"), "is for stage `prod`", "cannot undo it")


def test_undo_after_the_window_is_refused_with_the_date(
        make_services: Any, seeded: Any) -> None:
    svc = make_services(ddb_bot_undo_days=2)
    clock = Clock()
    svc.requests.clock = clock

    def run(user: str, text: str) -> Any:
        return dispatch(text, svc.context(user, "C_OPS"))

    src = _done(run, f"/ddb update helpers {HELPER} set enabled=false")
    clock.now += 2 * DAY + 1
    with _nothing_written(svc.client):
        _refused(run("U_C", f"/ddb undo {src.id}"), f"the undo window of {src.id} ended on "
                 "2030-03-19 17:46 UTC", "DDB_BOT_UNDO_DAYS=2", "nothing was requested")
    clock.now -= 2
    created(run("U_C", f"/ddb undo {src.id}"))  # just inside: fine


def test_undo_of_an_item_changed_since_is_refused(run: Any, ddb: Any, clock: Clock) -> None:
    upd = _done(run, f"/ddb update helpers {HELPER} set status=paused")
    put_item(ddb, "helpers", {**helper(ddb), "status": "archived"})  # type: ignore[dict-item]
    deleted = _done(run, "/ddb delete platforms plat-0002")
    put_item(ddb, "platforms", {"platform_id": "plat-0002", "name": "back again"})
    made = _done(run, f"/ddb put platforms {json.dumps(NEW_PLAT)}")
    put_item(ddb, "platforms", {**NEW_PLAT, "api_key": "sk-live-0123456789abcdef"})
    for rid, fragments in [
        (upd.id, [f"changed since {upd.id} executed: attribute `status`"]),
        (deleted.id, [f"changed since {deleted.id} executed: an item with platform_id="
                      "plat-0002 exists again"]),
        (made.id, [f"changed since {made.id} executed: attribute `api_key`"]),
    ]:
        with _nothing_written(ddb):
            result = _refused(run("U_C", f"/ddb undo {rid}"), *fragments)
        assert "sk-live" not in result.message and "archived" not in result.message


def test_undo_of_a_deleted_secret_item_without_its_kept_image_is_refused(
        run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, "/ddb delete platform-connection-auths auth-0001")
    clock.now += 7 * DAY - 10  # inside the window, but the TTL has passed for the image
    ddb.update_item(TableName=STATE, Key=serialize_item({"pk": UNDO_PK, "sk": src.id}),
                    UpdateExpression="SET #t = :t", ExpressionAttributeNames={"#t": "ttl"},
                    ExpressionAttributeValues={":t": {"N": str(int(clock.now) - 1)}})
    with _nothing_written(ddb):
        _refused(run("U_C", f"/ddb undo {src.id}"), "secret attributes", "no longer kept")


# -- after the undo was asked: the normal freshness condition ----------------------------------
def test_item_changed_after_the_undo_was_asked_makes_it_stale(
        run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, f"/ddb update helpers {HELPER} set status=paused")
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    put_item(ddb, "helpers", {**helper(ddb), "status": "archived"})  # type: ignore[dict-item]
    theirs = helper(ddb)
    done = approve(run, undo.id, "U_D")
    assert done.status == "STALE" and "changed since the preview" in (done.error or "")
    assert helper(ddb) == theirs


def test_change_racing_the_undos_approval_wins_and_the_undo_is_stale(
        run: Any, ddb: Any, clock: Clock) -> None:
    """The other change lands between the approval's read and its transaction."""
    src = _done(run, f"/ddb put platforms {json.dumps(NEW_PLAT)}")
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    with once_before(ddb, "TransactWriteItems", lambda: put_item(
            ddb, "platforms", {**NEW_PLAT, "name": "Pipedrive CRM"})) as fired:
        done = approve(run, undo.id)
    assert fired and done.status == "STALE"
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == {
        **NEW_PLAT, "name": "Pipedrive CRM"}


def test_concurrent_approvals_of_a_secret_delete_and_its_undo_run_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    """Three transaction items: the loser still reads "already EXECUTED" (reason 1)."""
    original = _auth(ddb)
    src = created(run("U_A", "/ddb delete platform-connection-auths auth-0001"))
    for rid, want in [(src.id, None), (None, original)]:
        if rid is None:
            rid = created(run("U_C", f"/ddb undo {src.id}")).id
        results = race(6, lambda i, r=rid: dispatch(f"/ddb approve {r}", as_user(f"U_AP{i}")))
        assert [r.status for r in results if r.ok] == ["EXECUTED"], results
        for r in results:
            assert r.ok or ("already EXECUTED" in (r.refusal or "")), r
        assert _auth(ddb) == want
        assert len([a for a in audit(ddb) if a["request_id"] == rid
                    and a["action"] == "approve" and a["outcome"] == "EXECUTED"]) == 1
    assert state_items(ddb, UNDO_PK) == []


def test_secret_changed_while_a_delete_runs_makes_it_stale_and_keeps_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    """The kept image must be exact: each secret is pinned to what the delete read."""
    req = created(run("U_A", "/ddb delete platform-connection-auths auth-0001"))
    with once_before(ddb, "TransactWriteItems", lambda: put_item(
            ddb, "platform-connection-auths", {**_auth(ddb), "access_token": "rotated"})) as fired:
        done = approve(run, req.id)
    assert fired and done.status == "STALE"
    assert _auth(ddb)["access_token"] == "rotated"  # type: ignore[index]
    assert state_items(ddb, UNDO_PK) == []


def test_secret_added_to_an_item_before_its_delete_runs_makes_it_stale(
        run: Any, ddb: Any, clock: Clock) -> None:
    """A delete previewed without secrets would keep no image: it must not run."""
    req = created(run("U_A", "/ddb delete platforms plat-0002"))
    put_item(ddb, "platforms", {**get_item(ddb, "platforms", {"platform_id": "plat-0002"}),
                                "api_key": "sk-live-0123456789abcdef"})
    assert approve(run, req.id).status == "STALE"
    assert get_item(ddb, "platforms", {"platform_id": "plat-0002"})
    assert state_items(ddb, UNDO_PK) == []


def test_secret_added_to_an_item_before_its_replace_runs_makes_it_stale(
        run: Any, ddb: Any, clock: Clock) -> None:
    """A replace would drop the secret, and its undo could not bring it back."""
    new = {"platform_id": "plat-0001", "name": "Replaced", "slug": "replaced"}
    req = created(run("U_A", f"/ddb put platforms {json.dumps(new)} --replace"))
    with_secret = {**get_item(ddb, "platforms", PLAT), "api_key": "sk-live-0123456789abcdef"}
    put_item(ddb, "platforms", with_secret)
    assert approve(run, req.id).status == "STALE"
    assert get_item(ddb, "platforms", PLAT) == with_secret


def test_kept_image_gone_when_the_undo_is_approved_fails_it_writing_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, "/ddb delete platform-connection-auths auth-0001")
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    ddb.delete_item(TableName=STATE, Key=serialize_item({"pk": UNDO_PK, "sk": src.id}))
    done = approve(run, undo.id)
    assert done.status == "FAILED" and "no longer kept" in (done.error or "")
    assert _auth(ddb) is None
    assert request_item(ddb, undo.id)["status"] == "FAILED"
    assert all("sk-" not in json.dumps(r, default=str) for r in audit(ddb))


@pytest.mark.parametrize("days", [0, 401])
def test_undo_days_outside_1_to_400_stops_start(days: int) -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="DDB_BOT_UNDO_DAYS"):
        load_settings(ddb_bot_undo_days=days)


def test_undo_of_a_request_in_full_name_table_keeps_its_table(
        run: Any, ddb: Any, clock: Clock) -> None:
    src = _done(run, f"/ddb update {full('helpers')} {HELPER} set status=paused")
    undo = created(run("U_C", f"/ddb undo {src.id}"))
    executed(approve(run, undo.id))
    assert helper(ddb)["status"] != "paused"  # type: ignore[index]
