"""The approved change's execution: one TransactWriteItems, or a GSI change.

The data write is conditioned on the item still matching "before" (plus what
``undo.prepare`` adds for deletes and undos), and the request's ``PENDING → EXECUTED`` on
it still being pending, unexpired and, under a quorum, this approval being the final one.
Both land or neither. A transaction whose answer was lost is recognised by its token; a
cancellation is read from its reasons (data at 0, request at 1) as STALE, already
decided, or an approval crossed by another (``Crossed``: decide again). GSI changes
cannot join a transaction: they move ``PENDING → EXECUTING`` conditionally first.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dynamo.requests import quorum, undo
from dynamo.requests.model import Status, WriteRequest, conditioned, state_key, still_pending
from dynamo.requests.operations import data_operation, gsi_params, transact
from dynamo.schema import resolve_table
from dynamo.store import StoreError

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

    from dynamo.store import Store


class Crossed(Exception):
    """The final approval's condition failed while the request is still pending: re-read."""


class Execution:
    """The executing half of ``Requests`` (a mixin: it uses the request store's parts)."""

    store: Store
    client: Any
    table: str

    if TYPE_CHECKING:  # provided by Requests
        def get(self, request_id: str) -> WriteRequest | None: ...
        def expire(self, req: WriteRequest) -> bool: ...
        def _already(self, request_id: str) -> WriteRequest: ...
        def _transition(self, request_id: str, expected: Status, fields: dict[str, Any],
                        unexpired_at: int | None = None,
                        also: ConditionBase | None = None) -> bool: ...

    def _run_transaction(self, req: WriteRequest, approver: str, now: int) -> WriteRequest:
        table, full = resolve_table(req.table, self.store.stage)
        try:  # a delete keeps what its undo needs; an undo of one puts secrets back
            extra = undo.prepare(self, req, table, full, now)
        except undo.Halt as halt:
            return self._halt(req, approver, now, halt.status, halt.error)
        data_op = data_operation(req, table, full, extra.also)
        undo.merge_secrets(data_op, extra.merge)
        # one token per approval attempt: its retries are idempotent, while another
        # approver's (or a second click's) transaction is never taken for a replay. It is
        # stored with EXECUTED, so a commit whose answer was lost can be recognised.
        token = f"exec-{req.id}-{secrets.token_hex(4)}"
        cond = still_pending(now) & quorum.final_condition(req, approver)
        state_op = {"Update": {
            "TableName": self.table,
            "Key": state_key(req.id),
            "UpdateExpression": "SET #st = :done, #db = :who, #da = :now, #tk = :tok, #ap = :all",
            **conditioned(cond, {"#st": "status", "#db": "decided_by", "#da": "decided_at",
                                 "#tk": "exec_token", "#ap": quorum.ATTR},
                          {":done": Status.EXECUTED.value, ":who": approver, ":now": now,
                           ":tok": token, ":all": quorum.with_approver(req, approver)}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}
        try:
            # the order is fixed: ``_cancelled`` reads reasons 0 (data) and 1 (request)
            transact(self.client, [data_op, state_op, *extra.items], token)
        except ClientError as exc:
            # a retry of a transaction whose answer was lost (timeout, reset) fails its own
            # conditions once the token is no longer remembered: this approval ran it
            ours = self._committed_with(req.id, approver, token)
            if ours is not None:
                return ours
            return self._cancelled(req, approver, now, exc)
        except BotoCoreError as exc:
            ours = self._committed_with(req.id, approver, token)
            if ours is not None:
                return ours
            try:
                current = self.get(req.id)
                state = f"is {current.status.value}" if current else "is gone"
            except (ClientError, BotoCoreError):
                state = "could not be read (see /ddb history)"
            # never "nothing changed": a commit still in flight may yet land
            raise StoreError(f"DynamoDB did not answer the approval ({type(exc).__name__}); the "
                             f"request {state}. Approve again to retry: it cannot run twice",
                             type(exc).__name__) from exc
        return self.get(req.id) or req

    def _committed_with(self, request_id: str, approver: str, token: str) -> WriteRequest | None:
        """The request, if this approver's transaction (``token``) executed it; else None."""
        try:
            current = self.get(request_id)
        except (ClientError, BotoCoreError):
            return None
        if current and current.status is Status.EXECUTED and current.decided_by == approver \
                and current.exec_token == token:
            return current
        return None

    def _cancelled(self, req: WriteRequest, approver: str, now: int,
                   exc: ClientError) -> WriteRequest:
        """A transaction DynamoDB refused (not ours in the end): stale, decided or an error."""
        code = exc.response.get("Error", {}).get("Code")
        if code != "TransactionCanceledException":
            raise StoreError(f"DynamoDB transaction failed: {code}: "
                             f"{exc.response.get('Error', {}).get('Message')}", code) from exc
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            # the request is no longer pending (someone else decided) or has expired
            current = self.get(req.id)
            if current and current.status is Status.PENDING:
                if current.expires_at > now:
                    raise Crossed from None  # another approval landed first: decide again
                self.expire(current)
            return self._already(req.id)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            self._transition(req.id, Status.PENDING, {
                "status": Status.STALE.value, "decided_by": approver, "decided_at": now,
                "error": "the item changed since the preview; nothing was written"})
            return self.get(req.id) or req
        raise StoreError(f"DynamoDB transaction cancelled: {reasons}", code) from exc

    def _halt(self, req: WriteRequest, approver: str, now: int, status: Status,
              error: str) -> WriteRequest:
        """End a request that must not run (found before its transaction); nothing written."""
        if not self._transition(req.id, Status.PENDING, {
                "status": status.value, "decided_by": approver, "decided_at": now,
                "error": error, quorum.ATTR: quorum.with_approver(req, approver)},
                unexpired_at=now, also=quorum.final_condition(req, approver)):
            current = self.get(req.id)
            if current and current.status is Status.PENDING and current.expires_at > now:
                raise Crossed
            return self._already(req.id)
        return self.get(req.id) or req

    def _run_gsi(self, req: WriteRequest, approver: str, now: int) -> WriteRequest:
        if not self._transition(req.id, Status.PENDING,
                                {"status": Status.EXECUTING.value, "decided_by": approver,
                                 "decided_at": now,
                                 quorum.ATTR: quorum.with_approver(req, approver)},
                                unexpired_at=now, also=quorum.final_condition(req, approver)):
            current = self.get(req.id)
            if current and current.status is Status.PENDING and current.expires_at > now:
                raise Crossed
            return self._already(req.id)
        _, full = resolve_table(req.table, self.store.stage)
        assert req.gsi is not None
        try:
            self.client.update_table(**gsi_params(full, req.gsi, req.kind))
        except ClientError as exc:
            err = exc.response.get("Error", {})
            self._transition(req.id, Status.EXECUTING, {
                "status": Status.FAILED.value, "error": f"{err.get('Code')}: {err.get('Message')}"})
        except BotoCoreError as exc:  # never left EXECUTING: the outcome is reported
            self._transition(req.id, Status.EXECUTING, {
                "status": Status.FAILED.value, "error": f"{type(exc).__name__}: {exc}"})
        else:
            self._transition(req.id, Status.EXECUTING, {"status": Status.EXECUTED.value})
        return self.get(req.id) or req
