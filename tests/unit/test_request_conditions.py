"""The state machine's conditions, built with ``Attr``, say what the hand-written ones said."""

from __future__ import annotations

import re
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from dynamo.requests import Kind, WriteRequest, quorum
from dynamo.requests.model import conditioned, still_pending


def _resolved(params: dict[str, Any]) -> str:
    """The condition with names and values put back in place of their placeholders."""
    names = params["ExpressionAttributeNames"]
    values = {k: TypeDeserializer().deserialize(v)
              for k, v in params.get("ExpressionAttributeValues", {}).items()}
    text = re.sub(r"#\w+", lambda m: names[m.group()], params["ConditionExpression"])
    return re.sub(r":\w+", lambda m: str(values[m.group()]), text)


def _req(need: int, approvals: list[str]) -> WriteRequest:
    return WriteRequest(id="R1", kind=Kind.UPDATE, table="users", requester="U_A", created_at=1,
                        expires_at=2, need=need, approvals=approvals)


def test_final_approval_condition_keeps_size_and_contains() -> None:
    cond = still_pending(100) & quorum.final_condition(_req(3, ["U_B", "U_C"]), "U_D")
    assert _resolved(conditioned(cond)) == (
        "((status = PENDING AND expires_at > 100) "
        "AND (size(approvals) = 2 AND (NOT contains(approvals, U_D))))")
    first = still_pending(100) & quorum.final_condition(_req(1, []), "U_D")
    assert _resolved(conditioned(first)) == (
        "((status = PENDING AND expires_at > 100) AND attribute_not_exists(approvals))")


def test_non_final_approval_condition_groups_the_or() -> None:
    calls: list[dict[str, Any]] = []

    class Client:
        def update_item(self, **kw: Any) -> None:
            calls.append(kw)

    assert quorum.record(Client(), "state", {"pk": "REQ", "sk": "R1"}, _req(3, ["U_B"]), "U_C", 100)
    assert calls[0]["UpdateExpression"] == "ADD #ap :me"
    assert _resolved(calls[0]) == (
        "(((status = PENDING AND expires_at > 100) AND (NOT contains(approvals, U_C))) "
        "AND (attribute_not_exists(approvals) OR size(approvals) < 2))")


def test_merged_placeholders_keep_the_callers_own() -> None:
    params = conditioned(still_pending(5), {"#x": "x"}, {":x": 1})
    assert params["ExpressionAttributeNames"]["#x"] == "x"
    assert params["ExpressionAttributeValues"][":x"] == {"N": "1"}
