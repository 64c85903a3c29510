"""The App Home tab: approvals waiting for me, my open requests, activity, tables.

Approve / Reject carry the same action ids and values as the request message, so the
one pair of handlers serves both places. A home view holds at most 100 blocks; the
sections below are capped well inside that (``commands.home.SHOWN`` requests each).
"""

from __future__ import annotations

import time
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
from bot.render.break_glass import home_review_blocks
from bot.render.format import align_rows, cut, one_line
from bot.render.limits import (
    CHUNK,
    CONTEXT_TEXT_MAX,
    FENCE,
    HEADER_MAX,
    SECTION_MAX,
    VIEW_MAX_BLOCKS,
    escape,
    fit,
)
from bot.render.requests import STATUS_ICON, mention, preview_lines, when
from commands.home import HomeData
from commands.results import RequestResult

HOME_MAX_BLOCKS = VIEW_MAX_BLOCKS
PREVIEW_LINES = 6


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=fit(text, HEADER_MAX), emoji=True))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_MAX), verbatim=True))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, CONTEXT_TEXT_MAX))])


def _request(r: RequestResult, *, actor_line: bool) -> SectionBlock:
    who = f"asked by <@{r.requester}> {when(r.created_at)} · " if actor_line else ""
    text = (f"{STATUS_ICON.get(r.status, '')} *{escape(r.id)}* {escape(cut(r.change, 300, None))}\n"
            f"{who}expires {when(r.expires_at)}")
    need = r.requirement(mention)
    if need:  # the approval policy's quorum, and how far it got
        text += f"\n{r.progress(mention) or need}"
    lines = preview_lines(r)
    if lines:
        shown = [escape(cut(x, 200, None)) for x in lines[:PREVIEW_LINES]]
        more = f"\n…{len(lines) - PREVIEW_LINES} more attributes" if len(lines) > PREVIEW_LINES else ""
        text += f"\n{FENCE}\n" + "\n".join(shown)[:CHUNK - 200] + f"\n{FENCE}{more}"
    return _section(text)


def _decide(r: RequestResult) -> ActionsBlock:
    return ActionsBlock(block_id=f"home-{r.id}", elements=[
        ButtonElement(text="Approve", action_id=ids.APPROVE, value=r.id, style="primary"),
        ButtonElement(text="Reject", action_id=ids.REJECT, value=r.id, style="danger"),
    ])


def render_home(d: HomeData) -> dict[str, Any]:
    """The ``views.publish`` view for ``d.user``."""
    where = f" · requests go to <#{d.approval_channel}>" if d.approval_channel else ""
    blocks: list[Block] = [
        _header("ddb-bot"),
        _context(f"stage `{escape(d.stage)}` · region `{escape(d.region)}`{where} · "
                 f"updated {when(int(time.time()))}"),
    ]
    if not d.can_read:
        blocks.append(_section(":lock: You are not in DDB_BOT_READERS, so ddb-bot shows you "
                               "nothing here. Ask an admin to add you."))
        return _view(blocks)
    blocks += [DividerBlock(), _header("Waiting for your approval")]
    if not d.can_approve:
        blocks.append(_context("You are not in DDB_BOT_APPROVERS, so you cannot approve changes."))
    elif not d.to_approve:
        blocks.append(_context("Nothing waits for your approval."))
    for r in d.to_approve:
        blocks += [_request(r, actor_line=True), _decide(r)]
    if d.to_approve_total > len(d.to_approve):
        blocks.append(_context(f"…and {d.to_approve_total - len(d.to_approve)} more: "
                               "`/ddb pending`"))
    if d.can_approve:
        blocks += home_review_blocks(d.to_review, d.to_review_total)
    blocks += [DividerBlock(), _header("Your open requests")]
    if not d.mine and not d.mine_unreviewed:
        blocks.append(_context("You have no open write requests."))
    for r in d.mine_unreviewed:
        blocks.append(_section(f":rotating_light: *{escape(r.id)}* {escape(cut(r.change, 300, None))}"
                               f"\nyou ran it {when(r.decided_at)} with --break-glass; waiting "
                               "for someone else's review"))
    for r in d.mine:
        blocks.append(_request(r, actor_line=False))
    if d.mine_total > len(d.mine):
        blocks.append(_context(f"…and {d.mine_total - len(d.mine)} more: `/ddb pending`"))
    blocks += [DividerBlock(), _header("Recent activity")]
    if d.activity:
        lines = []
        for a in d.activity:
            actor = f"<@{a.actor}>" if a.actor[:1] in ("U", "W") else escape(a.actor)
            lines.append(f"`{escape(a.at[:16].replace('T', ' '))}` {actor} *{escape(a.action)}* "
                         f"{escape(a.request_id)} {escape(cut(one_line(a.summary), 120, None))} "
                         f"→ {escape(cut(one_line(a.outcome), 120, None))}")
        blocks.append(_section("\n".join(lines)))
    else:
        blocks.append(_context("No activity yet."))
    blocks += [DividerBlock(), _header(f"Tables (mfh-{d.stage}-*)")]
    rows = [[t.short, t.status, "-" if t.items is None else f"{t.items:,}", str(t.indexes)]
            for t in d.tables]
    table = align_rows(["table", "status", "items (approx.)", "GSIs"], rows, 40)
    blocks.append(_section(f"{FENCE}\n" + escape("\n".join(table)) + f"\n{FENCE}"))
    blocks.append(_context("Item counts are DynamoDB's approximate ItemCount (refreshed about "
                           "every six hours). `/ddb tables` for sizes, `/ddb describe` for more."))
    for problem in d.problems:
        blocks.append(_context(f":warning: {escape(problem)}"))
    return _view(blocks)


def _view(blocks: list[Block]) -> dict[str, Any]:
    if len(blocks) > HOME_MAX_BLOCKS:  # the caps above keep this from happening
        blocks = [*blocks[:HOME_MAX_BLOCKS - 1], _context("…cut to fit Slack's 100 blocks")]
    return {"type": "home", "callback_id": "ddb_home", "blocks": [b.to_dict() for b in blocks]}
