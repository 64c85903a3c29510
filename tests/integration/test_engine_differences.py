"""Where moto and DynamoDB Local differ, pinned (README, *Tests*, lists each with its test).

Every test runs on both engines (``DDB_TEST_ENGINE``): the bot must answer the same on
either; where the engine itself differs the test says which engine does what, so a
new release of either that changes is noticed.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from commands import dispatch
from commands.results import ErrorResult
from dynamo import demo
from testkit import engine

PLATFORM = demo.generate(1)["platforms"][0]


def _describe(services: Any, short: str) -> dict[str, str]:
    result = dispatch(f"describe {short}", services.context("U_A", "C_OPS"))
    assert not isinstance(result, ErrorResult), result
    return dict(result.sections)


def test_projection_of_a_list_element_through_placeholders(services: Any, seeded: Any) -> None:
    """``capabilities[0]`` reaches DynamoDB as ``#n[0]``. DynamoDB Local answers with the
    element; moto 5 refused it ("ExpressionAttributeNames unused") until
    ``dynamo.moto_compat`` resolved placeholders followed by an index: moto's fault."""
    from bot.render.text import render_text

    text = (f"aws dynamodb get-item --table-name mfh-dev-platforms --key "
            f"platform_id={{S={PLATFORM['platform_id']}}} --projection-expression "
            "'capabilities[0], slug' --output json")
    result = dispatch(text, services.context("U_A", "C_OPS"))
    assert not isinstance(result, ErrorResult), result
    shown = render_text(result)
    assert f'"S": "{PLATFORM["capabilities"][0]}"' in shown
    assert f'"S": "{PLATFORM["capabilities"][1]}"' not in shown
    raw = services.client.get_item(
        TableName="mfh-dev-platforms", Key={"platform_id": {"S": PLATFORM["platform_id"]}},
        ProjectionExpression="#c[1]", ExpressionAttributeNames={"#c": "capabilities"})
    assert raw["Item"] == {"capabilities": {"L": [{"S": PLATFORM["capabilities"][1]}]}}


def test_point_in_time_recovery_exists_on_moto_only(ddb: Any) -> None:
    """DynamoDB Local implements neither DescribeContinuousBackups nor
    UpdateContinuousBackups (``init`` reports PITR as skipped there: test_init.py)."""
    if engine.on_moto():
        desc = ddb.describe_continuous_backups(TableName="mfh-dev-users")
        assert desc["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"] == "ENABLED"
        return
    for call in (lambda: ddb.describe_continuous_backups(TableName="mfh-dev-users"),
                 lambda: ddb.update_continuous_backups(
                     TableName="mfh-dev-users",
                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "UnknownOperationException"


def test_describe_makes_no_pitr_claim_when_the_endpoint_cannot_say(services: Any,
                                                                   seeded: Any) -> None:
    """Where DescribeContinuousBackups is unknown (DynamoDB Local, or made so here on moto),
    describe says PITR is unknown and reports no PITR drift (it said "PITR is off,
    declared on" for users, accounts and user-accounts)."""

    def unknown(**_kw: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("http://endpoint", 400, {}, None), {
            "Error": {"Code": "UnknownOperationException", "Message": "unknown operation"},
            "ResponseMetadata": {"HTTPStatusCode": 400}}

    services.client.meta.events.register("before-call.dynamodb.DescribeContinuousBackups",
                                          unknown)
    for short in ("users", "accounts", "user-accounts"):
        sections = _describe(services, short)
        assert "*PITR*: unknown" in sections["Table"]
        assert sections["Drift vs declared schema"] == "none: matches the declared schema"


def test_a_deleted_gsi_is_drift_while_it_is_still_deleting(services: Any, seeded: Any) -> None:
    """DynamoDB (and DynamoDB Local) keep a deleted GSI listed as DELETING for a while; moto
    drops it at once. Either way describe reports the declared GSI as missing."""
    services.client.update_table(TableName="mfh-dev-users", GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "EmailIndex"}}])
    drift = _describe(services, "users")["Drift vs declared schema"]
    assert "GSI `EmailIndex` is declared but missing" in drift
    assert "CognitoUserIdIndex" not in drift


def test_a_gsi_lingers_as_deleting_on_dynamodb_local_only(ddb: Any) -> None:
    """The engine difference under the test above: right after the delete, DynamoDB Local
    still lists the index (DELETING); moto has removed it."""
    resp = ddb.update_table(TableName="mfh-dev-users", GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "EmailIndex"}}])
    listed = {g["IndexName"]: g.get("IndexStatus")
              for g in resp["TableDescription"].get("GlobalSecondaryIndexes", [])}
    if engine.on_moto():
        assert "EmailIndex" not in listed
        return
    assert listed["EmailIndex"] == "DELETING"


def test_tagging_is_not_implemented_on_dynamodb_local(ddb: Any) -> None:
    """The bot never tags; noted because a future feature might."""
    arn = ddb.describe_table(TableName="mfh-dev-users")["Table"]["TableArn"]
    if engine.on_moto():
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
        return
    with pytest.raises(ClientError) as err:
        ddb.list_tags_of_resource(ResourceArn=arn)
    assert err.value.response["Error"]["Code"] == "UnknownOperationException"


def test_a_query_start_key_outside_the_key_condition(ddb: Any, seeded: Any) -> None:
    """DynamoDB (and DynamoDB Local) refuse an ExclusiveStartKey whose key is outside the
    query's key condition; moto pages on from it. (tests/integration/test_odd_input.py
    used such a key as "the right shape".)"""
    params = {"TableName": "mfh-dev-users", "IndexName": "EmailIndex",
              "KeyConditionExpression": "email = :e",
              "ExpressionAttributeValues": {":e": {"S": demo.DEMO_EMAIL}},
              "ExclusiveStartKey": {"user_id": {"S": "user:0"}, "email": {"S": "a@b.c"}}}
    if engine.on_moto():
        assert ddb.query(**params)["Count"] >= 0
        return
    with pytest.raises(ClientError) as err:
        ddb.query(**params)
    assert err.value.response["Error"]["Message"] == (
        "The provided starting key does not match the range key predicate")
