"""Quorum through the commands and the state machine on moto: distinct approvers, races."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from commands import dispatch
from dynamo import demo
from testkit import race, scan_all

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}
POLICY = """\
tables:
  users: {update: {approvals: 2}, delete: {approvals: 3}}
  api-keys: {"*": {approvals: 2, approvers: [U_SEC1, U_SEC2, U_SEC3]}}
  helpers: {gsi-create: {approvals: 2}}
break_glass: [U0ONCALL]
"""


@pytest.fixture
def quorum(make_services: Any, seeded: Any, tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    return make_services(ddb_bot_policy_file=str(path))


def run(services: Any, user: str, text: str) -> Any:
    return dispatch(text, services.context(user, "C_OPS"))


def _status(services: Any) -> str:
    return services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)["Item"]["status"]["S"]


def _ask(services: Any, text: str, user: str = "U_ALICE") -> str:
    result = run(services, user, text)
    assert result.event == "created", result
    return result.id


def test_two_distinct_approvals_run_the_change_once(quorum: Any) -> None:
    rid = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")
    created = quorum.requests.get(rid)
    assert (created.need, created.approvers, created.approvals) == (2, [], [])
    before = _status(quorum)

    first = run(quorum, "U_BOB", f"approve {rid}")
    assert (first.event, first.status, first.approvals) == ("approved", "PENDING", ["U_BOB"])
    assert first.progress(lambda u: "@" + u) == "1 of 2 approvals: @U_BOB"
    assert _status(quorum) == before  # nothing written on a non-final approval

    again = run(quorum, "U_BOB", f"approve {rid}")
    assert again.event == "refused"
    assert "already approved" in again.refusal and "counts once" in again.refusal
    assert "1 of 2 approvals" in again.refusal
    assert quorum.requests.get(rid).approvals == ["U_BOB"]

    done = run(quorum, "U_CAROL", f"approve {rid}")
    assert (done.event, done.status, done.decided_by) == ("decided", "EXECUTED", "U_CAROL")
    assert done.approvals == ["U_BOB", "U_CAROL"]
    assert _status(quorum) == "disabled"
    audit = [(r.actor, r.action, r.outcome) for r in quorum.requests.audit.recent(20)]
    assert ("U_BOB", "approve", "PENDING") in audit
    assert ("U_CAROL", "approve", "EXECUTED") in audit
    assert ("U_BOB", "approve refused") in {(a, b) for a, b, _ in audit}


def test_requester_cannot_approve_even_as_one_of_several(quorum: Any) -> None:
    rid = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")
    run(quorum, "U_BOB", f"approve {rid}")
    refused = run(quorum, "U_ALICE", f"approve {rid}")
    assert refused.event == "refused" and "second person" in refused.refusal
    assert quorum.requests.get(rid).approvals == ["U_BOB"]


def test_approver_outside_the_policys_approvers_is_refused(quorum: Any) -> None:
    key = quorum.client.scan(TableName="mfh-dev-api-keys", Limit=1)["Items"][0]["key_id"]["S"]
    rid = _ask(quorum, f"update api-keys {key} set name=rotated")
    before = scan_all(quorum.client)
    refused = run(quorum, "U_BOB", f"approve {rid}")
    assert refused.event == "refused"
    assert "U_SEC1, U_SEC2, U_SEC3" in refused.refusal and "not one of them" in refused.refusal
    reject = run(quorum, "U_BOB", f"reject {rid} no")
    assert reject.event == "refused" and "approvers" in reject.refusal
    after = scan_all(quorum.client)
    assert {k: v for k, v in after.items() if k != "mfh-dev-ddb-bot"} == \
        {k: v for k, v in before.items() if k != "mfh-dev-ddb-bot"}
    assert quorum.requests.get(rid).status.value == "PENDING"
    assert run(quorum, "U_SEC1", f"approve {rid}").event == "approved"
    assert run(quorum, "U_SEC2", f"approve {rid}").status == "EXECUTED"


def test_two_last_approvals_at_once_run_the_change_exactly_once(quorum: Any) -> None:
    for _ in range(3):  # several rounds: the interleaving differs each time
        rid = _ask(quorum, f"update helpers {demo.DEMO_HELPER_ID} set execution_count=0")
        # one approval is needed by default here; make it a quorum of 3 with 2 given
        quorum.client.update_item(
            TableName="mfh-dev-ddb-bot", Key={"pk": {"S": "REQ"}, "sk": {"S": rid}},
            UpdateExpression="SET #n = :n, approvals = :a", ExpressionAttributeNames={"#n": "need"},
            ExpressionAttributeValues={":n": {"N": "3"}, ":a": {"SS": ["U_B1", "U_B2"]}})
        results = race(2, lambda i, rid=rid: run(quorum, f"U_LAST{i}", f"approve {rid}"))
        statuses = sorted((r.event, r.status) for r in results)
        assert statuses == [("decided", "EXECUTED"), ("refused", "")], statuses
        loser = next(r for r in results if r.event == "refused")
        assert "already EXECUTED" in loser.refusal
        executed = [r for r in quorum.requests.audit.recent(50)
                    if r.action == "approve" and r.outcome == "EXECUTED" and r.request_id == rid]
        assert len(executed) == 1
        assert len(quorum.requests.get(rid).approvals) == 3


def test_an_approval_overtaken_by_the_final_one_is_still_reported_and_audited_as_recorded(
        quorum: Any) -> None:
    """Between a non-final approval's write and its read-back, another approval completes
    the quorum and runs the change: the first is still told (and audited) that its approval
    was recorded, and exactly one approval is audited as the one that executed it."""
    rid = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")  # needs 2
    events = quorum.client.meta.events
    overtaken: list[Any] = []

    def final_approval_lands(**_kw: Any) -> None:
        events.unregister("after-call.dynamodb.UpdateItem", final_approval_lands)
        overtaken.append(run(quorum, "U_CAROL", f"approve {rid}"))

    events.register("after-call.dynamodb.UpdateItem", final_approval_lands)
    first = run(quorum, "U_BOB", f"approve {rid}")
    assert (overtaken[0].event, overtaken[0].status) == ("decided", "EXECUTED"), overtaken
    assert (first.event, first.status, first.approvals) == ("approved", "PENDING", ["U_BOB"])
    assert _status(quorum) == "disabled"
    outcomes = sorted((r.actor, r.outcome) for r in quorum.requests.audit.recent(20)
                      if r.action == "approve" and r.request_id == rid)
    assert outcomes == [("U_BOB", "PENDING"), ("U_CAROL", "EXECUTED")], outcomes


def test_concurrent_non_final_approvals_each_count_and_the_last_runs_it(quorum: Any) -> None:
    rid = _ask(quorum, f"delete users {demo.DEMO_USER_ID}")  # needs 3
    results = race(3, lambda i: run(quorum, f"U_APP{i}", f"approve {rid}"))
    events = sorted(r.event for r in results)
    assert events == ["approved", "approved", "decided"], [(r.event, r.refusal) for r in results]
    req = quorum.requests.get(rid)
    assert req.status.value == "EXECUTED"
    assert req.approvals == ["U_APP0", "U_APP1", "U_APP2"]
    assert "Item" not in quorum.client.get_item(TableName="mfh-dev-users", Key=USER_KEY)


def test_the_same_approver_racing_themself_counts_once(quorum: Any) -> None:
    rid = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")
    results = race(4, lambda _i: run(quorum, "U_BOB", f"approve {rid}"))
    assert sorted(r.event for r in results) == ["approved", "refused", "refused", "refused"]
    assert all("counts once" in r.refusal for r in results if r.event == "refused")
    assert quorum.requests.get(rid).approvals == ["U_BOB"]
    assert quorum.requests.get(rid).status.value == "PENDING"


def test_gsi_change_waits_for_its_quorum(quorum: Any) -> None:
    rid = _ask(quorum, "gsi create helpers StatusIndex status --projection KEYS_ONLY")
    assert run(quorum, "U_BOB", f"approve {rid}").event == "approved"
    gsis = quorum.client.describe_table(TableName="mfh-dev-helpers")["Table"].get(
        "GlobalSecondaryIndexes", [])
    assert "StatusIndex" not in {g["IndexName"] for g in gsis}
    assert run(quorum, "U_BOB", f"approve {rid}").event == "refused"
    done = run(quorum, "U_CAROL", f"approve {rid}")
    assert done.status == "EXECUTED" and done.approvals == ["U_BOB", "U_CAROL"]
    gsis = quorum.client.describe_table(TableName="mfh-dev-helpers")["Table"]["GlobalSecondaryIndexes"]
    assert "StatusIndex" in {g["IndexName"] for g in gsis}


def test_reject_after_a_partial_approval_ends_it(quorum: Any) -> None:
    rid = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")
    run(quorum, "U_BOB", f"approve {rid}")
    rejected = run(quorum, "U_CAROL", f"reject {rid} wrong user")
    assert rejected.status == "REJECTED" and rejected.reason == "wrong user"
    assert run(quorum, "U_DAN", f"approve {rid}").event == "refused"
    assert _status(quorum) != "disabled"


def test_help_shows_each_person_only_what_they_may_run(make_services: Any, tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    services = make_services(ddb_bot_requesters=["U_REQ"], ddb_bot_approvers=["U_APPR"],
                             ddb_bot_policy_file=str(path))

    def listed(user: str) -> set[str]:
        text = " ".join(body for _, body in run(services, user, "help").sections)
        return {name for name in ("update", "delete", "put", "gsi", "approve", "reject",
                                  "get", "history", "pending") if f"/ddb {name} " in text
                or f"/ddb {name}`" in text}

    reader = listed("U_READER")
    assert reader == {"get", "history", "pending"}
    assert listed("U_REQ") == {"get", "history", "pending", "update", "delete", "put", "gsi",
                               "reject"}
    assert listed("U_APPR") == {"get", "history", "pending", "approve", "reject"}
    assert listed("U_SEC1") == {"get", "history", "pending", "approve", "reject"}
    everyone = make_services()
    text = " ".join(body for _, body in dispatch("help", everyone.context("U_X")).sections)
    assert "/ddb approve" in text and "/ddb update" in text


def test_app_home_lists_only_requests_the_person_may_still_approve(quorum: Any) -> None:
    from commands.home import home_data

    key = quorum.client.scan(TableName="mfh-dev-api-keys", Limit=1)["Items"][0]["key_id"]["S"]
    secured = _ask(quorum, f"update api-keys {key} set name=rotated")
    plain = _ask(quorum, f"update users {demo.DEMO_USER_ID} set status=disabled")

    def waiting(user: str) -> set[str]:
        return {r.id for r in home_data(quorum.context(user)).to_approve}

    assert waiting("U_BOB") == {plain}  # not among api-keys' approvers
    assert waiting("U_SEC1") == {secured, plain}
    run(quorum, "U_SEC1", f"approve {secured}")
    assert waiting("U_SEC1") == {plain}  # already approved: nothing left to do there
    assert waiting("U_SEC2") == {secured, plain}
    assert waiting("U_ALICE") == set()  # their own


def test_policy_approvers_decide_without_being_readers(make_services: Any, seeded: Any,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    services = make_services(ddb_bot_readers=["U_ALICE", "U_BOB"], ddb_bot_policy_file=str(path))
    key = services.client.scan(TableName="mfh-dev-api-keys", Limit=1)["Items"][0]["key_id"]["S"]
    rid = _ask(services, f"update api-keys {key} set name=rotated")
    assert run(services, "U_SEC1", "tables").ok is False  # not a reader: reads are refused
    assert run(services, "U_SEC1", f"approve {rid}").event == "approved"
    assert run(services, "U_OUTSIDER", f"approve {rid}").ok is False  # neither reader nor approver
    assert run(services, "U_SEC2", f"approve {rid}").status == "EXECUTED"
