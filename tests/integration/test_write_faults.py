"""Approvals when DynamoDB misbehaves: throttling, cancelled transactions, lost responses,
failing UpdateTable, and DynamoDB's ClientRequestToken semantics (which moto lacks).

Faults are injected where DynamoDB would produce them: moto's handler for an operation
answers with DynamoDB's error (a real HTTP error response that botocore parses, classifies
and retries), or a botocore ``before-send`` hook fails the connection. A ``before-call``
hook cannot stand in for a throttled response: botocore emits it outside its retry loop,
so a response short-circuited there is never retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    DynamodbException,
    TransactionCanceledException,
)
from moto.dynamodb.responses import DynamoHandler

from commands import dispatch
from commands.results import ErrorResult, RequestResult
from dynamo import demo
from dynamo.store import deserialize_item, serialize_item
from testkit import REGION, STAGE, engine, race, scan_all
from testkit.race import hold_first
from testkit.worlds import World, restorable_world, trimmed_demo

STATE = f"mfh-{STAGE}-ddb-bot"
HELPER = demo.DEMO_HELPER_ID
FAKE_NOW = 1_900_000_000
KEEP = {"platforms": 2, "users": 1, "accounts": 1, "user-accounts": 1, "api-keys": 1,
        "connections": 1, "platform-connection-auths": 1, "helpers": 2, "executions": 1,
        "oauth-states": 1}


# -- a small world per module, restored before every test (testkit.worlds) ------------------
@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with restorable_world(trimmed_demo(KEEP)) as w:
        yield w


@pytest.fixture
def ddb(world: World) -> Any:
    """A fresh client per test: botocore's adaptive rate limiter remembers throttling."""
    from dynamo.aws import dynamodb_client

    world.restore()
    return dynamodb_client(REGION)


@pytest.fixture
def seeded(ddb: Any) -> Any:
    return demo


