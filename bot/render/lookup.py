"""The "Look up in DynamoDB" answer: one compact line per identifier, with a button.

Each found item gets a "Show JSON" button backed by a stored view of ``/ddb get`` (the
existing Show JSON handler answers it). The answer is posted in a thread, so PII is
masked there as ``--share`` masks it; the ephemeral variant shows it in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render import format as fmt
from bot.render import ids
from bot.render.blocks import _emails as mask_emails  # the --share masking, one regex
from bot.render.limits import BUTTON_VALUE_MAX, CONTEXT_TEXT_MAX, FALLBACK_MAX, SECTION_MAX, escape, fit
from commands.lookup import LOOKS_FOR, Lookup, Match

LINE_MAX = 450  # one identifier's line: 20 of them stay far below Slack's 12k text budget
VALUE_MAX = 80
NOTHING = f"No identifiers found in this message. I look for {LOOKS_FOR}."


def _md(text: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=fit(text, limit), verbatim=True)


def _code(text: str) -> str:
    return "`" + escape(fmt.cut(fmt.one_line(text), VALUE_MAX, None)).replace("`", "ˋ") + "`"


def match_line(m: Match, *, mask_pii: bool) -> str:
    """``*email* `a…` → *users* · name · status`` (or why it was not found)."""
    head = f"*{m.ident.label}* {_code(m.shown_value(mask_pii=mask_pii))}"
    if m.error:
        return f":warning: {head} could not be looked up: {escape(fmt.one_line(m.error))}"
    if not m.found:
        return f":grey_question: {head} not found ({escape(m.how)})"
    summary = m.summary(mask_pii=mask_pii)
    n_keys = len(m.key)
    keys = " / ".join(_code(fmt.format_value(v)) for _, v in summary[:n_keys])
    rest = " · ".join(escape(fmt.cut(fmt.one_line(fmt.format_value(v)), VALUE_MAX, None))
                      for _, v in summary[n_keys:])
    line = f":mag: {head} → *{escape(m.table or '')}* {keys}" + (f" · {rest}" if rest else "")
    return fmt.cut(mask_emails(line) if mask_pii else line, LINE_MAX, None)


def render_lookup(result: Lookup, view_ids: Sequence[str | None], *,
                  mask_pii: bool) -> dict[str, Any]:
    """``{"text", "blocks"}``: a context head, a section per identifier, a cap note."""
    if not result.matches:
        return {"text": fit(NOTHING, FALLBACK_MAX),
                "blocks": [SectionBlock(text=_md(escape(NOTHING))).to_dict()]}
    found = sum(1 for m in result.matches if m.found)
    head = (f"*Lookup:* {result.total} identifier{'s' if result.total != 1 else ''} in this "
            f"message · {found} found" + (" · PII masked" if mask_pii else ""))
    blocks: list[Block] = [ContextBlock(elements=[_md(head, CONTEXT_TEXT_MAX)])]
    for m, view_id in zip(result.matches, view_ids, strict=True):
        accessory = None
        if m.found and view_id and len(view_id) <= BUTTON_VALUE_MAX:
            accessory = ButtonElement(text=PlainTextObject(text="Show JSON"),
                                      action_id=ids.SHOW_JSON, value=view_id)
        blocks.append(SectionBlock(text=_md(match_line(m, mask_pii=mask_pii)),
                                   accessory=accessory))
    if result.capped:
        note = (f"Showing the first {len(result.matches)} of {result.total} identifiers; "
                "look up the rest with `/ddb lookup <text>` or a shorter message.")
        blocks.append(ContextBlock(elements=[_md(note, CONTEXT_TEXT_MAX)]))
    fallback = f"Lookup: {found} of {result.total} identifiers found"
    return {"text": fit(fallback, FALLBACK_MAX), "blocks": [b.to_dict() for b in blocks]}
