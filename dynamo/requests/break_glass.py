"""Break-glass: a change run at once by a member of the policy's ``break_glass`` list, with
their reason, and reviewed by someone else afterwards.

It skips the second person, not the freshness rule or the record: the change is planned
exactly like a request (same "before"), then **one TransactWriteItems** holds the data
write (``operations.data_operation``, conditioned on the item still being what the
preview read) and a Put of the request item, already ``EXECUTED`` with ``break_glass``,
the reason, the executor as ``decided_by`` and the transaction's token, conditioned on
``attribute_not_exists(pk)``. Both land or neither: if the item changed between the
preview and the write, the request is recorded ``STALE`` and nothing is written. A
commit whose answer was lost is recognised by its token, as approvals do
(``Requests._committed_with``).

"Needs review" is ``EXECUTED AND break_glass AND attribute_not_exists(reviewed_by)``. A
review is one conditional UpdateItem on exactly that, so two reviewers at once record
one review and the other is told who did. Who may review: whoever may approve that
request (its policy approvers, else DDB_BOT_APPROVERS), never the executor.

The item is put with ``notified`` already claimed (``dynamo.requests.notices``): the
executor is answered directly, there is no requester to DM about their own change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import BotoCoreError, ClientError

from dynamo.redact import mask_text
from dynamo.requests import undo
from dynamo.requests.model import REQ_PK, Kind, Status, WriteRequest, conditioned, from_item, to_item
from dynamo.requests.operations import data_operation, transact
from dynamo.requests.plan import TOO_LARGE, PlanError, check_storable
from dynamo.requests.refusal import Refused
from dynamo.schema import resolve_table
from dynamo.store import StoreError, item_too_large, serialize_item

if TYPE_CHECKING:
    from dynamo.audit import Audit
    from dynamo.policy import Policy
    from dynamo.store import Store

REASON_MAX = 500
DATA_KINDS = (Kind.UPDATE, Kind.DELETE, Kind.PUT)
STALE_ERROR = "the item changed between the preview and the write; nothing was written"
REVIEWED = "REVIEWED"  # the audit outcome of a review (the request stays EXECUTED)
NOT_FOR_GSI = ("--break-glass cannot run an index change: creating or deleting a GSI takes "
               "minutes and cannot join the conditional transaction that keeps a break-glass "
               "change exactly once. Ask for approval instead (drop --break-glass)")


def needs_review_condition() -> ConditionBase:
    """Executed by break-glass and not reviewed yet (the review's own write condition)."""
    return (Attr("status").eq(Status.EXECUTED.value) & Attr("break_glass").eq(True)
            & Attr("reviewed_by").not_exists())


class BreakGlass:
    """The break-glass half of ``Requests`` (a mixin: it uses the request store's parts)."""

    store: Store
    client: Any
    table: str
    clock: Callable[[], float]
    policy: Policy
    member: Callable[[list[str], str], bool]
    audit: Audit

    if TYPE_CHECKING:  # provided by Requests
        def get(self, request_id: str) -> WriteRequest | None: ...
        def of_this_stage(self, request_id: str, verb: str) -> WriteRequest: ...
        def _log(self, actor: str, action: str, req: WriteRequest, outcome: str) -> None: ...
        def _log_refusal(self, actor: str, action: str, request_id: str, why: str) -> None: ...
        def _committed_with(self, request_id: str, approver: str,
                            token: str) -> WriteRequest | None: ...
        def may_decide(self, req: WriteRequest, user: str,
                       is_approver: Callable[[str], bool]) -> bool: ...

    # -- who may ---------------------------------------------------------------------------
    def break_glass_denial(self, user: str, kind: Kind | None = None) -> str | None:
        """Why ``user`` may not use --break-glass for ``kind`` (None: they may)."""
        if kind is not None and kind not in DATA_KINDS:
            return NOT_FOR_GSI
        members = list(self.policy.break_glass)
        if not members:
            return ("the approval policy names no break-glass members (`break_glass` in "
                    "DDB_BOT_POLICY_FILE), so --break-glass cannot be used here. Ask for "
                    "approval instead (drop --break-glass)")
        if not self.member(members, user):
            return ("you are not in the approval policy's `break_glass` list, so you cannot "
                    "use --break-glass. Ask for approval instead (drop --break-glass); "
                    "nothing was run")
        return None

    def refuse_break_glass(self, user: str, why: str, summary: str,
                           detail: dict[str, Any] | None = None) -> None:
        """Audit a refused break-glass (no request is stored: nothing was planned to run)."""
        self.audit.record(user, "break-glass refused", "", summary, why,
                          {**(detail or {}), "break_glass": True})

    # -- running -----------------------------------------------------------------------------
    def run_break_glass(self, req: WriteRequest, reason: str) -> WriteRequest:
        """Run a planned data change now, as ``req.requester``; returns it EXECUTED or STALE.

        Raises ``Refused`` (audited) when the requester may not, and ``StoreError`` when
        DynamoDB refused or did not answer and no commit of this call can be found.
        """
        executor = req.requester
        # free text from a person: a credential pasted into it is masked before it is stored
        reason = mask_text(reason.strip())
        req.text = mask_text(req.text)  # the command, reason included (never re-run: no button)
        why = self.break_glass_denial(executor, req.kind)
        if why is None and not reason:
            why = "--break-glass needs a reason"
        if why is None and len(reason) > REASON_MAX:
            why = f"the break-glass reason is longer than {REASON_MAX} characters"
        if why is not None:
            self.refuse_break_glass(executor, why, req.summary, _detail(req, reason))
            raise Refused(why)
        now = int(self.clock())
        token = f"bg-{req.id}-{secrets.token_hex(4)}"
        req.status, req.break_glass, req.break_glass_reason = Status.EXECUTED, True, reason
        req.decided_by, req.decided_at, req.exec_token = executor, now, token
        table, full = resolve_table(req.table, self.store.stage)
        try:  # as an approved change: a delete keeps what its undo needs (dynamo.requests.undo)
            extra = undo.prepare(self, req, table, full, now)  # type: ignore[arg-type]
        except undo.Halt as halt:
            return self._record_unrun(req, halt.status, halt.error)
        data_op = data_operation(req, table, full, extra.also)
        undo.merge_secrets(data_op, extra.merge)
        stored = serialize_item(_claimed(req))
        check_storable(stored)  # refused before anything runs, as a request would be
        state_op = {"Put": {"TableName": self.table, "Item": stored,
                            **conditioned(Attr("pk").not_exists())}}
        try:
            # the order is fixed: ``_stale_or_raise`` reads reasons 0 (data) and 1 (request)
            transact(self.client, [data_op, state_op, *extra.items], token)
        except ClientError as exc:
            ours = self._committed_with(req.id, executor, token)
            if ours is not None:  # a retry of our own commit failed its conditions
                self._log(executor, "break-glass", ours, ours.status.value)
                return ours
            return self._stale_or_raise(req, exc)
        except BotoCoreError as exc:
            ours = self._committed_with(req.id, executor, token)
            if ours is not None:
                self._log(executor, "break-glass", ours, ours.status.value)
                return ours
            self._log(executor, "break-glass", req, f"no answer ({type(exc).__name__})")
            # never "nothing ran": a commit still in flight may yet land
            raise StoreError(f"DynamoDB did not answer the break-glass write "
                             f"({type(exc).__name__}); request {req.id} is not recorded yet. "
                             f"Check `/ddb history` and the item before running it again",
                             type(exc).__name__) from exc
        done = self.get(req.id) or req
        self._log(executor, "break-glass", done, done.status.value)
        return done

    def _stale_or_raise(self, req: WriteRequest, exc: ClientError) -> WriteRequest:
        """The transaction was cancelled and is not ours: the data condition → STALE."""
        code = exc.response.get("Error", {}).get("Code")
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        data_failed = code == "TransactionCanceledException" and reasons[:1] == [
            "ConditionalCheckFailed"] and reasons[1:2] != ["ConditionalCheckFailed"]
        if item_too_large(exc):  # the request item holds the item's before: near 400 KB
            raise PlanError(TOO_LARGE) from None
        if not data_failed:
            raise StoreError(f"DynamoDB refused the break-glass write: {code}: "
                             f"{exc.response.get('Error', {}).get('Message')}", code) from exc
        return self._record_unrun(req, Status.STALE, STALE_ERROR)

    def _record_unrun(self, req: WriteRequest, status: Status, error: str) -> WriteRequest:
        """Store a break-glass change that did not run (``status``, ``error``); nothing written."""
        req.status, req.error, req.exec_token = status, error, None
        self.client.put_item(TableName=self.table, Item=serialize_item(_claimed(req)),
                             **conditioned(Attr("pk").not_exists()))
        self._log(req.requester, "break-glass", req, req.status.value)
        return self.get(req.id) or req

    # -- review ------------------------------------------------------------------------------
    def review(self, request_id: str, reviewer: str,
               is_approver: Callable[[str], bool] = lambda _u: True) -> WriteRequest:
        """Record ``reviewer``'s review of an executed break-glass change, once."""
        try:
            done = self._review(request_id.strip(), reviewer, is_approver)
        except Refused as exc:
            self._log_refusal(reviewer, "review", request_id.strip(), str(exc))
            raise
        self._log(reviewer, "review", done, REVIEWED)
        return done

    def _review(self, request_id: str, reviewer: str,
                is_approver: Callable[[str], bool]) -> WriteRequest:
        req = self.of_this_stage(request_id, "review")
        if not req.break_glass:
            raise Refused(f"request {req.id} is not a break-glass change, so there is nothing "
                          "to review (approve or reject a pending request instead)")
        if req.status is not Status.EXECUTED:
            raise Refused(f"break-glass request {req.id} is {req.status.value}: it did not "
                          "run, so there is nothing to review")
        if req.reviewed_by:
            raise Refused(_already_reviewed(req))
        if reviewer == req.decided_by:
            raise Refused("you ran this change; someone else must review it")
        if not self.may_decide(req, reviewer, is_approver):
            raise Refused(f"only someone who may approve {req.kind.value} on `{req.table}` "
                          f"({', '.join(req.approvers)}) may review this change"
                          if req.approvers else
                          "you are not in DDB_BOT_APPROVERS, so you cannot review changes")
        now = int(self.clock())
        try:
            self.client.update_item(
                TableName=self.table, Key=serialize_item({"pk": REQ_PK, "sk": req.id}),
                UpdateExpression="SET #rb = :who, #ra = :now",
                **conditioned(needs_review_condition(), {"#rb": "reviewed_by", "#ra": "reviewed_at"},
                              {":who": reviewer, ":now": now}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            current = self.get(req.id)
            if current is not None and current.reviewed_by:
                raise Refused(_already_reviewed(current)) from None
            raise Refused(f"request {req.id} changed while it was being reviewed; "
                          "look at it again") from None
        return self.get(req.id) or req

    def needs_review(self, limit: int = 50) -> list[WriteRequest]:
        """Executed break-glass changes nobody has reviewed yet, newest first."""
        page = self.store.query(self.table, Key("pk").eq(REQ_PK), filter=needs_review_condition(),
                                desc=True, max_items=limit, key_names=("pk", "sk"), read_cap=5000)
        return [from_item(i) for i in page.items]


def _claimed(req: WriteRequest) -> dict[str, Any]:
    """The request item with its outcome notice already claimed (no DM to the executor)."""
    return {**to_item(req), "notified": req.status.value}


def _detail(req: WriteRequest, reason: str) -> dict[str, Any]:
    return {"table": req.table, "kind": req.kind.value, "key": req.key,
            "break_glass_reason": reason[:REASON_MAX]}


def _already_reviewed(req: WriteRequest) -> str:
    return f"request {req.id} was already reviewed by <@{req.reviewed_by}>; nothing changed"
