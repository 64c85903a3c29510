"""Creating tables from the declared schema (local use, demo, tests) and the state table.

``python -m bot init`` creates the bot's own state table; ``--all`` also creates the ten
platform tables exactly as declared, so ``describe`` shows no drift on a local setup.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from dynamo.schema import TABLES, Index, KeySchema, Table


def _key_schema(keys: KeySchema) -> list[dict[str, str]]:
    out = [{"AttributeName": keys.hash_key, "KeyType": "HASH"}]
    if keys.range_key:
        out.append({"AttributeName": keys.range_key, "KeyType": "RANGE"})
    return out


def _projection(idx: Index) -> dict[str, Any]:
    proj: dict[str, Any] = {"ProjectionType": idx.projection}
    if idx.projection == "INCLUDE":
        proj["NonKeyAttributes"] = list(idx.non_key_attributes)
    return proj


def create_table_params(table: Table, stage: str) -> dict[str, Any]:
    attrs: dict[str, str] = {}
    for keys in (table.keys, *(i.keys for i in table.indexes)):
        for name in keys.names:
            attrs[name] = table.attributes[name].value
    params: dict[str, Any] = {
        "TableName": table.full_name(stage),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(table.keys),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()],
        "DeletionProtectionEnabled": table.deletion_protection,
    }
    if table.indexes:
        params["GlobalSecondaryIndexes"] = [
            {"IndexName": i.name, "KeySchema": _key_schema(i.keys), "Projection": _projection(i)}
            for i in table.indexes
        ]
    if table.stream_view:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    return params


def _create(client: Any, params: dict[str, Any]) -> bool:
    try:
        client.create_table(**params)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceInUseException":
            return False
        raise
    client.get_waiter("table_exists").wait(
        TableName=params["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return True


def create_platform_tables(client: Any, stage: str) -> list[str]:
    """Create the ten declared tables that do not exist yet; returns those created."""
    created = []
    for table in TABLES:
        params = create_table_params(table, stage)
        if _create(client, params):
            name = params["TableName"]
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )
            if table.pitr:
                client.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
            created.append(name)
    return created


def create_state_table(client: Any, name: str) -> bool:
    """The bot's own table: requests, audit records, views and locks (pk/sk, TTL ``ttl``)."""
    created = _create(
        client,
        {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        },
    )
    if created:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
    return created
