"""The boto3 DynamoDB client the bot uses, with botocore's standard retries, and the
hooks that report every call to an observer (the bot's metrics).

Throttling and 5xx are retried by botocore itself (``retries.mode = standard``:
exponential backoff with jitter), never by hand-rolled loops. Not ``adaptive``: its
client-side rate limiter is per client, and the bot has one client for every table, so a
few throttles on one table slowed every command and approval ~8x (benchmarks/soak.py
--faults: 2.5 % throttled calls cut 6 threads from ~85 to ~10 calls/s).

``observe_calls`` uses botocore's own event hooks on the client, so every call is seen
whoever makes it (store, requests, paginators, transactions): ``before-parameter-build``
notes the table and asks for ``ReturnConsumedCapacity: TOTAL`` where the caller did not
(that answer is taken out of the response again, so callers see what they asked for),
``needs-retry`` sees each throttled attempt (retried or not), and ``after-call`` /
``after-call-error`` end the call with its outcome, time and capacity.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Protocol

import boto3
from botocore.config import Config

THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                            "RequestLimitExceeded", "LimitExceededException"})
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems",
                             "ExecuteStatement", "BatchExecuteStatement"})
_CONTEXT_KEY = "ddb_bot_observed"  # our note in botocore's per-call request context
_MULTI = "(several)"  # one call touching several tables (batch, transaction)


def dynamodb_client(
    region: str, endpoint_url: str | None = None, max_attempts: int = 6,
    max_pool_connections: int = 32, connect_timeout: float = 3, read_timeout: float = 10,
    **kwargs: Any
) -> Any:
    """The bot's client; a health check passes ``max_attempts=1`` and short timeouts, so
    it answers within seconds whatever DynamoDB does."""
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
    )
    return boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **kwargs
    )


# -- observing calls ----------------------------------------------------------------------
class CallObserver(Protocol):
    """What ``observe_calls`` reports. ``table`` is the TableName the call named (or
    ``"(several)"``, or ``""``); the observer decides which names it may use as labels."""

    def call(self, table: str, operation: str, outcome: str, seconds: float) -> None: ...

    def throttled(self, table: str, operation: str) -> None: ...

    def consumed(self, table: str, operation: str, units: float) -> None: ...


def _tables_of(params: dict[str, Any]) -> str:
    """The table a call's parameters name: TableName, or the one table of a batch or
    transaction (``"(several)"`` when they name more)."""
    name = params.get("TableName")
    if isinstance(name, str):
        return name
    names: set[str] = set()
    for key in ("RequestItems",):
        if isinstance(params.get(key), dict):
            names.update(params[key])
    for item in params.get("TransactItems") or []:
        for part in item.values() if isinstance(item, dict) else ():
            if isinstance(part, dict) and isinstance(part.get("TableName"), str):
                names.add(part["TableName"])
    if len(names) == 1:
        return names.pop()
    return _MULTI if names else ""


def outcome_of(status: int, code: str | None) -> str:
    """A call's outcome in a few words: ok, throttled, conditional_check_failed,
    transaction_canceled, client_error (any other 4xx), server_error (5xx)."""
    if status < 300:
        return "ok"
    if code in THROTTLE_CODES:
        return "throttled"
    if code == "ConditionalCheckFailedException":
        return "conditional_check_failed"
    if code == "TransactionCanceledException":
        return "transaction_canceled"
    return "server_error" if status >= 500 else "client_error"


def _capacity(consumed: Any) -> Iterable[tuple[str, float]]:
    """(table, units) from a response's ConsumedCapacity (one dict, or a list of them)."""
    for entry in consumed if isinstance(consumed, list) else [consumed]:
        if isinstance(entry, dict) and entry.get("CapacityUnits") is not None:
            yield str(entry.get("TableName", "")), float(entry["CapacityUnits"])


def observe_calls(client: Any, observer: CallObserver) -> bool:
    """Report every call ``client`` makes to ``observer``; False if it already was
    (hooks are registered once per client, however many apps share it) or is not a
    botocore client (a test's stand-in)."""
    if getattr(getattr(client, "meta", None), "events", None) is None:
        return False
    if getattr(client.meta, _CONTEXT_KEY, False):
        return False
    setattr(client.meta, _CONTEXT_KEY, True)
    events = client.meta.events

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        injected = ("ReturnConsumedCapacity" in model.input_shape.members
                    and "ReturnConsumedCapacity" not in params)
        if injected:
            params["ReturnConsumedCapacity"] = "TOTAL"
        context[_CONTEXT_KEY] = (_tables_of(params), time.monotonic(), injected)

    def retrying(response: Any, operation: Any, request_dict: dict[str, Any], **_: Any) -> None:
        if response is None:
            return None
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = (parsed or {}).get("Error", {}).get("Code")
        if code in THROTTLE_CODES:
            noted = (request_dict.get("context") or {}).get(_CONTEXT_KEY)
            observer.throttled(noted[0] if noted else "", operation.name)
        return None  # never decides the retry: botocore's standard mode does

    def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
              **_: Any) -> None:
        noted = context.get(_CONTEXT_KEY)
        if noted is None:
            return
        table, start, injected = noted
        consumed = parsed.pop("ConsumedCapacity", None) if injected else parsed.get(
            "ConsumedCapacity")
        for name, units in _capacity(consumed):
            observer.consumed(name or table, model.name, units)
        code = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
        observer.call(table, model.name, outcome_of(http_response.status_code, code),
                      time.monotonic() - start)

    def failed(exception: BaseException, context: dict[str, Any], **kw: Any) -> None:
        noted = context.get(_CONTEXT_KEY)
        if noted is not None:
            operation = str(kw.get("event_name", "")).rsplit(".", 1)[-1]
            observer.call(noted[0], operation, "unreachable", time.monotonic() - noted[1])

    events.register("before-parameter-build.dynamodb", before)
    events.register("needs-retry.dynamodb", retrying)
    events.register("after-call.dynamodb", after)
    events.register("after-call-error.dynamodb", failed)
    return True
