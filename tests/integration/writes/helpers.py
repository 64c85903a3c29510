"""What the write-request tests share: constants, reading the tables back, result checks.

Every write becomes a request; nothing reaches a platform table until a second person
approves, and then exactly once, only if the item is still what the preview showed.
Tests assert on what a user sees (the result) and on what ends up in the tables (read
back with the boto3 client, through these helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from commands.results import RequestResult
from dynamo import demo
from dynamo.store import deserialize_item, serialize_item
from testkit import STAGE

STATE = f"mfh-{STAGE}-ddb-bot"
HELPER = demo.DEMO_HELPER_ID
FAKE_NOW = 1_900_000_000  # 2030-03-17T17:46:40Z
# the seed's example user (its update-item/delete-item examples act on it)
USER_ABC = {"user_id": "user:abc", "cognito_user_id": "abc", "email": "abc@example.com",
            "status": "disabled", "updated_at": "2025-01-01T00:00:00Z"}

# -- the seed's write examples, copied verbatim ----------------------------------------------
SEED_UPDATE = """aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = :s, updated_at = :u" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"},":u":{"S":"2025-02-05T00:00:00Z"}}' --region us-west-2"""  # noqa: E501
SEED_DELETE = """aws dynamodb delete-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --region us-west-2"""  # noqa: E501


# -- helpers -------------------------------------------------------------------------------
class Clock:
    """A controllable ``Requests.clock`` (epoch seconds)."""

    def __init__(self, now: float = FAKE_NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def full(short: str) -> str:
    return f"mfh-{STAGE}-{short}"


def get_item(ddb: Any, short: str, key: dict[str, Any]) -> dict[str, Any] | None:
    raw = ddb.get_item(TableName=full(short), Key=serialize_item(key), ConsistentRead=True)
    return deserialize_item(raw["Item"]) if "Item" in raw else None


def put_item(ddb: Any, short: str, item: dict[str, Any]) -> None:
    ddb.put_item(TableName=full(short), Item=serialize_item(item))


def helper(ddb: Any, helper_id: str = HELPER) -> dict[str, Any] | None:
    return get_item(ddb, "helpers", {"helper_id": helper_id})


def state_items(ddb: Any, pk: str) -> list[dict[str, Any]]:
    resp = ddb.query(TableName=STATE, KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True)
    assert "LastEvaluatedKey" not in resp
    return [deserialize_item(i) for i in resp["Items"]]


def request_item(ddb: Any, request_id: str) -> dict[str, Any]:
    raw = ddb.get_item(TableName=STATE, Key={"pk": {"S": "REQ"}, "sk": {"S": request_id}},
                       ConsistentRead=True)
    return deserialize_item(raw["Item"])


def audit(ddb: Any) -> list[dict[str, Any]]:
    return sorted(state_items(ddb, "AUDIT"), key=lambda r: r["sk"])


def audit_outcomes(ddb: Any, request_id: str) -> list[tuple[str, str]]:
    """(action, outcome) of every audit record of one request, oldest first."""
    return [(r["action"], r["outcome"]) for r in audit(ddb) if r["request_id"] == request_id]


def without_audit(snapshot: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every table's items except audit records (refusals are audited, nothing else)."""
    return {t: [i for i in items if not (t == STATE and i["pk"]["S"] == "AUDIT")]
            for t, items in snapshot.items()}


def created(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert result.ok and result.event == "created" and result.status == "PENDING", result
    return result


def executed(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert result.ok and result.event == "decided" and result.status == "EXECUTED", result
    return result


def refused(result: Any, *fragments: str) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert not result.ok and result.event == "refused" and result.refusal, result
    for fragment in fragments:
        assert fragment in result.refusal, result.refusal
    return result


def preview(result: RequestResult) -> dict[str, tuple[str, str]]:
    return {attr: (before, after) for attr, before, after in result.preview}


def approve(run: Callable[..., Any], request_id: str, user: str = "U_B") -> Any:
    return run(user, f"/ddb approve {request_id}")
