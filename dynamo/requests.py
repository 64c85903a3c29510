"""Write requests and their state machine: the two-person rule, enforced by DynamoDB.

A request is planned (validated, current item read, before → after preview), stored
``PENDING`` in the state table, and executed on approval by **one TransactWriteItems**:
the data write conditioned on the item still matching "before" for every touched
attribute (and on its existence or absence), plus the request's ``PENDING → EXECUTED``
conditioned on it still being pending and unexpired. Two approvers, a double click, a
retried delivery or a restart can therefore never run a change twice. GSI changes cannot
join a transaction: they move ``PENDING → EXECUTING`` conditionally first.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder, Key
from botocore.exceptions import BotoCoreError, ClientError

from dynamo import quorum
from dynamo.audit import Audit
from dynamo.policy import Policy
from dynamo.redact import redact_value
from dynamo.schema import PREFIX_ONLY_ATTRIBUTES, SECRET_ATTRIBUTES, Table, resolve_table
from dynamo.store import Store, StoreError, deserialize_item, serialize_item
from dynamo.values import check_type

REQ_PK = "REQ"
KEEP_SECONDS = 400 * 86400  # requests stay queryable for history, then TTL removes them
TRANSACT_ATTEMPTS = 5
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Status(StrEnum):
    PENDING = "PENDING"
    EXECUTING = "EXECUTING"
    EXECUTED = "EXECUTED"
    REJECTED = "REJECTED"
    STALE = "STALE"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class Kind(StrEnum):
    UPDATE = "update"
    DELETE = "delete"
    PUT = "put"
    GSI_CREATE = "gsi-create"
    GSI_DELETE = "gsi-delete"


class PlanError(ValueError):
    """A change that must not be requested (bad attribute, missing item, ...)."""


class Refused(Exception):
    """An approval or rejection that is not allowed; nothing changed."""


class _Crossed(Exception):
    """The final approval's condition failed while the request is still pending: re-read."""


@dataclass
class Gsi:
    name: str
    hash_key: tuple[str, str] | None = None  # (attr, S|N|B)
    range_key: tuple[str, str] | None = None
    projection: str = "ALL"
    non_key: list[str] = field(default_factory=list)


@dataclass
class WriteRequest:
    id: str
    kind: Kind
    table: str  # short name
    requester: str
    created_at: int
    expires_at: int
    status: Status = Status.PENDING
    key: dict[str, Any] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    item: dict[str, Any] | None = None  # put
    replace: bool = False
    existed: bool = False  # the item existed when the preview was taken
    before: dict[str, Any] = field(default_factory=dict)  # touched attrs present before
    missing: list[str] = field(default_factory=list)  # touched attrs absent before
    gsi: Gsi | None = None
    text: str = ""
    channel: str | None = None  # where it was asked
    message_channel: str | None = None
    message_ts: str | None = None
    decided_by: str | None = None
    decided_at: int | None = None
    reason: str | None = None
    error: str | None = None
    secret_touched: bool = False
    stage: str = ""  # the stage whose tables it changes; another stage's bot refuses it
    exec_token: str | None = None  # the ClientRequestToken of the transaction that executed it
    # the approval policy's rule, fixed when the request is made (dynamo.policy)
    need: int = 1  # distinct approvals needed
    approvers: list[str] = field(default_factory=list)  # user/group ids; empty: DDB_BOT_APPROVERS
    approvals: list[str] = field(default_factory=list)  # who approved so far (sorted)

    # -- presentation ---------------------------------------------------------------------
    def preview(self) -> list[tuple[str, str, str]]:
        """(attribute, before, after) per touched attribute, secrets redacted."""
        rows: list[tuple[str, str, str]] = []
        absent = "(absent)"

        def show(attr: str, value: Any) -> str:
            return _display(redact_value(attr, value))

        if self.kind is Kind.UPDATE:
            for attr, value in self.set.items():
                old = show(attr, self.before[attr]) if attr in self.before else absent
                rows.append((attr, old, show(attr, value)))
            for attr in self.remove:
                old = show(attr, self.before[attr]) if attr in self.before else absent
                rows.append((attr, old, absent))
        elif self.kind is Kind.DELETE:
            for attr, value in self.before.items():
                rows.append((attr, show(attr, value), absent))
        elif self.kind is Kind.PUT and self.item is not None:
            for attr in sorted(set(self.item) | set(self.before)):
                old = show(attr, self.before[attr]) if attr in self.before else absent
                new = show(attr, self.item[attr]) if attr in self.item else absent
                if old != new or attr in self.key:
                    rows.append((attr, old, new))
        elif self.gsi is not None:
            g = self.gsi
            if self.kind is Kind.GSI_CREATE:
                keys = " + ".join(f"{a}:{t}" for a, t in (k for k in (g.hash_key, g.range_key) if k))
                proj = g.projection + (f" ({', '.join(g.non_key)})" if g.non_key else "")
                rows.append((f"GSI {g.name}", absent, f"{keys}, projection {proj}"))
            else:
                rows.append((f"GSI {g.name}", "exists", "deleted"))
        return rows

    @property
    def summary(self) -> str:
        key = " ".join(str(v) for v in self.key.values())
        if self.kind in (Kind.GSI_CREATE, Kind.GSI_DELETE) and self.gsi:
            verb = "create" if self.kind is Kind.GSI_CREATE else "delete"
            return f"{verb} GSI {self.gsi.name} on {self.table}"
        return f"{self.kind.value} {self.table} {key}".strip()


