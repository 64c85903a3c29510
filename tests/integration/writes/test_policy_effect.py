"""A write is judged by what it does (issue 18, attack 5): through the dispatcher, on moto.

With ``users: {delete: {approvals: 2}}``, a put that replaces ``user:abc`` with only its
key, or an update that removes every attribute, empties the item: a delete in all but
name. Each needs the delete rule's two approvals, says so, and writes nothing on the first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult
from testkit import scan_all
from tests.integration.writes.helpers import (
    USER_ABC,
    approve,
    created,
    executed,
    get_item,
    refused,
    request_item,
    without_audit,
)

ABC = {"user_id": "user:abc"}
DELETE_TWO = "tables:\n  users: {delete: {approvals: 2}}\n"
EMPTY_IT = '/ddb put users {"user_id":"user:abc"} --replace'
REMOVE_ALL = "/ddb update users user:abc remove cognito_user_id email status updated_at"
PASTED_REMOVE_ALL = ("""aws dynamodb update-item --table-name mfh-dev-users --key """
                     """'{"user_id":{"S":"user:abc"}}' --update-expression """
                     """"REMOVE cognito_user_id, email, #s, updated_at" """
                     """--expression-attribute-names '{"#s":"status"}' --region us-west-2""")
JUDGED = ("Needs 2 approvals from distinct people, not the requester "
          "(approval policy: {}, judged as delete)")
Run = Callable[..., Any]


def _runner(make_services: Any, tmp_path: Path, policy: str, **settings: Any) -> Run:
    path = tmp_path / "policy.yml"
    path.write_text(policy)
    svc = make_services(ddb_bot_policy_file=str(path), **settings)

    def run(user: str, text: str) -> Any:
        return dispatch(text, svc.context(user, "C_OPS"))

    return run


@pytest.fixture
def run(make_services: Any, seeded: Any, user_abc: dict[str, Any], tmp_path: Path) -> Run:
    return _runner(make_services, tmp_path, DELETE_TWO)


@pytest.mark.parametrize(("text", "effect", "after"), [
    (EMPTY_IT, "replaces the item", ABC),
    (REMOVE_ALL, "removes attributes", ABC),
    (PASTED_REMOVE_ALL, "removes attributes", ABC),
    ('/ddb put users {"user_id":"user:abc","email":"abc@example.com","status":"active"} '
     "--replace", "replaces the item",
     {"user_id": "user:abc", "email": "abc@example.com", "status": "active"}),
    ("/ddb update users user:abc set status=active remove email", "removes attributes",
     {**{k: v for k, v in USER_ABC.items() if k != "email"}, "status": "active"}),
])
def test_a_write_that_deletes_data_needs_the_delete_rule_and_one_approval_writes_nothing(
        run: Run, ddb: Any, text: str, effect: str, after: dict[str, Any]) -> None:
    req = created(run("U_A", text))
    assert req.need == 2
    assert req.requirement(str) == JUDGED.format(effect)
    assert request_item(ddb, req.id)["judged"] == f"{effect}, judged as delete"
    before = without_audit(scan_all(ddb))

    first = approve(run, req.id, "U_B")
    assert (first.event, first.status, first.approvals) == ("approved", "PENDING", ["U_B"])
    assert get_item(ddb, "users", ABC) == USER_ABC  # nothing written on the first approval
    state = without_audit(scan_all(ddb))
    assert {t: v for t, v in state.items() if not t.endswith("ddb-bot")} == {
        t: v for t, v in before.items() if not t.endswith("ddb-bot")}

    executed(approve(run, req.id, "U_C"))
    got = get_item(ddb, "users", ABC)
    if "updated_at" in after:  # an update that keeps updated_at sets it to now
        assert got is not None and got.pop("updated_at") != USER_ABC["updated_at"]
        after = {k: v for k, v in after.items() if k != "updated_at"}
    assert got == after


@pytest.mark.parametrize("text", [
    '/ddb put users {"user_id":"user:new","email":"new@example.com"}',  # a new item
    "/ddb update users user:abc set status=active",  # removes nothing
    "/ddb update users user:abc set status=active --no-touch",
])
def test_a_put_of_a_new_item_or_an_update_that_removes_nothing_keeps_its_own_rule(
        run: Run, ddb: Any, text: str) -> None:
    req = created(run("U_A", text))
    assert (req.need, req.judged, req.requirement(str)) == (1, None, "")
    executed(approve(run, req.id, "U_B"))


def test_a_plain_delete_keeps_its_rule_and_message(run: Run, ddb: Any) -> None:
    req = created(run("U_A", "/ddb delete users user:abc"))
    assert (req.need, req.judged) == (2, None)
    assert req.requirement(str) == ("Needs 2 approvals from distinct people, not the requester "
                                    "(approval policy)")


def test_the_undo_of_a_replacing_put_is_judged_by_its_effect_too(
        make_services: Any, seeded: Any, user_abc: dict[str, Any], tmp_path: Path,
        ddb: Any) -> None:
    run = _runner(make_services, tmp_path, "tables:\n  users: {update: {approvals: 2}}\n")
    put = created(run("U_A", '/ddb put users {"user_id":"user:abc","status":"active"} --replace'))
    assert (put.need, put.judged) == (2, "replaces the item, judged as update")
    approve(run, put.id, "U_B")
    executed(approve(run, put.id, "U_C"))
    undo = created(run("U_A", f"/ddb undo {put.id}"))  # a put --replace again: two
    assert (undo.need, undo.judged) == (2, "replaces the item, judged as update")
    approve(run, undo.id, "U_B")
    assert get_item(ddb, "users", ABC) == {"user_id": "user:abc", "status": "active"}
    executed(approve(run, undo.id, "U_C"))
    assert get_item(ddb, "users", ABC) == USER_ABC


def test_the_delete_rules_approvers_apply_to_a_replacing_put(
        make_services: Any, seeded: Any, user_abc: dict[str, Any], tmp_path: Path,
        ddb: Any) -> None:
    run = _runner(make_services, tmp_path,
                  "tables:\n  users: {delete: {approvers: [U_SEC1, U_SEC2]}}\n")
    req = created(run("U_A", EMPTY_IT))
    assert (req.need, req.approvers) == (1, ["U_SEC1", "U_SEC2"])
    assert req.requirement(str) == ("Needs 1 approval in U_SEC1, U_SEC2, not the requester "
                                    "(approval policy: replaces the item, judged as delete)")
    refused(approve(run, req.id, "U_B"), "not one of them")
    assert get_item(ddb, "users", ABC) == USER_ABC
    executed(approve(run, req.id, "U_SEC2"))
    assert get_item(ddb, "users", ABC) == ABC


def test_rules_whose_approver_lists_share_nobody_refuse_the_request_and_write_nothing(
        make_services: Any, seeded: Any, user_abc: dict[str, Any], tmp_path: Path,
        ddb: Any) -> None:
    run = _runner(make_services, tmp_path, "tables:\n  users:\n    put: {approvers: [U_OPS]}\n"
                                           "    delete: {approvers: [U_SEC]}\n")
    before = without_audit(scan_all(ddb))
    res = run("U_A", EMPTY_IT)
    assert isinstance(res, ErrorResult), res
    assert ("this put replaces the item, so it needs the put, update and delete rules at once, "
            "but the put and delete rules of `users` name different approvers (put: U_OPS; "
            "delete: U_SEC)") in res.message
    assert "nothing was requested" in res.message
    assert without_audit(scan_all(ddb)) == before
    created(run("U_A", "/ddb delete users user:abc"))  # each alone is still possible


def test_a_pasted_put_item_never_replaces_so_its_rule_stays_put(run: Run, ddb: Any) -> None:
    item = json.dumps({"user_id": {"S": "user:abc"}})
    res = run("U_A", f"aws dynamodb put-item --table-name mfh-dev-users --item '{item}'")
    assert isinstance(res, ErrorResult) and "--replace" in res.message, res
    assert get_item(ddb, "users", ABC) == USER_ABC
