"""Two versions side by side on one state table (a rolling update, README *Operations*).

During a rolling update old and new replicas serve the same requests: either may read,
approve or list a request the other wrote. Items are read field by field
(``dynamo.requests.model.from_item``): an attribute this version does not know is
ignored, a missing one takes its default; writes are UpdateItem of named attributes, so
an attribute only the other version knows survives. These tests write the item as the
other version would (directly, through the client) and act on it through the commands.
"""

from __future__ import annotations

from typing import Any

from commands import dispatch
from commands.results import RequestResult
from dynamo import demo

STATE = "mfh-dev-ddb-bot"


def _request(services: Any) -> str:
    made = dispatch(f"update helpers {demo.DEMO_HELPER_ID} set enabled=false",
                    services.context("U_ALICE", "C_OPS"))
    assert isinstance(made, RequestResult) and made.status == "PENDING", made
    return made.id


def _key(request_id: str) -> dict[str, Any]:
    return {"pk": {"S": "REQ"}, "sk": {"S": request_id}}


def test_an_item_with_attributes_of_a_newer_version_is_read_approved_and_kept(
        services: Any, seeded: Any) -> None:
    rid = _request(services)
    services.client.update_item(  # what a newer replica might add
        TableName=STATE, Key=_key(rid), UpdateExpression="SET #f = :f",
        ExpressionAttributeNames={"#f": "escalation_policy_v9"},
        ExpressionAttributeValues={":f": {"M": {"after_s": {"N": "600"}}}})
    listed = dispatch("pending", services.context("U_BOB", "C_OPS"))
    assert rid in str(listed)
    done = dispatch(f"approve {rid}", services.context("U_BOB", "C_OPS"))
    assert isinstance(done, RequestResult) and done.status == "EXECUTED", done
    item = services.client.get_item(TableName=STATE, Key=_key(rid), ConsistentRead=True)["Item"]
    assert item["status"] == {"S": "EXECUTED"}
    assert item["escalation_policy_v9"] == {"M": {"after_s": {"N": "600"}}}  # still there


def test_an_item_without_attributes_added_later_reads_with_their_defaults(
        services: Any, seeded: Any) -> None:
    rid = _request(services)
    later = [a for a in ("need", "approvers", "judged", "exec_token")
             if a in services.client.get_item(TableName=STATE, Key=_key(rid))["Item"]]
    assert later  # this version writes some of them
    services.client.update_item(  # as an older replica wrote it: none of them
        TableName=STATE, Key=_key(rid), UpdateExpression="REMOVE " + ", ".join(
            f"#a{i}" for i in range(len(later))),
        ExpressionAttributeNames={f"#a{i}": a for i, a in enumerate(later)})
    req = services.requests.get(rid)
    assert req is not None and req.need == 1 and req.approvers == []
    done = dispatch(f"approve {rid}", services.context("U_BOB", "C_OPS"))
    assert isinstance(done, RequestResult) and done.status == "EXECUTED", done
