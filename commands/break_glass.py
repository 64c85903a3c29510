"""``--break-glass "<reason>"`` on update / delete / put, and the "needs review" lists.

The commands parse the option here and hand over: the reason is checked (required, at
most 500 characters), then membership of the policy's ``break_glass`` list *before* the
item is read, so someone who may not use it is refused (and audited) without anything
planned, run or left pending. A member's change is planned exactly like a request and
run by ``Requests.run_break_glass`` (one conditional transaction). GSI changes are
refused with the reason.

The lists of executed break-glass changes nobody has reviewed yet serve ``/ddb pending``
(a second table), the App Home of approvers and the daily digest (a section).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from commands.parse import Options
from commands.ports import WriteRequests
from commands.registry import CommandError, Context
from commands.results import ErrorResult, RequestResult, Result, TableResult
from dynamo.redact import mask_text
from dynamo.requests import Kind, PlanError, Refused, WriteRequest
from dynamo.requests.break_glass import REASON_MAX

OPTION = "--break-glass"
USAGE_HINT = f'{OPTION} "<reason>"'
LISTED = 50  # unreviewed changes read for a list (newest first)


def reason_of(opts: Options, usage: str) -> str | None:
    """The break-glass reason given with the option (None: no break-glass); a missing,
    empty or overlong reason is a usage error."""
    raw = opts.get(OPTION)
    return None if raw is None else _checked(str(raw), usage)


def take_reason(args: list[str], usage: str) -> tuple[list[str], str | None]:
    """``args`` without ``--break-glass <reason>`` (or ``--break-glass=<reason>``), and the
    reason: for a pasted ``aws dynamodb`` write, whose own flags the aws CLI's rules parse."""
    rest: list[str] = []
    reason: str | None = None
    i = 0
    while i < len(args):
        word = args[i]
        if word == OPTION or word.startswith(OPTION + "="):
            if reason is not None:
                raise CommandError(f"{OPTION} is given twice", usage)
            if word == OPTION:
                raw = args[i + 1] if i + 1 < len(args) else ""
                i += 2
            else:
                raw = word.split("=", 1)[1]
                i += 1
            reason = _checked(raw, usage)
            continue
        rest.append(word)
        i += 1
    return rest, reason


def _checked(raw: str, usage: str) -> str:
    reason = " ".join(raw.split())
    if not reason or reason.startswith("--"):
        raise CommandError(f'{OPTION} needs a reason, in quotes: {OPTION} "why this cannot '
                           'wait for an approval"', usage)
    if len(reason) > REASON_MAX:
        raise CommandError(f"the break-glass reason is {len(reason)} characters; keep it to "
                           f"{REASON_MAX} (link the incident for the rest)", usage)
    return reason


def refusal(ctx: Context, requests: WriteRequests, kind: Kind, table: str,
            reason: str) -> ErrorResult | None:
    """The refusal (audited) when ``ctx.user_id`` may not break glass for ``kind``; else None."""
    why = requests.break_glass_denial(ctx.user_id, kind)
    if why is None:
        return None
    requests.refuse_break_glass(ctx.user_id, why, ctx.text or f"{kind.value} {table}",
                                {"table": table, "kind": kind.value,
                                 "break_glass_reason": reason})
    return ErrorResult(title=f"{kind.value} --break-glass", message=f"{why}.", usage="")


def run(ctx: Context, requests: WriteRequests, plan: Callable[[], WriteRequest], usage: str,
        reason: str, kind: Kind, table: str) -> Result:
    """Refuse, or plan like a request and run it at once (EXECUTED, or STALE if it moved)."""
    refused = refusal(ctx, requests, kind, table, reason)
    if refused is not None:
        return refused
    try:
        req = plan()
    except PlanError as exc:
        raise CommandError(str(exc), usage) from None
    try:
        done = requests.run_break_glass(req, reason)
    except Refused as exc:
        return ErrorResult(title=f"{kind.value} --break-glass", message=str(exc), usage="")
    return RequestResult.of(done, event="break-glass")


# -- "needs review" ------------------------------------------------------------------------
class ReviewItem(BaseModel):
    """One executed break-glass change waiting for review, as the lists show it."""

    id: str
    change: str
    executor: str
    executed_at: int | None = None
    reason: str = ""
    approvers: list[str] = []  # the policy's; empty: DDB_BOT_APPROVERS

    @classmethod
    def of(cls, req: WriteRequest) -> ReviewItem:
        return cls(id=req.id, change=mask_text(req.summary), executor=req.decided_by or "",
                   executed_at=req.decided_at, reason=mask_text(req.break_glass_reason or ""),
                   approvers=list(req.approvers))


def review_items(requests: WriteRequests | None, limit: int = LISTED) -> list[ReviewItem]:
    """Unreviewed break-glass changes, newest first (none without a request store)."""
    return [ReviewItem.of(r) for r in requests.needs_review(limit)] if requests else []


def reviewable_by(requests: WriteRequests, user: str, is_approver: Callable[[str], bool],
                  limit: int = LISTED,
                  unreviewed: list[WriteRequest] | None = None) -> list[WriteRequest]:
    """Those ``user`` may review: not their own, and they may approve that kind of change.
    ``unreviewed``: the needs-review list when the caller has read it already (one query)."""
    if unreviewed is None:
        unreviewed = requests.needs_review(limit)
    return [r for r in unreviewed
            if r.decided_by != user and requests.may_decide(r, user, is_approver)]


def _when(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def review_table(requests: WriteRequests) -> TableResult:
    """``/ddb pending``'s second table: break-glass changes waiting for a review."""
    rows = [[i.id, i.change, f"<@{i.executor}>", _when(i.executed_at), i.reason]
            for i in review_items(requests)]
    return TableResult(title="Break-glass changes waiting for review",
                       columns=["id", "change", "ran by", "ran", "reason"], rows=rows,
                       notes=["Review one with `/ddb review <id>` (not your own)."] if rows else
                       ["No break-glass change waits for review."])