@pytest.fixture
def clock(services: Any) -> Callable[[], float]:
    services.requests.clock = lambda: FAKE_NOW
    return services.requests.clock


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry delays, recorded and not slept (keeps the tests fast).

    botocore still decides whether and how often to retry; only its waiting is skipped:
    the exponential backoff, and the adaptive rate limiter's pacing after throttling
    (which, at the send rate of a test, would hold every later call for seconds).
    """
    from botocore.retries.bucket import TokenBucket
    from botocore.retries.standard import ExponentialBackoff

    delays: list[float] = []
    original = ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        delays.append(original(self, context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", delay_amount)
    monkeypatch.setattr(TokenBucket, "acquire", lambda *_a, **_kw: True)
    return delays


@pytest.fixture
def fail(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[int]]:
    """``fail("transact_write_items", error, times=2)``: moto answers with ``error()``.

    Returns the list of calls moto received for the operation (1 = failed, 0 = served).
    ``times=None`` fails every call.
    """

    def install(op: str, error: Callable[[], Exception], times: int | None = None) -> list[int]:
        calls: list[int] = []
        original = getattr(DynamoHandler, op)

        def handler(self: Any) -> Any:
            if times is None or len(calls) < times:
                calls.append(1)
                raise error()
            calls.append(0)
            return original(self)

        monkeypatch.setattr(DynamoHandler, op, handler)
        return calls

    return install


def throttling(code: str = "ThrottlingException") -> Callable[[], Exception]:
    return lambda: DynamodbException(ERROR_TYPE_PREFIX + code,
                                     "Rate of requests exceeds the allowed throughput.")


def cancelled(code: str) -> Callable[[], Exception]:
    # the data write hit the fault; the request's own update did not
    return lambda: TransactionCanceledException([(code, f"{code} on the item", None),
                                                 (None, None, None)])


def get_item(ddb: Any, short: str, key: dict[str, Any]) -> dict[str, Any] | None:
    raw = ddb.get_item(TableName=f"mfh-{STAGE}-{short}", Key=serialize_item(key),
                       ConsistentRead=True)
    return deserialize_item(raw["Item"]) if "Item" in raw else None


def helper(ddb: Any) -> dict[str, Any]:
    item = get_item(ddb, "helpers", {"helper_id": HELPER})
    assert item is not None
    return item


def status(ddb: Any, request_id: str) -> str:
    raw = ddb.get_item(TableName=STATE, Key={"pk": {"S": "REQ"}, "sk": {"S": request_id}},
                       ConsistentRead=True)
    return str(raw["Item"]["status"]["S"])


def outcomes(ddb: Any, request_id: str) -> list[tuple[str, str]]:
    resp = ddb.query(TableName=STATE, KeyConditionExpression="pk = :a",
                     ExpressionAttributeValues={":a": {"S": "AUDIT"}}, ConsistentRead=True)
    records = sorted((deserialize_item(i) for i in resp["Items"]), key=lambda r: r["sk"])
    return [(r["action"], r["outcome"]) for r in records if r["request_id"] == request_id]


def data_tables(ddb: Any) -> dict[str, Any]:
    return {t: v for t, v in scan_all(ddb).items() if t != STATE}


def request(services: Any, text: str = f"/ddb update helpers {HELPER} set "
            "execution_count=42") -> str:
    res = dispatch(text, services.context("U_A", "C_OPS"))
    assert isinstance(res, RequestResult) and res.status == "PENDING", res
    return res.id


def approve(services: Any, request_id: str, user: str = "U_B") -> Any:
    return dispatch(f"/ddb approve {request_id}", services.context(user, "C_OPS"))


def executed(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert result.ok and result.status == "EXECUTED", result
    return result


# == throttling ==================================================================================
@pytest.mark.moto_only("injects DynamoDB errors through moto's response handler")
@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_throttled_transaction_is_retried_by_botocore_and_runs_once(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        fail: Callable[..., list[int]], code: str) -> None:
    rid = request(services)
    calls = fail("transact_write_items", throttling(code), times=2)
    executed(approve(services, rid))
    assert calls == [1, 1, 0]  # two throttled answers, then one transaction that ran
    assert len(backoff) == 2  # botocore's retry handler decided each retry
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert status(ddb, rid) == "EXECUTED"
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


@pytest.mark.moto_only("injects DynamoDB errors through moto's response handler")
@pytest.mark.parametrize("reason", ["ThrottlingError", "TransactionConflict"])
def test_transaction_cancelled_for_throttling_is_retried_and_runs_once(
        services: Any, ddb: Any, seeded: Any, clock: Any, fail: Callable[..., list[int]],
        reason: str) -> None:
    rid = request(services)
    calls = fail("transact_write_items", cancelled(reason), times=1)
    executed(approve(services, rid))
    assert calls == [1, 0]
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


@pytest.mark.moto_only("injects DynamoDB errors through moto's response handler")
def test_throttling_that_never_stops_surfaces_an_error_and_writes_nothing(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        fail: Callable[..., list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    rid = request(services)
    before = data_tables(ddb)
    healthy = DynamoHandler.transact_write_items
    calls = fail("transact_write_items", throttling(), times=None)
    res = approve(services, rid)
    assert isinstance(res, ErrorResult), res
    assert "ThrottlingException" in res.message
    assert len(calls) == 7  # botocore gave up after its attempts (max_attempts=6 retries)
    assert status(ddb, rid) == "PENDING"
    assert data_tables(ddb) == before
    assert ("approve", "EXECUTED") not in outcomes(ddb, rid)
    # once DynamoDB recovers, the same request can still be approved, once
    monkeypatch.setattr(DynamoHandler, "transact_write_items", healthy)
    executed(approve(services, rid, "U_C"))
    assert helper(ddb)["execution_count"] == Decimal(42)


@pytest.mark.moto_only("injects DynamoDB errors through moto's response handler")
def test_cancellations_that_never_stop_surface_an_error_and_write_nothing(
        services: Any, ddb: Any, seeded: Any, clock: Any,
        fail: Callable[..., list[int]]) -> None:
    rid = request(services)
    before = data_tables(ddb)
    calls = fail("transact_write_items", cancelled("ThrottlingError"), times=None)
    res = approve(services, rid)
    assert isinstance(res, ErrorResult), res
    assert "ThrottlingError" in res.message
    assert len(calls) == 5
    assert status(ddb, rid) == "PENDING"
    assert data_tables(ddb) == before


# == DynamoDB's ClientRequestToken semantics ======================================================
@pytest.fixture
def idempotency(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """TransactWriteItems as DynamoDB treats ClientRequestToken (moto ignores it).

    A token that already committed, sent again with the same parameters, succeeds without
    writing anything; with other parameters it is IdempotentParameterMismatchException.
    DynamoDB Local has these semantics itself: there the fixture changes nothing and
    records nothing.
    """
    from moto.core.responses import ActionResult

    if not engine.on_moto():
        return {}

    committed: dict[str, str] = {}
    original = DynamoHandler.transact_write_items

    def handler(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        params = json.dumps({k: v for k, v in self.body.items() if k != "ClientRequestToken"},
                            sort_keys=True)
        if token in committed:
            if committed[token] != params:
                raise DynamodbException(
                    ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical "
                    "request.")
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(self)
        if token:
            committed[token] = params
        return result

    monkeypatch.setattr(DynamoHandler, "transact_write_items", handler)
    return committed


def _all_reach_the_transaction(ddb: Any, n: int) -> None:
    """Hold the first ``n`` TransactWriteItems calls until all ``n`` are there.

    So every approval has read the request as PENDING before any of them commits: the
    race is decided by DynamoDB's conditions alone.
    """
    ddb.meta.events.register("before-call.dynamodb.TransactWriteItems", hold_first(n))


def _exactly_one_executed(results: list[Any]) -> None:
    assert all(isinstance(r, RequestResult) for r in results), results
    assert sum(1 for r in results if r.ok and r.status == "EXECUTED") == 1, results
    losers = [r for r in results if not r.ok]
    assert len(losers) == len(results) - 1
    assert all("already EXECUTED" in (r.refusal or "") for r in losers), losers


def test_eight_approvers_in_the_transaction_at_once_execute_once(
        services: Any, ddb: Any, seeded: Any, clock: Any, idempotency: dict[str, str]) -> None:
    rid = request(services, '/ddb put platforms {"platform_id":"plat-0100","name":"New"}')
    _all_reach_the_transaction(ddb, 8)
    results = race(8, lambda i: approve(services, rid, f"U_AP{i}"))
    _exactly_one_executed(results)
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "New"}
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


def test_double_click_in_the_same_second_executes_once(
        services: Any, ddb: Any, seeded: Any, clock: Any, idempotency: dict[str, str]) -> None:
    rid = request(services)
    _all_reach_the_transaction(ddb, 2)
    results = race(2, lambda _i: approve(services, rid, "U_B"))
    _exactly_one_executed(results)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1
    assert helper(ddb)["execution_count"] == Decimal(42)


@pytest.mark.moto_only("emulates ClientRequestToken in moto's response handler")
def test_lost_response_after_commit_is_retried_idempotently(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        idempotency: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB commits, then the answer is a 500: botocore retries with the same token."""
    rid = request(services)
    committed_then_failed = [0]
    inner = DynamoHandler.transact_write_items

    def handler(self: Any) -> Any:
        result = inner(self)
        if not committed_then_failed[0]:
            committed_then_failed[0] = 1
            err = DynamodbException(ERROR_TYPE_PREFIX + "InternalServerError",
                                    "Internal server error")
            err.code = 500
            raise err
        return result

    monkeypatch.setattr(DynamoHandler, "transact_write_items", handler)
    done = executed(approve(services, rid))
    assert done.decided_by == "U_B"
    assert len(backoff) == 1
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


