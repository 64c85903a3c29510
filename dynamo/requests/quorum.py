"""Quorum: N distinct approvals before a change runs, enforced by DynamoDB conditions.

A request carries ``need`` (from the policy) and the string set ``approvals``. Every
approval but the last is a conditional UpdateItem adding the approver to the set::

    status = PENDING AND expires_at > now AND NOT contains(approvals, me)
    AND (attribute_not_exists(approvals) OR size(approvals) < need - 1)

The last one joins the request's existing ``PENDING → EXECUTED`` transaction with the
extra condition ``size(approvals) = need - 1 AND NOT contains(approvals, me)`` (or
``attribute_not_exists(approvals)`` when one approval is enough). The set only grows, so
a request whose set had ``need - 1`` members when read still holds exactly those when
that condition passes, and the final write may SET the whole set.

Races: two simultaneous "last" approvals run one transaction; the other's condition
fails, it reads back EXECUTED and reports it. Two simultaneous non-final approvals when
one place is left: one is recorded, the other's condition fails and it retries as the
last one. The same person twice: the ``contains`` condition fails and they are told
that an approval counts once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import ClientError

from dynamo.requests.model import APPROVALS, conditioned, still_pending
from dynamo.store import serialize_item

if TYPE_CHECKING:
    from dynamo.requests.model import WriteRequest

ATTR = APPROVALS
ATTEMPTS = 6  # each retry follows someone else's successful approval, so few are needed


def progress(req: WriteRequest) -> str:
    """``1 of 2 approvals: <@U_B>`` (empty while one approval is all it needs)."""
    if req.need <= 1:
        return ""
    who = ", ".join(f"<@{u}>" for u in req.approvals)
    return f"{len(req.approvals)} of {req.need} approvals" + (f": {who}" if who else "")


def is_final(req: WriteRequest) -> bool:
    """Whether one more approval completes the quorum (so it runs the change)."""
    return len(req.approvals) + 1 >= req.need


def final_condition(req: WriteRequest, approver: str) -> ConditionBase:
    """The condition the executing write adds to the request item (see module doc)."""
    if req.need <= 1 or not req.approvals:
        return Attr(ATTR).not_exists()
    return Attr(ATTR).size().eq(req.need - 1) & ~Attr(ATTR).contains(approver)


def with_approver(req: WriteRequest, approver: str) -> set[str]:
    """The full set after this approval (safe to SET: see the module doc)."""
    return {*req.approvals, approver}


def record(client: Any, table: str, key: dict[str, Any], req: WriteRequest, approver: str,
           now: int) -> bool:
    """Add a non-final approval; False when the request moved on meanwhile (re-read it)."""
    cond = (still_pending(now) & ~Attr(ATTR).contains(approver)
            & (Attr(ATTR).not_exists() | Attr(ATTR).size().lt(req.need - 1)))
    try:
        client.update_item(
            TableName=table, Key=serialize_item(key), UpdateExpression="ADD #ap :me",
            **conditioned(cond, {"#ap": ATTR}, {":me": {approver}}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
