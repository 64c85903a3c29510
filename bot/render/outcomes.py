"""The requester's DM when their request reaches a final outcome (one per request)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.render import ids
from bot.render.limits import SECTION_MAX, fit
from bot.render.limits import escape as slack_escape
from bot.render.requests import STATUS_ICON, when
from bot.render.requests import mention as slack_mention
from commands.results import RequestResult


def outcome_text(r: RequestResult, *, slack: bool = True) -> str:
    """One sentence per outcome: Slack mrkdwn, or plain text for the console."""
    def mention(slack_id: str) -> str:
        return slack_mention(slack_id) if slack else "@" + slack_id

    def escape(text: str) -> str:
        return slack_escape(text) if slack else text

    head = f"Your request *{r.id}* ({escape(r.change)})" if slack else \
        f"Your request {r.id} ({r.change})"
    by = f" by {mention(r.decided_by)}" if r.decided_by else ""
    if r.status == "EXECUTED":
        who = ", ".join(mention(a) for a in r.approvals) if len(r.approvals) > 1 else ""
        text = f"{head} was executed{' — approved by ' + who if who else ' — approved' + by}"
    elif r.status == "REJECTED":
        text = f"{head} was rejected{by}" + (f": {escape(r.reason)}" if r.reason else
                                             " (no reason given)")
    elif r.status == "STALE":
        text = (f"{head} was not executed: the item changed since the preview, so nothing was "
                "written. Re-request it with fresh data")
    elif r.status == "EXPIRED":
        text = f"{head} expired without a decision; nothing was written"
    else:
        text = f"{head} failed" + (f": {escape(r.error)}" if r.error else "")
    if not slack:
        return text
    return f"{STATUS_ICON.get(r.status, '')} {text} {when(r.decided_at)}".strip()


def render_outcome_dm(r: RequestResult) -> dict[str, Any]:
    """The DM: the sentence, and for a stale request the re-request button."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=fit(outcome_text(r), SECTION_MAX)))]
    if r.status == "STALE":
        blocks.append(ActionsBlock(block_id=f"dm-{r.id}", elements=[
            ButtonElement(text="Re-request with fresh data", action_id=ids.REREQUEST, value=r.id)]))
    return {"text": fit(f"Request {r.id}: {r.status}", 500), "blocks": [b.to_dict() for b in blocks]}
