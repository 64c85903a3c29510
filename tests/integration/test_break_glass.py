"""Break-glass on moto: the state machine through the commands, its refusals, races and faults.

Every refusal reads the tables back: nothing but its audit record may have been written.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, RequestResult, TableResult
from dynamo import demo
from dynamo.audit_export import read_records, to_export
from dynamo.requests.break_glass import REASON_MAX
from dynamo.store import deserialize_item
from testkit import STAGE, race, scan_all
from testkit.race import hold_first, once_before

STATE = f"mfh-{STAGE}-ddb-bot"
HELPER = demo.DEMO_HELPER_ID
HELPER_KEY = {"helper_id": {"S": HELPER}}
POLICY = """\
tables:
  api-keys: {"*": {approvals: 2, approvers: [U_SEC1, U_SEC2]}}
break_glass: [U_ONCALL, S0ONCALL]
"""
BG = '--break-glass "INC-42: runaway helper"'


@pytest.fixture
def bg(make_services: Any, seeded: Any, tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    return make_services(ddb_bot_policy_file=str(path), ddb_bot_approvers=["U_BOB", "U_CAROL",
                                                                           "U_ONCALL"])


def run(services: Any, user: str, text: str) -> Any:
    return dispatch(text, services.context(user, "C_OPS"))


def helper(services: Any) -> dict[str, Any]:
    return deserialize_item(services.client.get_item(
        TableName=f"mfh-{STAGE}-helpers", Key=HELPER_KEY, ConsistentRead=True)["Item"])


def request_item(services: Any, rid: str) -> dict[str, Any]:
    raw = services.client.get_item(TableName=STATE, Key={"pk": {"S": "REQ"}, "sk": {"S": rid}},
                                   ConsistentRead=True)
    return deserialize_item(raw["Item"])


def without_audit(tables: dict[str, Any]) -> dict[str, Any]:
    """Every table, the state table without its audit records (refusals are audited)."""
    return {t: [i for i in items if i["pk"] != {"S": "AUDIT"}] if t == STATE else items
            for t, items in tables.items()}


def audit(services: Any) -> list[dict[str, Any]]:
    """Audit records as the export shows them, oldest first."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return [to_export(r) for r in read_records(services.client, STATE, now - timedelta(days=1),
                                               now + timedelta(days=1))]


