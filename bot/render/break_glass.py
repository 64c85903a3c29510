"""Break-glass in Slack and in the console: the loud post, its review, the lists.

An executed break-glass change is posted to the approval channel so nobody can miss it: a
``:rotating_light:`` header, the reason, who ran it, before → after, a mention of those who
may review it (the request's policy approvers, else DDB_BOT_APPROVERS' users and groups,
else ``<!here>``: anyone in the channel may) and a **Review** button while unreviewed. The
same message is updated in place to "reviewed by @X".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render import ids
from bot.render.format import cut, one_line
from bot.render.limits import CHUNK, CONTEXT_TEXT_MAX, FENCE, HEADER_MAX, SECTION_MAX, escape, fit
from bot.render.requests import mention, preview_lines, status_line, when
from commands.break_glass import ReviewItem
from commands.results import RequestResult

HEADER = ":rotating_light: BREAK-GLASS change executed without approval"
STALE_HEADER = ":warning: Break-glass change not executed: the item changed"
LISTED = 10  # unreviewed changes shown in a digest


def _md(text: str, limit: int = SECTION_MAX) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, limit)))


def reviewers_text(reviewers: Sequence[str]) -> str:
    """Who is asked to review: the given users / groups, or everyone here."""
    return ", ".join(mention(r) for r in reviewers) if reviewers else "<!here>"


def _preview(r: RequestResult) -> list[Block]:
    lines = [escape(line) for line in preview_lines(r)]  # data: never markup
    body: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in body) + len(line) > CHUNK - 10:
            break
        body.append(line)
    if not body:
        return []
    more = f"\n…and {len(lines) - len(body)} more attributes" if len(body) < len(lines) else ""
    return [_md(f"{FENCE}\n" + "\n".join(body) + f"\n{FENCE}{more}")]


def review_line(r: RequestResult, reviewers: Sequence[str]) -> str:
    """Where the review stands: who is asked, or who reviewed."""
    if r.reviewed_by:
        return f":white_check_mark: *Reviewed* by <@{r.reviewed_by}> {when(r.reviewed_at)}"
    return (f":eyes: *Needs review* by someone who may approve this change, not <@{r.decided_by}>: "
            f"{reviewers_text(reviewers)}")


def render_break_glass(r: RequestResult, reviewers: Sequence[str]) -> dict[str, Any]:
    """The loud message of a break-glass request, with Review while it needs one."""
    where = f" in <#{r.channel}>" if r.channel and r.channel != "CONSOLE" else ""
    head = HEADER if r.status != "STALE" else STALE_HEADER
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=fit(head, HEADER_MAX), emoji=True)),
        _md(f"*{escape(r.change)}* · request `{r.id}`\nRan by <@{r.decided_by}>{where} "
            f"{when(r.decided_at)}\n>*Reason:* {escape(r.break_glass_reason or '')}"),
        *_preview(r),
    ]
    if r.status == "EXECUTED":
        blocks.append(_md(review_line(r, reviewers)))
    else:
        blocks.append(_md(status_line(r)))
    buttons = [ButtonElement(text="Review", action_id=ids.REVIEW, value=r.id, style="primary")
               ] if r.needs_review else []
    if r.undoable:  # reversing an incident fix goes through approval (bot.listeners.undo)
        buttons.append(ButtonElement(text="Undo", action_id=ids.UNDO, value=r.id))
    if buttons:
        blocks.append(ActionsBlock(block_id=f"bg-{r.id}", elements=buttons))
    if r.needs_review:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=(
            "Break-glass skips the second person's approval, so someone who may approve this "
            f"change reviews it afterwards: this button or `/ddb review {r.id}`. The person "
            "who ran it cannot review it."))]))
    state = "needs review" if r.needs_review else r.status
    fallback = fit(f"BREAK-GLASS {r.id}: {r.change} by {r.decided_by} — {state}", 500)
    return {"text": fallback, "blocks": [b.to_dict() for b in blocks]}


def render_break_glass_ack(r: RequestResult, channel: str | None) -> dict[str, Any]:
    """What the executor sees: it ran and needs a review (or it did not run)."""
    if r.status != "EXECUTED":
        text = (f":warning: Break-glass change *{r.id}* ({escape(r.change)}) did not run: "
                f"{escape(r.error or r.status)}. Run the command again for a fresh preview.")
        return {"text": fit(f"Break-glass {r.id}: {r.status}", 500), "blocks": [_md(text).to_dict()]}
    where = f"It is posted in <#{channel}>" if channel else "It is listed in `/ddb pending`"
    text = (f":rotating_light: Break-glass change *{r.id}* ({escape(r.change)}) ran without "
            f"approval. It *needs a review* by someone else. {where}.")
    return {"text": fit(f"Break-glass {r.id} ran; it needs a review", 500),
            "blocks": [_md(text).to_dict()]}


def render_reviewed(r: RequestResult) -> dict[str, Any]:
    """What the reviewer sees once their review is recorded."""
    text = f":white_check_mark: You reviewed break-glass change *{r.id}* ({escape(r.change)})."
    return {"text": fit(f"Reviewed {r.id}", 500), "blocks": [_md(text).to_dict()]}


# -- App Home ------------------------------------------------------------------------------
def home_review_blocks(to_review: Sequence[RequestResult], total: int) -> list[Block]:
    """The approver's "Break-glass changes to review" section, Review button each."""
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=PlainTextObject(
        text="Break-glass changes to review", emoji=True))]
    if not to_review:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text="No break-glass change waits for your review.")]))
    for r in to_review:
        lines = [escape(cut(x, 200, None)) for x in preview_lines(r)[:6]]
        text = (f":rotating_light: *{escape(r.id)}* {escape(cut(r.change, 300, None))}\n"
                f"ran by <@{r.decided_by}> {when(r.decided_at)} without approval\n"
                f">Reason: {escape(cut(r.break_glass_reason or '', 500, None))}")
        if lines:
            text += f"\n{FENCE}\n" + "\n".join(lines)[:CHUNK - 900] + f"\n{FENCE}"
        blocks += [_md(text), ActionsBlock(block_id=f"home-bg-{r.id}", elements=[
            ButtonElement(text="Review", action_id=ids.REVIEW, value=r.id, style="primary")])]
    if total > len(to_review):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {total - len(to_review)} more: `/ddb pending`")]))
    return blocks