# == a commit whose answer never arrives (timeout, reset) =========================================
@pytest.fixture
def lose_answers(ddb: Any) -> Callable[..., list[str]]:
    """``lose_answers(n)``: the next ``n`` TransactWriteItems reach moto, commit, and their
    answer is lost on the way back (a ReadTimeoutError where botocore's HTTP layer reads it).

    moto answers through botocore's ``before-send`` event; this hook, more specific, runs
    first, hands the request to moto's own handler (so DynamoDB really commits) and then
    raises what a dropped connection raises. botocore classifies and retries it as it would
    against DynamoDB. Returns the tokens of the calls whose answers were lost. ``before``
    runs before the first call goes out (a racing approver).
    """
    from botocore.exceptions import ReadTimeoutError

    def install(n: int | None, before: Callable[[], Any] | None = None,
                forward: bool = True) -> list[str]:
        lost: list[str] = []
        pending_before = [before]

        def drop(request: Any, event_name: str, **_kw: Any) -> None:
            if n is not None and len(lost) >= n:
                return None  # moto answers normally
            if pending_before[0] is not None:
                run, pending_before[0] = pending_before[0], None
                run()
            body = json.loads(request.body)
            lost.append(body.get("ClientRequestToken", ""))
            if forward:
                engine.deliver(request, event_name)  # DynamoDB commits
            raise ReadTimeoutError(endpoint_url=request.url)

        ddb.meta.events.register("before-send.dynamodb.TransactWriteItems", drop)
        return lost

    return install