def ran(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert (result.event, result.status, result.break_glass) == ("break-glass", "EXECUTED", True), \
        result
    return result


# == running ====================================================================================
def test_a_member_runs_an_update_at_once_recorded_executed_for_review(bg: Any) -> None:
    before = helper(bg)
    done = ran(run(bg, "U_ONCALL", f"update helpers {HELPER} set enabled=false {BG}"))
    assert done.decided_by == done.requester == "U_ONCALL"
    assert done.break_glass_reason == "INC-42: runaway helper"
    assert done.needs_review and done.reviewed_by is None
    assert ("enabled", "true", "false") in done.preview
    after = helper(bg)
    assert after["enabled"] is False and after["updated_at"] != before["updated_at"]

    item = request_item(bg, done.id)
    assert item["status"] == "EXECUTED" and item["break_glass"] is True
    assert item["break_glass_reason"] == "INC-42: runaway helper"
    assert item["decided_by"] == "U_ONCALL" and item["exec_token"].startswith(f"bg-{done.id}-")
    assert item["notified"] == "EXECUTED"  # no outcome DM to the executor about their own change
    assert "reviewed_by" not in item
    assert [r.id for r in bg.requests.list(statuses=["PENDING"])] == []  # nothing left pending
    assert [r.id for r in bg.requests.needs_review()] == [done.id]

    exported = [r for r in audit(bg) if r["request_id"] == done.id]
    assert [(r["action"], r["outcome"], r["break_glass"], r["reason"]) for r in exported] == [
        ("break-glass", "EXECUTED", True, "INC-42: runaway helper")]
    assert exported[0]["actor"] == "U_ONCALL" and exported[0]["table"] == "helpers"


def test_a_credential_pasted_into_the_reason_is_never_stored_or_shown(bg: Any) -> None:
    token = "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx"
    done = ran(run(bg, "U_ONCALL", f'update helpers {HELPER} set enabled=false '
                                   f'--break-glass "INC-1 bot token {token} leaked"'))
    assert token not in json.dumps(request_item(bg, done.id), default=str)
    assert token not in (done.break_glass_reason or "") and "INC-1 bot token" in done.break_glass_reason
    assert token not in json.dumps(audit(bg), default=str)


def test_delete_and_put_run_by_break_glass_too(bg: Any) -> None:
    oauth = bg.client.scan(TableName=f"mfh-{STAGE}-oauth-states", Limit=1)["Items"][0]
    state_id = oauth["state_id"]["S"]
    deleted = ran(run(bg, "U_ONCALL", f'delete oauth-states {state_id} --break-glass "stuck login"'))
    assert deleted.change.startswith("delete oauth-states")
    assert "Item" not in bg.client.get_item(TableName=f"mfh-{STAGE}-oauth-states",
                                            Key={"state_id": {"S": state_id}})
    put = ran(run(bg, "U_ONCALL", 'put platforms {"platform_id":"plat-0100","name":"Pipedrive",'
                                  '"slug":"pipedrive"} --break-glass "partner launch"'))
    got = bg.client.get_item(TableName=f"mfh-{STAGE}-platforms",
                             Key={"platform_id": {"S": "plat-0100"}})["Item"]
    assert got["slug"] == {"S": "pipedrive"}
    assert {r.id for r in bg.requests.needs_review()} == {deleted.id, put.id}


def test_a_break_glass_delete_of_secrets_can_be_undone_whole(bg: Any) -> None:
    """The break-glass transaction keeps the deleted item's image as an approved delete does,
    so its undo (approved by someone else) puts back every attribute, secrets included."""
    auths = f"mfh-{STAGE}-platform-connection-auths"
    key = {"auth_id": {"S": "auth-0001"}}
    original = bg.client.get_item(TableName=auths, Key=key, ConsistentRead=True)["Item"]
    assert "access_token" in original  # the seeded auth holds secrets
    deleted = ran(run(bg, "U_ONCALL", 'delete platform-connection-auths auth-0001 '
                                      '--break-glass "leaked token"'))
    assert "Item" not in bg.client.get_item(TableName=auths, Key=key, ConsistentRead=True)
    undo = run(bg, "U_ONCALL", f"undo {deleted.id}")
    assert isinstance(undo, RequestResult) and undo.status == "PENDING", undo
    done = run(bg, "U_BOB", f"approve {undo.id}")
    assert isinstance(done, RequestResult) and done.status == "EXECUTED", done
    assert bg.client.get_item(TableName=auths, Key=key, ConsistentRead=True)["Item"] == original


def test_a_group_member_may_break_glass(bg: Any) -> None:
    bg.requests.member = lambda ids, user: user in ids or ("S0ONCALL" in ids and user == "U_DAVE")
    ran(run(bg, "U_DAVE", f"update helpers {HELPER} set enabled=false {BG}"))


# == refusals: nothing runs, nothing is left pending ============================================
def _refused(services: Any, user: str, text: str) -> str:
    before = without_audit(scan_all(services.client))
    result = run(services, user, text)
    assert isinstance(result, ErrorResult), result
    assert without_audit(scan_all(services.client)) == before
    return result.message


def test_someone_outside_break_glass_is_refused_audited_and_nothing_runs(bg: Any) -> None:
    message = _refused(bg, "U_BOB", f"update helpers {HELPER} set enabled=false {BG}")
    assert "not in the approval policy's `break_glass` list" in message
    assert "Ask for approval instead (drop --break-glass)" in message
    refused = [r for r in audit(bg) if r["action"] == "break-glass refused"]
    assert len(refused) == 1
    assert (refused[0]["actor"], refused[0]["break_glass"], refused[0]["reason"],
            refused[0]["table"], refused[0]["kind"]) == (
        "U_BOB", True, "INC-42: runaway helper", "helpers", "update")
    assert "break_glass" in refused[0]["outcome"]
    assert bg.requests.list() == []


def test_without_break_glass_members_nobody_may(services: Any, seeded: Any) -> None:
    message = _refused(services, "U_ONCALL", f"update helpers {HELPER} set enabled=false {BG}")
    assert "names no break-glass members" in message


@pytest.mark.parametrize(("tail", "says"), [
    ('--break-glass ""', "needs a reason"),
    ("--break-glass '   '", "needs a reason"),
    ("--break-glass", "needs a value"),
    ("--break-glass --no-touch", "needs a reason"),
    (f'--break-glass "{"x" * (REASON_MAX + 1)}"', f"keep it to {REASON_MAX}"),
])
def test_a_missing_or_overlong_reason_is_a_usage_error(bg: Any, tail: str, says: str) -> None:
    before = scan_all(bg.client)
    result = run(bg, "U_ONCALL", f"update helpers {HELPER} set enabled=false {tail}")
    assert isinstance(result, ErrorResult) and says in result.message, result
    assert "--break-glass" in result.usage
    assert scan_all(bg.client) == before  # not even an audit record: it never got that far


def test_index_changes_cannot_break_glass(bg: Any) -> None:
    for text in ("gsi create helpers StatusIndex status", "gsi delete helpers AccountIdIndex"):
        message = _refused(bg, "U_ONCALL", f"{text} {BG}")
        assert "cannot run an index change" in message and "takes minutes" in message
        assert "Ask for approval instead" in message
    kinds = [r["kind"] for r in audit(bg) if r["action"] == "break-glass refused"]
    assert kinds == ["gsi-create", "gsi-delete"]
    assert bg.requests.list() == []


def test_a_bad_plan_is_still_a_usage_error_and_runs_nothing(bg: Any) -> None:
    message = _refused(bg, "U_ONCALL", f"update helpers helper-nope set enabled=false {BG}")
    assert "no item" in message


# == the item changed between the preview and the write =======================================
def test_item_changed_between_plan_and_write_is_stale_and_writes_nothing(bg: Any) -> None:
    # someone else's write lands after our preview was read
    with once_before(bg.client, "TransactWriteItems", lambda: bg.client.update_item(
            TableName=f"mfh-{STAGE}-helpers", Key=HELPER_KEY, UpdateExpression="SET description = :d",
            ExpressionAttributeValues={":d": {"S": "changed meanwhile"}})) as fired:
        result = run(bg, "U_ONCALL", f"update helpers {HELPER} set description=mine {BG}")
    assert fired
    assert isinstance(result, RequestResult) and result.status == "STALE", result
    assert "changed between the preview and the write; nothing was written" in (result.error or "")
    assert helper(bg)["description"] == "changed meanwhile"
    item = request_item(bg, result.id)
    assert (item["status"], item["break_glass"], item["decided_by"]) == ("STALE", True, "U_ONCALL")
    assert bg.requests.needs_review() == []
    assert [(r["action"], r["outcome"]) for r in audit(bg) if r["request_id"] == result.id] == [
        ("break-glass", "STALE")]
    refused = run(bg, "U_BOB", f"review {result.id}")
    assert refused.event == "refused" and "did not run" in refused.refusal


# == a commit whose answer is lost =============================================================
@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.retries.bucket import TokenBucket
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda *_a, **_kw: 0.0)
    monkeypatch.setattr(TokenBucket, "acquire", lambda *_a, **_kw: True)


