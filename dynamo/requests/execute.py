"""Write requests and their state machine: the two-person rule, enforced by DynamoDB.

A request is planned (``dynamo.requests.plan``), stored ``PENDING`` in the state table, and
executed on approval by **one TransactWriteItems**: the data write conditioned on the item
still matching "before" for every touched attribute (and on its existence or absence), plus
the request's ``PENDING → EXECUTED`` conditioned on it still being pending and unexpired.
Two approvers, a double click, a retried delivery or a restart can therefore never run a
change twice. GSI changes cannot join a transaction: they move ``PENDING → EXECUTING``
conditionally first (both: ``dynamo.requests.transaction``). Every condition is built
with boto3's ``Attr`` (``model.conditioned``); the writes themselves and the
TransactWriteItems call are ``dynamo.requests.operations``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from dynamo.audit import Audit
from dynamo.errors import DdbBotError
from dynamo.policy import Policy
from dynamo.requests import quorum, undo
from dynamo.requests.break_glass import BreakGlass
from dynamo.requests.model import (
    REQ_PK,
    Kind,
    Status,
    WriteRequest,
    conditioned,
    from_item,
    state_key,
    still_pending,
    to_item,
)
from dynamo.requests.plan import TOO_LARGE, PlanError, Planner, check_storable
from dynamo.requests.refusal import Refused
from dynamo.requests.transaction import Crossed, Execution
from dynamo.store import Store, deserialize_item, item_too_large, serialize_item

AUDIT_VALUE_MAX = 2000  # characters of one before/after value kept in an audit record


def _audit_value(text: str) -> str:
    """A preview value as the audit keeps it: whole up to ``AUDIT_VALUE_MAX`` characters (a
    record is one item; the request item keeps the whole value while it is kept)."""
    if len(text) <= AUDIT_VALUE_MAX:
        return text
    return f"{text[:AUDIT_VALUE_MAX]}… (+{len(text) - AUDIT_VALUE_MAX:,} characters)"


class Requests(Planner, Execution, BreakGlass):
    """The request store and state machine over the bot's state table (the approved change's
    transaction: ``dynamo.requests.transaction``; break-glass and its review:
    ``dynamo.requests.break_glass``)."""

    def __init__(self, store: Store, state_table: str, ttl_seconds: int,
                 clock: Callable[[], float] = time.time, audit: Audit | None = None,
                 policy: Policy | None = None,
                 member: Callable[[list[str], str], bool] | None = None,
                 undo_days: int = undo.DEFAULT_DAYS) -> None:
        self.store = store
        self.undo_seconds = undo_days * undo.DAY  # how long an executed change can be undone
        self.policy = policy or Policy()
        # whether a user is one of these user / user-group ids (groups need Slack: bot.access)
        self.member = member or (lambda ids, user: user in ids)
        self.audit = audit or Audit(store, state_table)
        self.client = store.client
        self.table = state_table
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        # told of every step ``_log`` records, as (actor, action, request, outcome): the
        # bot's metrics (bot.metrics.request_event); never decides anything
        self.observe: Callable[[str, str, WriteRequest, str], None] | None = None
        self.earlier: WriteRequest | None = None  # set on a ``rerequesting`` copy

    def rerequesting(self, earlier: WriteRequest) -> Requests:
        """These requests, saving each new one as a Re-request of ``earlier``: whoever asked
        for ``earlier`` (its requester and those before them) is kept on the new request as
        someone who may not approve it, whoever clicks Re-request."""
        again = copy.copy(self)
        again.earlier = earlier
        return again

    def plan_undo(self, request_id: str, requester: str, **kw: Any) -> WriteRequest:
        """The request reversing an executed one (``dynamo.requests.undo``)."""
        return undo.plan_undo(self, request_id, requester, **kw)

    # -- persistence -----------------------------------------------------------------------
    def save(self, req: WriteRequest) -> WriteRequest:
        if self.earlier is not None:
            req.rerequest_of = self.earlier.id
            req.asked_before = sorted({*self.earlier.asked_before, self.earlier.requester}
                                      - {req.requester})
        stored = serialize_item(to_item(req))
        check_storable(stored)
        try:
            self.client.put_item(TableName=self.table, Item=stored,
                                 **conditioned(Attr("pk").not_exists()))
        except ClientError as exc:
            if item_too_large(exc):  # the request holds the item's before: near 400 KB
                raise PlanError(TOO_LARGE) from None
            raise
        self._log(req.requester, "request", req, "PENDING")
        return req

    def _log(self, actor: str, action: str, req: WriteRequest, outcome: str) -> None:
        detail: dict[str, Any] = {"preview": [[a, _audit_value(b), _audit_value(c)]
                                              for a, b, c in req.preview()],
                                  "table": req.table, "kind": req.kind.value, "key": req.key,
                                  "need": req.need, "approvals": list(req.approvals)}
        if req.reason:
            detail["reason"] = req.reason
        if req.error:
            detail["error"] = req.error
        if req.break_glass:  # the export's break_glass and reason (dynamo.audit_export)
            detail.update(break_glass=True, break_glass_reason=req.break_glass_reason,
                          reviewed_by=req.reviewed_by)
        self.audit.record(actor, action, req.id, req.summary, outcome, detail)
        if self.observe is not None:
            self.observe(actor, action, req, outcome)

    def get(self, request_id: str) -> WriteRequest | None:
        if not request_id or len(request_id) > 40:
            return None
        resp = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key=state_key(request_id))
        raw = resp.get("Item")
        return from_item(deserialize_item(raw)) if raw else None

    def set_message(self, request_id: str, channel: str, ts: str) -> None:
        self._update(request_id, {"message_channel": channel, "message_ts": ts})

    def list(self, *, statuses: Iterable[str] | None = None, limit: int = 50,
             requester: str | None = None) -> list[WriteRequest]:
        flt: ConditionBase | None = None
        wanted = list(statuses or [])
        if wanted:
            flt = Attr("status").is_in(wanted)
        if requester:
            cond = Attr("requester").eq(requester)
            flt = cond if flt is None else flt & cond
        page = self.store.query(self.table, Key("pk").eq(REQ_PK), filter=flt, desc=True,
                                max_items=limit, key_names=("pk", "sk"), read_cap=5000)
        return [from_item(i) for i in page.items]

    # -- decisions -------------------------------------------------------------------------
    def check_approver(self, req: WriteRequest, user: str,
                       is_approver: Callable[[str], bool]) -> None:
        if user == req.requester:
            raise Refused("you asked for this change; a second person has to approve it")
        if req.asked_by(user):
            raise Refused(f"you asked for this change before (it re-requests {req.rerequest_of}); "
                          "someone who did not ask for it has to approve it")
        if not self.may_decide(req, user, is_approver):
            if req.approvers:
                raise Refused(f"the approval policy for {req.kind.value} on `{req.table}` names "
                              f"its approvers ({', '.join(req.approvers)}); you are not one of "
                              "them, so you cannot approve this change")
            raise Refused("you are not in DDB_BOT_APPROVERS, so you cannot approve changes")

    def may_decide(self, req: WriteRequest, user: str, is_approver: Callable[[str], bool]) -> bool:
        """The policy's approvers for this request where it names them, else DDB_BOT_APPROVERS."""
        return self.member(req.approvers, user) if req.approvers else is_approver(user)

    def of_this_stage(self, request_id: str, verb: str, error: type[DdbBotError] = Refused,
                      missing: str = "") -> WriteRequest:
        """The request, or ``error`` when there is none or it is another stage's: a bot
        decides, reviews and undoes only the requests of the stage whose tables it serves."""
        req = self.get(request_id)
        if req is None:
            raise error(f"no write request `{request_id}`{missing}")
        if req.stage != self.store.stage:
            raise error(f"request {req.id} is for stage `{req.stage or '?'}`; this bot serves "
                        f"`{self.store.stage}`, so it cannot {verb} it")
        return req

    def _load_pending(self, request_id: str) -> WriteRequest:
        req = self.of_this_stage(request_id, "decide")
        if req.status is not Status.PENDING:
            who = f" by <@{req.decided_by}>" if req.decided_by else ""
            raise Refused(f"request {req.id} is already {req.status.value}{who}; nothing changed")
        if req.expires_at <= self.clock():
            self.expire(req)
            raise Refused(f"request {req.id} expired before it was approved; nothing changed. "
                          "Ask again for a fresh preview")
        return req

    def approve(self, request_id: str, approver: str,
                is_approver: Callable[[str], bool] = lambda _u: True) -> WriteRequest:
        """Execute a pending request exactly once; returns it with its final status."""
        try:
            done = self._approve(request_id, approver, is_approver)
        except Refused as exc:
            self._log_refusal(approver, "approve", request_id, str(exc))
            raise
        self._log(approver, "approve", done, done.status.value)
        return done

    def _log_refusal(self, actor: str, action: str, request_id: str, why: str) -> None:
        self.audit.record(actor, f"{action} refused", request_id, request_id, why)

    def _approve(self, request_id: str, approver: str,
                 is_approver: Callable[[str], bool]) -> WriteRequest:
        req = self.get(request_id)
        if req is not None:
            self.check_approver(req, approver, is_approver)
        for _ in range(quorum.ATTEMPTS):
            req = self._load_pending(request_id)
            if approver in req.approvals:
                raise Refused(f"you already approved request {req.id}; an approval counts once "
                              f"per person ({quorum.progress(req)})")
            now = int(self.clock())
            if not quorum.is_final(req):
                if quorum.record(self.client, self.table, {"pk": REQ_PK, "sk": req.id}, req,
                                 approver, now):
                    return self._recorded(req, approver)
                continue  # someone else approved or decided meanwhile: look again
            try:
                if req.kind in (Kind.GSI_CREATE, Kind.GSI_DELETE):
                    return self._run_gsi(req, approver, now)
                return self._run_transaction(req, approver, now)
            except Crossed:
                continue
        raise Refused(f"request {request_id} is being decided by others right now; "
                      "look at its message and try again if it is still pending")

    def _recorded(self, req: WriteRequest, approver: str) -> WriteRequest:
        """The request as this non-final approval left it: still pending, with it counted.

        Read back for the approvals others added meanwhile, unless someone else's final
        approval already decided it: what *this* approval did is still "recorded" (its
        result event and audit outcome), and the message is synced from the store anyway.
        """
        current = self.get(req.id)
        if current is not None and current.status is Status.PENDING:
            return current
        req.approvals = sorted({*req.approvals, approver})
        return req

    def reject(self, request_id: str, user: str, reason: str | None,
               is_approver: Callable[[str], bool] = lambda _u: True) -> WriteRequest:
        """Reject (approvers) or withdraw (the requester); only a pending request."""
        try:
            done = self._reject(request_id, user, reason, is_approver)
        except Refused as exc:
            self._log_refusal(user, "reject", request_id, str(exc))
            raise
        self._log(user, "reject", done, done.status.value)
        return done

    def _reject(self, request_id: str, user: str, reason: str | None,
                is_approver: Callable[[str], bool]) -> WriteRequest:
        req = self.get(request_id)
        if req is None:
            raise Refused(f"no write request `{request_id}`")
        if user != req.requester and not self.may_decide(req, user, is_approver):
            raise Refused("you are not among this request's approvers, so you cannot reject it"
                          if req.approvers else
                          "you are not in DDB_BOT_APPROVERS, so you cannot reject changes")
        req = self._load_pending(request_id)
        now = int(self.clock())
        fields = {"status": Status.REJECTED.value, "decided_by": user, "decided_at": now}
        if reason:
            fields["reason"] = reason[:500]
        if not self._transition(req.id, Status.PENDING, fields):
            return self._already(req.id)
        return self.get(req.id) or req

    def expire(self, req: WriteRequest) -> bool:
        """PENDING → EXPIRED once its time is up (the sweep and late clicks call this)."""
        moved = self._transition(req.id, Status.PENDING,
                                 {"status": Status.EXPIRED.value, "decided_at": int(self.clock())})
        if moved:
            self._log("ddb-bot", "expire", req, Status.EXPIRED.value)
        return moved

    def expire_due(self) -> list[WriteRequest]:
        """Expire every pending request past its time; returns those this call expired."""
        now = self.clock()
        done = []
        for req in self.list(statuses=[Status.PENDING.value], limit=500):
            if req.expires_at <= now and self.expire(req):
                done.append(self.get(req.id) or req)
        return done

    def _already(self, request_id: str) -> WriteRequest:
        current = self.get(request_id)
        if current is None:
            raise Refused(f"no write request `{request_id}`")
        who = f" by <@{current.decided_by}>" if current.decided_by else ""
        raise Refused(f"request {current.id} is already {current.status.value}{who}; "
                      "nothing changed")

    # -- plumbing ------------------------------------------------------------------------
    def _transition(self, request_id: str, expected: Status, fields: dict[str, Any],
                    unexpired_at: int | None = None, also: ConditionBase | None = None) -> bool:
        """Conditional status move; False when the request was not in ``expected``."""
        cond: ConditionBase = (Attr("status").eq(expected.value) if unexpired_at is None else
                               still_pending(unexpired_at, expected))
        if also is not None:
            cond = cond & also
        try:
            self._update(request_id, fields, cond)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _update(self, request_id: str, fields: dict[str, Any],
                cond: ConditionBase | None = None) -> None:
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": v for i, v in enumerate(fields.values())}
        params: dict[str, Any] = {
            "TableName": self.table, "Key": state_key(request_id),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
        }
        if cond is not None:
            params.update(conditioned(cond, names, values))
        else:
            params.update(ExpressionAttributeNames=names,
                          ExpressionAttributeValues=serialize_item(values))
        self.client.update_item(**params)