def test_lost_answer_then_conditional_failure_is_reported_as_executed(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        lose_answers: Callable[..., list[str]]) -> None:
    """moto forgets tokens (as DynamoDB does after 10 minutes): the retry fails its
    conditions, the request is read back, and it is this approver's commit."""
    from bot.render.text import render_text

    rid = request(services)
    lost = lose_answers(1)
    done = executed(approve(services, rid))
    assert len(lost) == 1 and len(backoff) == 1  # botocore retried the timed-out call once
    assert done.decided_by == "U_B"
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert status(ddb, rid) == "EXECUTED"
    assert outcomes(ddb, rid) == [("request", "PENDING"), ("approve", "EXECUTED")]
    shown = render_text(done)
    assert "EXECUTED" in shown and "nothing changed" not in shown and "refused" not in shown


@pytest.mark.moto_only("emulates ClientRequestToken in moto's response handler")
def test_lost_answer_is_retried_with_the_same_token_and_succeeds(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        idempotency: dict[str, str], lose_answers: Callable[..., list[str]]) -> None:
    """As DynamoDB does within 10 minutes: the same token answers success, writes nothing."""
    rid = request(services)
    lost = lose_answers(1)
    executed(approve(services, rid))
    assert list(idempotency) == lost  # the retry carried the committed call's token
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


def test_every_answer_lost_after_the_commit_is_still_executed(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        lose_answers: Callable[..., list[str]]) -> None:
    """botocore gives up (all its attempts timed out): the read-back finds the commit."""
    rid = request(services)
    lost = lose_answers(None)
    done = executed(approve(services, rid))
    assert len(lost) == 7 and len(set(lost)) == 1  # botocore's attempts, one token
    assert done.decided_by == "U_B"
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1


def test_no_answer_and_no_commit_says_so_and_can_be_approved_again(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        lose_answers: Callable[..., list[str]]) -> None:
    rid = request(services)
    before = data_tables(ddb)
    lose_answers(None, forward=False)  # nothing reaches DynamoDB
    res = approve(services, rid)
    assert isinstance(res, ErrorResult), res
    assert "did not answer" in res.message and "is PENDING" in res.message
    assert "nothing was changed" not in res.message
    assert data_tables(ddb) == before
    assert status(ddb, rid) == "PENDING"


