"""The DynamoDB writes a request stands for: its data write and its GSI change.

``data_operation`` is the data half of the approval transaction, conditioned on the item
still being what the approver saw; ``transact`` runs it with the request's own state write
(retrying what DynamoDB cancelled for throttling or a conflict); ``gsi_params`` is the
UpdateTable call of a GSI change.
The state machine that runs them (and when) is ``dynamo.requests.execute``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import ClientError

from dynamo.requests.model import Gsi, Kind, WriteRequest, conditioned
from dynamo.schema import Table
from dynamo.store import serialize_item

TRANSACT_ATTEMPTS = 5


def data_operation(req: WriteRequest, table: Table, full: str,
                   also: ConditionBase | None = None) -> dict[str, Any]:
    """The transaction's data write with its "still what the approver saw" condition
    (and ``also``, what the undo feature pins: ``dynamo.requests.undo.prepare``)."""
    hash_key = table.keys.hash_key
    cond: ConditionBase = Attr(hash_key).exists() if req.existed else Attr(hash_key).not_exists()
    if also is not None:
        cond = cond & also
    for attr, value in req.before.items():
        if attr not in table.keys.names:
            cond = cond & Attr(attr).eq(value)
    for attr in req.missing:
        cond = cond & Attr(attr).not_exists()
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    op: dict[str, Any] = {"TableName": full}
    if req.kind is Kind.UPDATE:
        parts = []
        sets = []
        for i, (attr, value) in enumerate(req.set.items()):
            names[f"#u{i}"] = attr
            values[f":u{i}"] = value
            sets.append(f"#u{i} = :u{i}")
        if sets:
            parts.append("SET " + ", ".join(sets))
        removes = []
        for i, attr in enumerate(req.remove):
            names[f"#r{i}"] = attr
            removes.append(f"#r{i}")
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        op.update(Key=serialize_item(req.key), UpdateExpression=" ".join(parts))
        kind = "Update"
    elif req.kind is Kind.DELETE:
        op["Key"] = serialize_item(req.key)
        kind = "Delete"
    else:
        assert req.item is not None
        op["Item"] = serialize_item(req.item)
        kind = "Put"
    op.update(conditioned(cond, names, values))
    return {kind: op}


def gsi_params(full: str, gsi: Gsi, kind: Kind) -> dict[str, Any]:
    if kind is Kind.GSI_DELETE:
        return {"TableName": full,
                "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": gsi.name}}]}
    assert gsi.hash_key is not None
    keys = [{"AttributeName": gsi.hash_key[0], "KeyType": "HASH"}]
    defs = [{"AttributeName": gsi.hash_key[0], "AttributeType": gsi.hash_key[1]}]
    if gsi.range_key:
        keys.append({"AttributeName": gsi.range_key[0], "KeyType": "RANGE"})
        defs.append({"AttributeName": gsi.range_key[0], "AttributeType": gsi.range_key[1]})
    projection: dict[str, Any] = {"ProjectionType": gsi.projection}
    if gsi.projection == "INCLUDE":
        projection["NonKeyAttributes"] = gsi.non_key
    return {"TableName": full, "AttributeDefinitions": defs, "GlobalSecondaryIndexUpdates": [
        {"Create": {"IndexName": gsi.name, "KeySchema": keys, "Projection": projection}}]}


def transact(client: Any, items: list[dict[str, Any]], token: str) -> None:
    """TransactWriteItems; a cancellation for throttling or a conflict is retried.

    botocore retries throttled *calls* itself (standard mode); a transaction cancelled
    because one item was throttled comes back as TransactionCanceledException, which it
    does not retry. The same ClientRequestToken makes each retry idempotent.
    """
    for attempt in range(TRANSACT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items, ClientRequestToken=token)
            return
        except ClientError as exc:
            reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            retryable = reasons & {"ThrottlingError", "TransactionConflict"} and not (
                reasons & {"ConditionalCheckFailed"})
            if not retryable or attempt == TRANSACT_ATTEMPTS - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + secrets.randbelow(100) / 100))
