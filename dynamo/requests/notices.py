"""At most one outcome notice per request, however many replicas or clicks race to send it.

Whoever sees a request in a final state may call ``claim``; only the first conditional
write of ``notified`` wins, so the requester gets one DM per final outcome. A DM that
then fails to send is logged, not retried (a second one could duplicate it).
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from dynamo.requests.model import conditioned, state_key

FINAL = frozenset({"EXECUTED", "REJECTED", "STALE", "EXPIRED", "FAILED"})


def claim(client: Any, state_table: str, request_id: str, status: str) -> bool:
    """True for exactly one caller per (request, final status); False for everyone else."""
    if status not in FINAL:
        return False
    try:
        client.update_item(
            TableName=state_table, Key=state_key(request_id), UpdateExpression="SET #n = :st",
            **conditioned(Attr("status").eq(status) & Attr("notified").not_exists(),
                          {"#n": "notified"}, {":st": status}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