def _display(value: Any) -> str:
    import json
    from decimal import Decimal

    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        if isinstance(o, set | frozenset):
            return sorted(o, key=str)
        if isinstance(o, bytes | bytearray):
            return f"<{len(o)} bytes>"
        return str(o)

    if isinstance(value, str):
        return value
    return json.dumps(value, default=default, separators=(",", ":"), sort_keys=True)


def new_request_id(now: float | None = None) -> str:
    """Sortable by time, short enough for a ClientRequestToken and to type in a console."""
    t = time.gmtime(now if now is not None else time.time())
    rand = "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
    return f"R{time.strftime('%m%d%H%M%S', t)}{rand}"


# -- planning -----------------------------------------------------------------------------
def _forbidden(table: Table, attrs: Iterable[str]) -> None:
    for attr in attrs:
        top = attr.split(".")[0]
        if top in table.keys.names:
            raise PlanError(f"`{top}` is part of `{table.short}`'s key and cannot be changed; "
                            "delete the item and put a new one instead")
        if top in SECRET_ATTRIBUTES | table.secret | PREFIX_ONLY_ATTRIBUTES:
            raise PlanError(f"`{top}` is a secret attribute and cannot be set or removed from Slack")
        if "." in attr or "[" in attr:
            raise PlanError(f"`{attr}`: set a whole top-level attribute (nested paths are not supported)")