def _lose_answers(client: Any, n: int | None, forward: bool = True) -> list[str]:
    """The next ``n`` TransactWriteItems commit in DynamoDB and their answer is lost
    (as ``tests/integration/test_write_faults.py::lose_answers``)."""
    from botocore.exceptions import ReadTimeoutError

    from testkit import engine

    lost: list[str] = []

    def drop(request: Any, event_name: str, **_kw: Any) -> None:
        if n is not None and len(lost) >= n:
            return None
        lost.append(json.loads(request.body).get("ClientRequestToken", ""))
        if forward:
            engine.deliver(request, event_name)  # DynamoDB commits
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", drop)
    return lost


def test_a_lost_answer_after_the_commit_is_recognised_as_executed(bg: Any, no_backoff: None) -> None:
    lost = _lose_answers(bg.client, 1)
    done = ran(run(bg, "U_ONCALL", f"update helpers {HELPER} set execution_count=42 {BG}"))
    assert len(lost) == 1 and request_item(bg, done.id)["exec_token"] == lost[0]
    assert helper(bg)["execution_count"] == 42
    assert [(r["action"], r["outcome"]) for r in audit(bg) if r["request_id"] == done.id] == [
        ("break-glass", "EXECUTED")]


def test_no_answer_and_no_commit_says_so_and_wrote_nothing(bg: Any, no_backoff: None) -> None:
    before = without_audit(scan_all(bg.client))
    _lose_answers(bg.client, None, forward=False)
    result = run(bg, "U_ONCALL", f"update helpers {HELPER} set execution_count=42 {BG}")
    assert isinstance(result, ErrorResult), result
    assert "did not answer" in result.message and "not recorded yet" in result.message
    assert "nothing was changed" not in result.message
    assert without_audit(scan_all(bg.client)) == before


