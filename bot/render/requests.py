"""The write-request message: what changes (before → after), who asked, who decided.

The same message is posted once and then updated in place at every step, so the
channel history shows each request's whole story in one place.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render import ids
from bot.render.format import align_rows
from bot.render.limits import CHUNK, FENCE, HEADER_MAX, SECTION_MAX, escape, fit
from commands.results import RequestResult

STATUS_ICON = {
    "PENDING": ":hourglass_flowing_sand:", "EXECUTING": ":gear:", "EXECUTED": ":white_check_mark:",
    "REJECTED": ":no_entry_sign:", "STALE": ":warning:", "EXPIRED": ":alarm_clock:",
    "FAILED": ":x:",
}
STATUS_TEXT = {
    "PENDING": "waiting for a second person's approval",
    "EXECUTING": "running",
    "EXECUTED": "executed",
    "REJECTED": "rejected",
    "STALE": "not executed: the item changed since the preview",
    "EXPIRED": "expired without a decision; nothing was written",
    "FAILED": "failed",
}


def when(ts: int | None) -> str:
    """A Slack date token: each reader sees it in their own time zone."""
    if not ts:
        return "-"
    return f"<!date^{int(ts)}^{{date_short_pretty}} {{time}}|{int(ts)}>"


def preview_lines(r: RequestResult) -> list[str]:
    rows = [[a, b, c] for a, b, c in r.preview]
    return align_rows(["attribute", *r.columns], rows, 60) if rows else []


def mention(slack_id: str) -> str:
    """A user (``<@U…>``) or user-group (``<!subteam^S…>``) mention."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def status_line(r: RequestResult) -> str:
    icon = STATUS_ICON.get(r.status, "")
    text = f"{icon} *{r.status}*: {STATUS_TEXT.get(r.status, r.status.lower())}"
    progress = r.progress(mention)
    if progress and r.status == "PENDING":
        text += f" · {progress}"
    elif progress and len(r.approvals) > 1:  # decided: everyone whose approval counted
        text += f" · approvals: {', '.join(mention(a) for a in r.approvals)}"
    if r.decided_by and r.status != "EXPIRED":
        verb = "rejected" if r.status == "REJECTED" else "approved"
        text += f" · {verb} by <@{r.decided_by}> {when(r.decided_at)}"
    if r.reason:
        text += f"\n>Reason: {escape(r.reason)}"
    if r.error:
        text += f"\n>{escape(r.error)}"
    return text


def render_request(r: RequestResult) -> dict[str, Any]:
    """The approval message for a request, with Approve / Reject while it is pending."""
    where = f" in <#{r.channel}>" if r.channel and r.channel != "CONSOLE" else ""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=fit(f"Write request {r.id}", HEADER_MAX))),
        SectionBlock(text=MarkdownTextObject(text=fit(
            f"*{escape(r.change)}*\nAsked by <@{r.requester}>{where} {when(r.created_at)}"
            + (f" · expires {when(r.expires_at)}" if r.status == "PENDING" else "")
            + (f"\n{r.requirement(mention)}" if r.requirement(mention) else ""),
            SECTION_MAX))),
    ]
    lines = [escape(line) for line in preview_lines(r)]  # data: never markup, even in a fence
    body, shown = [], 0
    for line in lines:
        if sum(len(x) + 1 for x in body) + len(line) > CHUNK - 10:
            break
        body.append(line)
        shown += 1
    if body:
        text = f"{FENCE}\n" + "\n".join(body) + f"\n{FENCE}"
        if shown < len(lines):
            text += f"\n…and {len(lines) - shown} more attributes"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_MAX))))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=fit(status_line(r), SECTION_MAX))))
    if r.status == "PENDING":
        blocks.append(ActionsBlock(block_id=f"req-{r.id}", elements=[
            ButtonElement(text="Approve", action_id=ids.APPROVE, value=r.id, style="primary"),
            ButtonElement(text="Reject", action_id=ids.REJECT, value=r.id, style="danger"),
        ]))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text="Approving runs the change once, only if the item still matches *before*. "
                 "The requester cannot approve their own request.")]))
    elif r.status == "STALE":
        blocks.append(ActionsBlock(block_id=f"req-{r.id}", elements=[
            ButtonElement(text="Re-request with fresh data", action_id=ids.REREQUEST,
                          value=r.id)]))
    elif r.undoable:  # dispatches `undo <id>` as the clicker (bot.listeners.undo)
        blocks.append(ActionsBlock(block_id=f"req-{r.id}", elements=[
            ButtonElement(text="Undo", action_id=ids.UNDO, value=r.id)]))
    fallback = fit(f"Write request {r.id}: {r.change} — {r.status}", 500)
    return {"text": fallback, "blocks": [b.to_dict() for b in blocks]}


def render_request_ack(r: RequestResult, channel: str | None) -> dict[str, Any]:
    """What the requester sees ephemerally: where the request waits."""
    where = f"<#{channel}>" if channel else "this channel"
    text = (f":hourglass_flowing_sand: Request *{r.id}* ({escape(r.change)}) is waiting for a "
            f"second person's approval in {where}. It expires {when(r.expires_at)}.")
    return {"text": fit(f"Request {r.id} is waiting for approval", 500),
            "blocks": [SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_MAX))).to_dict()]}


def render_approval_recorded(r: RequestResult) -> dict[str, Any]:
    """What an approver sees when their approval is recorded and the quorum needs more."""
    text = (f":ballot_box_with_check: Your approval of *{r.id}* is recorded: "
            f"{r.progress(mention)}. The change runs on the {r.need}th approval.")
    if r.need == 2:
        text = text.replace(f"{r.need}th", "second")
    elif r.need == 3:
        text = text.replace(f"{r.need}th", "third")
    return {"text": fit(f"Approval of {r.id} recorded", 500),
            "blocks": [SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_MAX))).to_dict()]}


def render_refusal(r: RequestResult) -> dict[str, Any]:
    text = f":no_entry: {escape(r.refusal or 'refused')}"
    return {"text": fit(r.refusal or "refused", 500),
            "blocks": [SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_MAX))).to_dict()]}


REJECT_MODAL = "ddb_reject_modal"
REASON_BLOCK, REASON_ACTION = "reason", "reason_input"


def reject_modal(request_id: str) -> dict[str, Any]:
    from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
    from slack_sdk.models.views import View

    view = View(
        type="modal", callback_id=REJECT_MODAL, private_metadata=request_id,
        title=PlainTextObject(text="Reject request"), submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=f"Reject write request *{request_id}*?")),
            InputBlock(block_id=REASON_BLOCK, optional=True,
                       label=PlainTextObject(text="Reason (optional)"),
                       element=PlainTextInputElement(action_id=REASON_ACTION, multiline=True,
                                                     max_length=500)),
        ],
    )
    return view.to_dict()