# -- digest --------------------------------------------------------------------------------
def _item_text(i: ReviewItem, slack: bool) -> str:
    who = f"<@{i.executor}>" if slack else f"@{i.executor}"
    at = when(i.executed_at) if slack else _utc(i.executed_at)
    reason = cut(one_line(i.reason), 200, None)
    change = cut(i.change, 160, None)
    if slack:
        return f"• `{i.id}` {escape(change)} — ran by {who} {at}: _{escape(reason)}_"
    return f"  {i.id}  {change} — ran by {who} at {at}: {reason}"


def _utc(ts: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def digest_review_blocks(items: Sequence[ReviewItem]) -> list[Block]:
    """The digest's section of unreviewed break-glass changes (nothing when there are none)."""
    if not items:
        return []
    lines: list[str] = []
    for i in items[:LISTED]:  # as many as fit one section, the rest counted
        line = _item_text(i, True)
        if sum(len(x) + 1 for x in lines) + len(line) > SECTION_MAX - 300:
            break
        lines.append(line)
    more = f"\n…and {len(items) - len(lines)} more: `/ddb pending`" if len(items) > len(lines) else ""
    text = (f":rotating_light: *Break-glass changes waiting for review: {len(items)}*\n"
            + "\n".join(lines) + more)
    return [DividerBlock(), _md(text), ContextBlock(elements=[MarkdownTextObject(text=fit(
        "Someone who may approve each change (not the person who ran it) reviews it: its "
        "Review button or `/ddb review <id>`.", CONTEXT_TEXT_MAX))])]


def digest_review_lines(items: Sequence[ReviewItem]) -> list[str]:
    if not items:
        return []
    shown = items[:LISTED]
    out = ["", f"Break-glass changes waiting for review: {len(items)}",
           *(_item_text(i, False) for i in shown)]
    if len(items) > len(shown):
        out.append(f"  …and {len(items) - len(shown)} more: /ddb pending")
    out.append("  review each with `/ddb review <id>` (someone other than the person who ran it)")
    return out


# -- console -------------------------------------------------------------------------------
def console_lines(r: RequestResult, reviewers: Sequence[str] = ()) -> list[str]:
    """A break-glass request in the terminal (``bot.render.text``)."""
    if r.event == "reviewed":
        return [f"reviewed: break-glass change {r.id} ({r.change}) by {r.reviewed_by} at "
                f"{_utc(r.reviewed_at)}"]
    head = ("BREAK-GLASS change executed without approval" if r.status == "EXECUTED" else
            f"Break-glass change not executed ({r.status})")
    out = [head, "=" * len(head), f"Request {r.id}: {r.change}",
           f"ran by {r.decided_by} at {_utc(r.decided_at)}",
           f"reason: {r.break_glass_reason or ''}"]
    rows = [[a, b, c] for a, b, c in r.preview]
    if rows:
        from bot.render.format import align_rows

        out += ["", *align_rows(["attribute", "before", "after"], rows, 60), ""]
    if r.error:
        out.append(f"error: {r.error}")
    if r.reviewed_by:
        out.append(f"status: {r.status}, reviewed by {r.reviewed_by} at {_utc(r.reviewed_at)}")
    elif r.status == "EXECUTED":
        who = ", ".join("@" + x for x in reviewers) if reviewers else "anyone who may approve it"
        out.append(f"status: EXECUTED, NEEDS REVIEW by someone other than {r.decided_by} "
                   f"({who}): `/ddb review {r.id}` (in the console: `as <user id>` first)")
    else:
        out.append(f"status: {r.status}; nothing was written. Run the command again for a "
                   "fresh preview.")
    return out