# == review ==================================================================================
def _ran(services: Any) -> str:
    return ran(run(services, "U_ONCALL", f"update helpers {HELPER} set enabled=false {BG}")).id


def test_review_by_someone_else_clears_it_once(bg: Any) -> None:
    rid = _ran(bg)
    done = run(bg, "U_BOB", f"review {rid}")
    assert (done.event, done.status, done.reviewed_by) == ("reviewed", "EXECUTED", "U_BOB")
    assert not done.needs_review and bg.requests.needs_review() == []
    item = request_item(bg, rid)
    assert item["reviewed_by"] == "U_BOB" and item["reviewed_at"] > 0
    again = run(bg, "U_CAROL", f"review {rid}")
    assert again.event == "refused" and "already reviewed by <@U_BOB>" in again.refusal
    assert request_item(bg, rid)["reviewed_by"] == "U_BOB"
    actions = [(r["actor"], r["action"], r["outcome"]) for r in audit(bg) if r["request_id"] == rid]
    assert ("U_BOB", "review", "REVIEWED") in actions
    assert next(a for a in actions if a[1] == "review refused")[0] == "U_CAROL"
    assert run(bg, "U_BOB", "pending").more[0].rows == []


def test_the_executor_cannot_review_their_own_change(bg: Any) -> None:
    rid = _ran(bg)
    before = scan_all(bg.client)[STATE]
    refused = run(bg, "U_ONCALL", f"review {rid}")
    assert refused.event == "refused"
    assert refused.refusal == "you ran this change; someone else must review it"
    assert without_audit({STATE: scan_all(bg.client)[STATE]}) == without_audit({STATE: before})
    assert [r.id for r in bg.requests.needs_review()] == [rid]
    assert ("U_ONCALL", "review refused") in {(r["actor"], r["action"]) for r in audit(bg)}


def test_only_those_who_may_approve_it_review_it(bg: Any) -> None:
    rid = _ran(bg)
    refused = run(bg, "U_EVE", f"review {rid}")  # not in DDB_BOT_APPROVERS
    assert refused.event == "refused" and "not in DDB_BOT_APPROVERS" in refused.refusal
    key = bg.client.scan(TableName=f"mfh-{STAGE}-api-keys", Limit=1)["Items"][0]["key_id"]["S"]
    sec = ran(run(bg, "U_ONCALL", f"update api-keys {key} set name=rotated {BG}"))
    assert sec.approvers == ["U_SEC1", "U_SEC2"]
    refused = run(bg, "U_BOB", f"review {sec.id}")  # an approver, but not this table's
    assert refused.event == "refused" and "U_SEC1, U_SEC2" in refused.refusal
    assert "reviewed_by" not in request_item(bg, sec.id)
    assert run(bg, "U_SEC1", f"review {sec.id}").reviewed_by == "U_SEC1"