def test_another_approver_who_executed_first_is_still_a_refusal(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        lose_answers: Callable[..., list[str]]) -> None:
    """U_B's first attempt is lost before it reaches DynamoDB while U_C executes; U_B's
    retry fails its conditions, and the read-back shows U_C's commit, not U_B's."""
    rid = request(services)
    others: list[Any] = []
    lose_answers(1, before=lambda: others.append(approve(services, rid, "U_C")), forward=False)
    res = approve(services, rid, "U_B")
    executed(others[0])
    assert isinstance(res, RequestResult) and not res.ok, res
    assert "already EXECUTED by <@U_C>" in (res.refusal or "")
    assert helper(ddb)["execution_count"] == Decimal(42)
    assert outcomes(ddb, rid).count(("approve", "EXECUTED")) == 1
    refusal = f"request {rid} is already EXECUTED by <@U_C>; nothing changed"
    assert ("approve refused", refusal) in outcomes(ddb, rid)


# == GSI changes when UpdateTable fails ==========================================================
@pytest.mark.moto_only("injects DynamoDB errors through moto's response handler")
def test_update_table_error_marks_the_gsi_request_failed(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float],
        fail: Callable[..., list[int]]) -> None:
    rid = request(services, "/ddb gsi create helpers StatusIndex status")
    calls = fail("update_table", lambda: DynamodbException(
        ERROR_TYPE_PREFIX + "LimitExceededException",
        "Subscriber limit exceeded: Only 1 online index can be created or deleted "
        "simultaneously per table"), times=None)
    res = approve(services, rid)
    assert isinstance(res, RequestResult) and res.status == "FAILED", res
    assert res.error and "LimitExceededException" in res.error
    assert len(calls) == 7  # botocore counts it as throttling and retried, in vain
    assert status(ddb, rid) == "FAILED"
    live = ddb.describe_table(TableName=f"mfh-{STAGE}-helpers")["Table"]
    assert "StatusIndex" not in {g["IndexName"] for g in live["GlobalSecondaryIndexes"]}
    assert outcomes(ddb, rid)[-1] == ("approve", "FAILED")
    again = approve(services, rid, "U_C")
    assert isinstance(again, RequestResult) and not again.ok
    assert "already FAILED" in (again.refusal or "")


def test_unreachable_dynamodb_during_update_table_does_not_leave_it_executing(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float]) -> None:
    rid = request(services, "/ddb gsi delete helpers AccountIdIndex")

    def unreachable(request: Any, **_kw: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    ddb.meta.events.register("before-send.dynamodb.UpdateTable", unreachable)
    res = approve(services, rid)
    assert isinstance(res, RequestResult) and res.status == "FAILED", res
    assert res.error and "EndpointConnectionError" in res.error
    assert status(ddb, rid) == "FAILED"  # never stuck in EXECUTING
    assert outcomes(ddb, rid)[-1] == ("approve", "FAILED")
    ddb.meta.events.unregister("before-send.dynamodb.UpdateTable", unreachable)
    live = ddb.describe_table(TableName=f"mfh-{STAGE}-helpers")["Table"]
    assert "AccountIdIndex" in {g["IndexName"] for g in live["GlobalSecondaryIndexes"]}


def test_unreachable_dynamodb_during_approval_writes_nothing(
        services: Any, ddb: Any, seeded: Any, clock: Any, backoff: list[float]) -> None:
    rid = request(services)
    before = data_tables(ddb)

    def unreachable(request: Any, **_kw: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    ddb.meta.events.register("before-send.dynamodb.TransactWriteItems", unreachable)
    res = approve(services, rid)
    assert isinstance(res, ErrorResult), res
    ddb.meta.events.unregister("before-send.dynamodb.TransactWriteItems", unreachable)
    assert status(ddb, rid) == "PENDING"
    assert data_tables(ddb) == before
    executed(approve(services, rid))