def _current(store: Store, full: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    page = store.get(full, key, consistent=True)
    return page.items[0] if page.items else None


class Requests:
    """The request store and state machine over the bot's state table."""

    def __init__(self, store: Store, state_table: str, ttl_seconds: int,
                 clock: Callable[[], float] = time.time, audit: Audit | None = None,
                 policy: Policy | None = None,
                 member: Callable[[list[str], str], bool] | None = None) -> None:
        self.store = store
        self.policy = policy or Policy()
        # whether a user is one of these user / user-group ids (groups need Slack: bot.access)
        self.member = member or (lambda ids, user: user in ids)
        self.audit = audit or Audit(store, state_table)
        self.client = store.client
        self.table = state_table
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    # -- planning ------------------------------------------------------------------------
    def _base(self, kind: Kind, table: Table, requester: str, **kw: Any) -> WriteRequest:
        now = int(self.clock())
        rule = self.policy.rule(table.short, kind.value)
        return WriteRequest(id=new_request_id(now), kind=kind, table=table.short,
                            requester=requester, created_at=now, stage=self.store.stage,
                            expires_at=now + self.ttl_seconds, need=rule.approvals,
                            approvers=list(rule.approvers or ()), **kw)

    def plan_update(self, table_name: str, key: dict[str, Any], set_: dict[str, Any],
                    remove: list[str], requester: str, *, touch: bool = True,
                    **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        if not set_ and not remove:
            raise PlanError("nothing to change: give `set <attr>=<value>` and/or `remove <attr>`")
        both = set(set_) & set(remove)
        if both:
            raise PlanError(f"`{', '.join(sorted(both))}` is both set and removed")
        _forbidden(table, [*set_, *remove])
        for attr, value in set_.items():
            check_type(table, attr, value)
        current = _current(self.store, full, key)
        if current is None:
            raise PlanError(f"no item with {_key_text(key)} in `{full}`; nothing to update")
        set_ = dict(set_)
        if touch and table.has_updated_at and "updated_at" not in set_ \
                and "updated_at" not in remove:
            set_["updated_at"] = datetime.fromtimestamp(self.clock(), UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        touched = [*set_, *remove]
        req = self._base(Kind.UPDATE, table, requester, key=key, set=set_, remove=list(remove),
                         existed=True, **kw)
        req.before = {a: current[a] for a in touched if a in current}
        req.missing = [a for a in touched if a not in current]
        return req

    def plan_delete(self, table_name: str, key: dict[str, Any], requester: str,
                    **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        current = _current(self.store, full, key)
        if current is None:
            raise PlanError(f"no item with {_key_text(key)} in `{full}`; nothing to delete")
        req = self._base(Kind.DELETE, table, requester, key=key, existed=True, **kw)
        req.before = _comparable(table, current)
        req.secret_touched = any(a in current for a in table.secret | SECRET_ATTRIBUTES)
        return req

    def plan_put(self, table_name: str, item: dict[str, Any], requester: str, *,
                 replace: bool = False, **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        missing_keys = [k for k in table.keys.names if k not in item]
        if missing_keys:
            raise PlanError(f"the item lacks key attribute(s) {', '.join(missing_keys)}")
        secret = [a for a in item if a in SECRET_ATTRIBUTES | table.secret | PREFIX_ONLY_ATTRIBUTES]
        if secret:
            raise PlanError(f"`{', '.join(secret)}` is a secret attribute and cannot be set "
                            "from Slack")
        for attr, value in item.items():
            check_type(table, attr, value)
        key = {k: item[k] for k in table.keys.names}
        current = _current(self.store, full, key)
        if current is not None and not replace:
            raise PlanError(f"an item with {_key_text(key)} already exists in `{full}`; "
                            "add --replace to overwrite it")
        if current is not None and any(a in current for a in table.secret | SECRET_ATTRIBUTES):
            raise PlanError("the existing item holds secret attributes; replacing it from Slack "
                            "would drop them. Use update instead")
        req = self._base(Kind.PUT, table, requester, key=key, item=item, replace=replace,
                         existed=current is not None, **kw)
        req.before = _comparable(table, current) if current else {}
        # attributes the replacement adds were absent in the preview: still absent, or stale
        req.missing = [a for a in item if current is not None and a not in current]
        return req

    def plan_gsi(self, table_name: str, gsi: Gsi, create: bool, requester: str,
                 **kw: Any) -> WriteRequest:
        table, full = resolve_table(table_name, self.store.stage)
        live = self.store.describe_table(full)["Table"]
        names = {g["IndexName"] for g in live.get("GlobalSecondaryIndexes", [])}
        if create and gsi.name in names:
            raise PlanError(f"`{full}` already has an index `{gsi.name}`")
        if not create and gsi.name not in names:
            raise PlanError(f"`{full}` has no index `{gsi.name}` (indexes: "
                            f"{', '.join(sorted(names)) or 'none'})")
        if create:
            defined = {d["AttributeName"]: d["AttributeType"]
                       for d in live.get("AttributeDefinitions", [])}
            for attr, typ in (k for k in (gsi.hash_key, gsi.range_key) if k):
                if attr in defined and defined[attr] != typ:
                    raise PlanError(f"`{attr}` is already defined as {defined[attr]} on `{full}`")
        kind = Kind.GSI_CREATE if create else Kind.GSI_DELETE
        return self._base(kind, table, requester, gsi=gsi, **kw)

    # -- persistence -----------------------------------------------------------------------
    def save(self, req: WriteRequest) -> WriteRequest:
        self.client.put_item(TableName=self.table, Item=serialize_item(_to_item(req)),
                             ConditionExpression="attribute_not_exists(pk)")
        self._log(req.requester, "request", req, "PENDING")
        return req

    def _log(self, actor: str, action: str, req: WriteRequest, outcome: str) -> None:
        detail: dict[str, Any] = {"preview": [list(r) for r in req.preview()],
                                  "table": req.table, "kind": req.kind.value, "key": req.key,
                                  "need": req.need, "approvals": list(req.approvals)}
        if req.reason:
            detail["reason"] = req.reason
        if req.error:
            detail["error"] = req.error
        self.audit.record(actor, action, req.id, req.summary, outcome, detail)

    def get(self, request_id: str) -> WriteRequest | None:
        if not request_id or len(request_id) > 40:
            return None
        resp = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key=serialize_item({"pk": REQ_PK, "sk": request_id}))
        raw = resp.get("Item")
        return _from_item(deserialize_item(raw)) if raw else None

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
        return [_from_item(i) for i in page.items]

    # -- decisions -------------------------------------------------------------------------
    def check_approver(self, req: WriteRequest, user: str,
                       is_approver: Callable[[str], bool]) -> None:
        if user == req.requester:
            raise Refused("you asked for this change; a second person has to approve it")
        if not self.may_decide(req, user, is_approver):
            if req.approvers:
                raise Refused(f"the approval policy for {req.kind.value} on `{req.table}` names "
                              f"its approvers ({', '.join(req.approvers)}); you are not one of "
                              "them, so you cannot approve this change")
            raise Refused("you are not in DDB_BOT_APPROVERS, so you cannot approve changes")

    def may_decide(self, req: WriteRequest, user: str, is_approver: Callable[[str], bool]) -> bool:
        """The policy's approvers for this request where it names them, else DDB_BOT_APPROVERS."""
        return self.member(req.approvers, user) if req.approvers else is_approver(user)

    def _load_pending(self, request_id: str) -> WriteRequest:
        req = self.get(request_id)
        if req is None:
            raise Refused(f"no write request `{request_id}`")
        if req.stage != self.store.stage:
            raise Refused(f"request {req.id} is for stage `{req.stage or '?'}`; this bot serves "
                          f"`{self.store.stage}`, so it cannot decide it")
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
                    return self.get(req.id) or req
                continue  # someone else approved or decided meanwhile: look again
            try:
                if req.kind in (Kind.GSI_CREATE, Kind.GSI_DELETE):
                    return self._run_gsi(req, approver, now)
                return self._run_transaction(req, approver, now)
            except _Crossed:
                continue
        raise Refused(f"request {request_id} is being decided by others right now; "
                      "look at its message and try again if it is still pending")

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

    # -- execution -------------------------------------------------------------------------
    def _run_transaction(self, req: WriteRequest, approver: str, now: int) -> WriteRequest:
        table, full = resolve_table(req.table, self.store.stage)
        data_op = _data_operation(req, table, full)
        # one token per approval attempt: its retries are idempotent, while another
        # approver's (or a second click's) transaction is never taken for a replay. It is
        # stored with EXECUTED, so a commit whose answer was lost can be recognised.
        token = f"exec-{req.id}-{secrets.token_hex(4)}"
        q_cond, q_names, q_values = quorum.final_expression(req, approver)
        names = {"#st": "status", "#db": "decided_by", "#da": "decided_at", "#ex": "expires_at",
                 "#tk": "exec_token", **q_names}
        values = serialize_item({":pending": Status.PENDING.value, ":done": Status.EXECUTED.value,
                                 ":who": approver, ":now": now, ":tok": token, **q_values,
                                 ":all": quorum.with_approver(req, approver)})
        state_op = {"Update": {
            "TableName": self.table,
            "Key": serialize_item({"pk": REQ_PK, "sk": req.id}),
            "UpdateExpression": "SET #st = :done, #db = :who, #da = :now, #tk = :tok, #ap = :all",
            "ConditionExpression": f"#st = :pending AND #ex > :now AND {q_cond}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}
        try:
            self._transact([data_op, state_op], token)
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
                    raise _Crossed from None  # another approval landed first: decide again
                self.expire(current)
            return self._already(req.id)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            self._transition(req.id, Status.PENDING, {
                "status": Status.STALE.value, "decided_by": approver, "decided_at": now,
                "error": "the item changed since the preview; nothing was written"})
            return self.get(req.id) or req
        raise StoreError(f"DynamoDB transaction cancelled: {reasons}", code) from exc

    def _transact(self, items: list[dict[str, Any]], token: str) -> None:
        """TransactWriteItems; a cancellation for throttling or a conflict is retried.

        botocore retries throttled *calls* itself (standard mode); a transaction cancelled
        because one item was throttled comes back as TransactionCanceledException, which it
        does not retry. The same ClientRequestToken makes each retry idempotent.
        """
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items, ClientRequestToken=token)
                return
            except ClientError as exc:
                reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
                retryable = reasons & {"ThrottlingError", "TransactionConflict"} and not (
                    reasons & {"ConditionalCheckFailed"})
                if not retryable or attempt == TRANSACT_ATTEMPTS - 1:
                    raise
                time.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + secrets.randbelow(100) / 100))

    def _run_gsi(self, req: WriteRequest, approver: str, now: int) -> WriteRequest:
        if not self._transition(req.id, Status.PENDING,
                                {"status": Status.EXECUTING.value, "decided_by": approver,
                                 "decided_at": now,
                                 quorum.ATTR: quorum.with_approver(req, approver)},
                                unexpired_at=now, also=quorum.final_condition(req, approver)):
            current = self.get(req.id)
            if current and current.status is Status.PENDING and current.expires_at > now:
                raise _Crossed
            return self._already(req.id)
        _, full = resolve_table(req.table, self.store.stage)
        assert req.gsi is not None
        try:
            self.client.update_table(**_gsi_params(full, req.gsi, req.kind))
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

    # -- plumbing ------------------------------------------------------------------------
    def _transition(self, request_id: str, expected: Status, fields: dict[str, Any],
                    unexpired_at: int | None = None, also: ConditionBase | None = None) -> bool:
        """Conditional status move; False when the request was not in ``expected``."""
        cond: ConditionBase = Attr("status").eq(expected.value)
        if unexpired_at is not None:
            cond = cond & Attr("expires_at").gt(unexpired_at)
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
            "TableName": self.table,
            "Key": serialize_item({"pk": REQ_PK, "sk": request_id}),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
        }
        if cond is not None:
            built = ConditionExpressionBuilder().build_expression(cond)
            names.update(built.attribute_name_placeholders)
            values.update(built.attribute_value_placeholders)
            params["ConditionExpression"] = built.condition_expression
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = serialize_item(values)
        self.client.update_item(**params)


def _key_text(key: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


def _comparable(table: Table, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The attributes a delete/replace is conditioned on: all but secrets.

    Secret values are never stored in a request; the non-secret attributes (including
    ``updated_at`` / ``version`` where the table has them) still pin the item's state.
    """
    if not item:
        return {}
    hidden = SECRET_ATTRIBUTES | table.secret
    return {k: v for k, v in item.items() if k not in hidden}


def _data_operation(req: WriteRequest, table: Table, full: str) -> dict[str, Any]:
    """The transaction's data write with its "still what the approver saw" condition."""
    hash_key = table.keys.hash_key
    cond: ConditionBase = Attr(hash_key).exists() if req.existed else Attr(hash_key).not_exists()
    for attr, value in req.before.items():
        if attr not in table.keys.names:
            cond = cond & Attr(attr).eq(value)
    for attr in req.missing:
        cond = cond & Attr(attr).not_exists()
    built = ConditionExpressionBuilder().build_expression(cond)
    names = dict(built.attribute_name_placeholders)
    values = dict(built.attribute_value_placeholders)
    op: dict[str, Any] = {"TableName": full, "ConditionExpression": built.condition_expression}
    if req.kind is Kind.UPDATE:
        parts = []
        sets = []
        for i, (attr, value) in enumerate(req.set.items()):
            names[f"#u{i}"] = attr
            values[f":u{i}"] = value
            sets.append(f"#u{i} = :u{i}")
        if sets:
            parts.append("SET " + ", ".join(sets))
        removes = []
        for i, attr in enumerate(req.remove):
            names[f"#r{i}"] = attr
            removes.append(f"#r{i}")
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        op.update(Key=serialize_item(req.key), UpdateExpression=" ".join(parts))
        kind = "Update"
    elif req.kind is Kind.DELETE:
        op["Key"] = serialize_item(req.key)
        kind = "Delete"
    else:
        assert req.item is not None
        op["Item"] = serialize_item(req.item)
        kind = "Put"
    op["ExpressionAttributeNames"] = names
    if values:
        op["ExpressionAttributeValues"] = serialize_item(values)
    return {kind: op}


def _gsi_params(full: str, gsi: Gsi, kind: Kind) -> dict[str, Any]:
    if kind is Kind.GSI_DELETE:
        return {"TableName": full,
                "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": gsi.name}}]}
    assert gsi.hash_key is not None
    keys = [{"AttributeName": gsi.hash_key[0], "KeyType": "HASH"}]
    defs = [{"AttributeName": gsi.hash_key[0], "AttributeType": gsi.hash_key[1]}]
    if gsi.range_key:
        keys.append({"AttributeName": gsi.range_key[0], "KeyType": "RANGE"})
        defs.append({"AttributeName": gsi.range_key[0], "AttributeType": gsi.range_key[1]})
    projection: dict[str, Any] = {"ProjectionType": gsi.projection}
    if gsi.projection == "INCLUDE":
        projection["NonKeyAttributes"] = gsi.non_key
    return {"TableName": full, "AttributeDefinitions": defs, "GlobalSecondaryIndexUpdates": [
        {"Create": {"IndexName": gsi.name, "KeySchema": keys, "Projection": projection}}]}


# -- (de)serialisation of the request item ---------------------------------------------------
_SIMPLE = ("id", "table", "requester", "created_at", "expires_at", "text", "channel", "stage",
           "message_channel", "message_ts", "decided_by", "decided_at", "reason", "error",
           "exec_token")


def _to_item(req: WriteRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": REQ_PK, "sk": req.id, "kind": req.kind.value,
                            "status": req.status.value, "key": req.key, "set": req.set,
                            "remove": req.remove, "replace": req.replace, "existed": req.existed,
                            "before": req.before, "missing": req.missing,
                            "secret_touched": req.secret_touched,
                            "need": req.need, "approvers": req.approvers,
                            "ttl": req.created_at + KEEP_SECONDS}
    if req.approvals:  # a string set; DynamoDB has no empty sets
        item[quorum.ATTR] = set(req.approvals)
    for name in _SIMPLE:
        value = getattr(req, name)
        if value not in (None, ""):
            item[name] = value
    if req.item is not None:
        item["item"] = req.item
    if req.gsi is not None:
        g = req.gsi
        item["gsi"] = {"name": g.name, "projection": g.projection, "non_key": g.non_key,
                       **({"hash": list(g.hash_key)} if g.hash_key else {}),
                       **({"range": list(g.range_key)} if g.range_key else {})}
    return item


def _from_item(item: dict[str, Any]) -> WriteRequest:
    gsi = None
    if "gsi" in item:
        g = item["gsi"]
        gsi = Gsi(name=g["name"], projection=g.get("projection", "ALL"),
                  non_key=list(g.get("non_key", [])),
                  hash_key=tuple(g["hash"]) if g.get("hash") else None,  # type: ignore[arg-type]
                  range_key=tuple(g["range"]) if g.get("range") else None)  # type: ignore[arg-type]
    simple = {n: item.get(n) for n in _SIMPLE if n in item}
    for n in ("created_at", "expires_at", "decided_at"):
        if simple.get(n) is not None:
            simple[n] = int(simple[n])
    return WriteRequest(
        kind=Kind(item["kind"]), status=Status(item["status"]), key=item.get("key", {}),
        set=item.get("set", {}), remove=list(item.get("remove", [])), item=item.get("item"),
        replace=bool(item.get("replace")), existed=bool(item.get("existed")),
        before=item.get("before", {}), missing=list(item.get("missing", [])), gsi=gsi,
        secret_touched=bool(item.get("secret_touched")), need=int(item.get("need", 1)),
        approvers=list(item.get("approvers", [])),
        approvals=sorted(item.get(quorum.ATTR, ())), **simple)