def test_review_of_something_else_is_refused_clearly(bg: Any) -> None:
    pending = run(bg, "U_ALICE", f"update helpers {HELPER} set enabled=false")
    assert pending.event == "created"
    before = without_audit(scan_all(bg.client))
    refused = run(bg, "U_BOB", f"review {pending.id}")
    assert "is not a break-glass change" in refused.refusal
    assert "no write request `RNOPE`" in run(bg, "U_BOB", "review RNOPE").refusal
    assert isinstance(run(bg, "U_BOB", "review"), ErrorResult)
    assert without_audit(scan_all(bg.client)) == before


def test_two_reviewers_at_once_record_exactly_one_review(bg: Any) -> None:
    for _ in range(3):  # several rounds: the interleaving differs each time
        rid = _ran(bg)
        # both have read it unreviewed before either writes: DynamoDB's condition decides
        hold = hold_first(2)
        bg.client.meta.events.register("before-call.dynamodb.UpdateItem", hold)
        try:
            results = race(2, lambda i, rid=rid: run(bg, ("U_BOB", "U_CAROL")[i], f"review {rid}"))
        finally:
            bg.client.meta.events.unregister("before-call.dynamodb.UpdateItem", hold)
        events = sorted(r.event for r in results)
        assert events == ["refused", "reviewed"], [(r.event, r.refusal) for r in results]
        winner = next(r for r in results if r.event == "reviewed").reviewed_by
        loser = next(r for r in results if r.event == "refused")
        assert f"already reviewed by <@{winner}>" in loser.refusal
        assert request_item(bg, rid)["reviewed_by"] == winner
        reviews = [r for r in audit(bg) if r["request_id"] == rid and r["action"] == "review"]
        assert len(reviews) == 1


# == lists ===================================================================================
def test_pending_lists_what_needs_review_in_a_second_table(bg: Any) -> None:
    from bot.render.blocks import render_message
    from bot.render.text import render_text

    rid = _ran(bg)
    result = run(bg, "U_BOB", "pending")
    assert isinstance(result, TableResult) and result.rows == []
    [review] = result.more
    assert review.title == "Break-glass changes waiting for review"
    assert [row[0] for row in review.rows] == [rid]
    assert review.rows[0][2] == "<@U_ONCALL>" and review.rows[0][4] == "INC-42: runaway helper"
    text = render_text(result)
    assert text.index("No open requests.") < text.index("Break-glass changes waiting for review")
    assert rid in text and "@U_ONCALL" in text
    blocks = json.dumps(render_message(result))
    assert "Break-glass changes waiting for review" in blocks and rid in blocks


def test_the_console_runs_and_reviews_break_glass_with_as(bg: Any) -> None:
    from bot.console import Console

    out = io.StringIO()
    console = Console(bg, "U_ONCALL", out=out, err=out)
    assert console.one(f'/ddb update helpers {HELPER} set enabled=false --break-glass "INC-7"') == 0
    text = out.getvalue()
    assert "BREAK-GLASS change executed without approval" in text and "reason: INC-7" in text
    assert "ran by U_ONCALL" in text and "NEEDS REVIEW" in text
    rid = bg.requests.needs_review()[0].id
    console.loop(io.StringIO(f"/ddb review {rid}\nas U_EVE\n/ddb update helpers {HELPER} set "
                             f"enabled=true --break-glass \"me too\"\nas U_BOB\n/ddb pending\n"
                             f"/ddb review {rid}\n/ddb pending\n"))
    text = out.getvalue()
    assert "refused: you ran this change; someone else must review it" in text
    assert "not in the approval policy's `break_glass` list" in text
    assert f"reviewed: break-glass change {rid} (update helpers {HELPER}) by U_BOB" in text
    assert "No break-glass change waits for review." in text
    assert "(DM to" not in text  # nobody is DMed about a break-glass change
    assert helper(bg)["enabled"] is False  # U_EVE's attempt ran nothing


def test_audit_export_shows_break_glass_and_the_reason(bg: Any, capsys: Any) -> None:
    from bot.__main__ import main

    _refused(bg, "U_BOB", f"update helpers {HELPER} set enabled=false {BG}")
    rid = _ran(bg)
    run(bg, "U_CAROL", f"review {rid}")
    assert main(["audit", "export", "--since", "1h"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["actor"], r["action"], r["break_glass"], r["reason"]) for r in records] == [
        ("U_BOB", "break-glass refused", True, "INC-42: runaway helper"),
        ("U_ONCALL", "break-glass", True, "INC-42: runaway helper"),
        ("U_CAROL", "review", True, "INC-42: runaway helper")]
    assert [r["outcome"] for r in records[1:]] == ["EXECUTED", "REVIEWED"]
    assert records[1]["request_id"] == rid and records[0]["request_id"] is None
    assert ("enabled", "true", "false") in [(c["attribute"], c["before"], c["after"])
                                            for c in records[1]["change"]]


# == pasted aws dynamodb writes =================================================================
PASTED = ("aws dynamodb update-item --table-name mfh-dev-helpers "
          f"--key '{{\"helper_id\":{{\"S\":\"{HELPER}\"}}}}' --update-expression \"SET #e = :e\" "
          "--expression-attribute-names '{\"#e\":\"enabled\"}' "
          "--expression-attribute-values '{\":e\":{\"BOOL\":false}}' --region us-west-2")


@pytest.mark.parametrize("where", ["end", "start", "equals"])
def test_a_pasted_runbook_write_with_break_glass_runs_at_once(bg: Any, where: str) -> None:
    text = {"end": f"/ddb {PASTED} {BG}",
            "start": f"/ddb aws {BG} {PASTED.removeprefix('aws ')}",
            "equals": f"/ddb {PASTED} --break-glass='INC-42: runaway helper'"}[where]
    done = ran(run(bg, "U_ONCALL", text))
    assert helper(bg)["enabled"] is False
    item = request_item(bg, done.id)
    assert item["break_glass"] is True and item["break_glass_reason"] == "INC-42: runaway helper"
    assert item["text"] == text  # the command as typed
    assert [(r["action"], r["outcome"]) for r in audit(bg) if r["request_id"] == done.id] == \
        [("break-glass", "EXECUTED")]


def test_a_pasted_break_glass_write_by_a_non_member_is_refused_and_runs_nothing(bg: Any) -> None:
    before = scan_all(bg.client)
    res = run(bg, "U_BOB", f"/ddb {PASTED} {BG}")
    assert isinstance(res, ErrorResult) and "break" in res.message.lower(), res
    assert without_audit(scan_all(bg.client)) == without_audit(before)
    assert [r["action"] for r in audit(bg)][-1:] == ["break-glass refused"]


@pytest.mark.parametrize(("tail", "fragment"), [
    ("--break-glass", "needs a reason"),
    ('--break-glass "a" --break-glass "b"', "twice"),
    (f'--break-glass "{"x" * (REASON_MAX + 1)}"', "characters"),
])
def test_a_bad_break_glass_on_a_pasted_write_is_a_usage_error(bg: Any, tail: str,
                                                              fragment: str) -> None:
    before = scan_all(bg.client)
    res = run(bg, "U_ONCALL", f"/ddb {PASTED} {tail}")
    assert isinstance(res, ErrorResult) and fragment in res.message, res
    assert "--break-glass" in res.usage
    assert scan_all(bg.client) == before


def test_break_glass_on_a_pasted_read_is_refused(bg: Any) -> None:
    before = scan_all(bg.client)
    res = run(bg, "U_ONCALL", "/ddb aws dynamodb get-item --table-name mfh-dev-helpers "
              f"--key '{{\"helper_id\":{{\"S\":\"{HELPER}\"}}}}' {BG}")
    assert isinstance(res, ErrorResult) and "only reads" in res.message, res
    assert scan_all(bg.client) == before
