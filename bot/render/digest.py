"""The digest as a Slack message and as terminal text.

Whatever the data, the message stays inside Slack's limits: each group is one section
(with its "Show executions" button), signatures are cut, and groups are added only while
the shared text budget lasts; what is left out is counted in a note. A clean window is one
short line.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render import format as fmt
from bot.render import ids
from bot.render.break_glass import digest_review_blocks, digest_review_lines
from bot.render.limits import (
    CONTEXT_TEXT_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_MAX,
    TOTAL_TEXT_PLAN,
    block_chars,
    escape,
    fit,
)
from bot.render.requests import when
from commands.digest import DigestResult, show_value
from dynamo.digest import MISSING, Digest, Group
from dynamo.redact import mask_text
from dynamo.schedule import parse_iso

SPARK = "▁▂▃▄▅▆▇█"
SIGNATURES_SHOWN = 3
SIGNATURE_SHOWN_MAX = 160
NAME_MAX = 80
ID_MAX = 80
RESERVE = 800  # kept back for the closing notes


# -- shared pieces --------------------------------------------------------------------
def sparkline(counts: list[int]) -> str:
    """One character per bucket: ▁ for none, ▂…█ scaled to the busiest bucket."""
    top = max(counts, default=0)
    if top <= 0:
        return SPARK[0] * len(counts)
    return "".join(SPARK[0] if c <= 0 else SPARK[1 + round((c / top) * (len(SPARK) - 2))]
                   for c in counts)


def trend(count: int, previous: int | None) -> str:
    """``▲ +3 (+60%)``, ``▼ −2 (−40%)``, ``= same``, ``new``; empty when unknown."""
    if previous is None:
        return ""
    if previous == 0:
        return "new" if count else "= same"
    diff = count - previous
    if diff == 0:
        return "= same"
    pct = round(abs(diff) * 100 / previous)
    return f"▲ +{diff} (+{pct}%)" if diff > 0 else f"▼ −{-diff} (−{pct}%)"


def _epoch(text: str) -> int:
    return int(parse_iso(text).timestamp())


def _utc(text: str) -> str:
    return parse_iso(text).strftime("%Y-%m-%d %H:%M UTC")


def _id(value: str, what: str) -> str:
    if value == MISSING:
        return f"(no {what})"
    return fmt.cut(fmt.one_line(value), ID_MAX, None)


def _label(name: str | None, named: bool, unknown: str) -> str | None:
    """A name for display; ``unknown`` when looked up and absent; None when not looked up."""
    if name:
        return fmt.cut(fmt.one_line(name), NAME_MAX, None)
    if named:
        return unknown if name is None else "(no name)"
    return None


def headline(d: Digest) -> str:
    text = f"{d.failed:,} failed of {d.total:,} executions ({d.rate:.1%} failure rate)"
    if d.previous_failed is not None:
        change = trend(d.failed, d.previous_failed)
        text += f"; previous window {d.previous_failed:,}" + (f", {change}" if change else "")
    return text


def more_note(d: Digest, shown: int) -> str | None:
    rest = d.groups[shown:]
    if not rest:
        return None
    return f"+{len(rest):,} more groups ({sum(g.count for g in rest):,} failures) not shown"


def reads_note(d: Digest) -> str:
    s = d.stats
    plan = s.plan
    how = ("account queries" if plan and plan.strategy == "query" else "parallel scan")
    text = f"Read {s.executions_read:,} executions by {how} ({s.executions_rcu:g} RCU)"
    if s.accounts_read:
        text += f", {s.accounts_read:,} account ids"
    if s.names_read:
        text += f", {s.names_read:,} names"
    if d.trend_source == "stored":
        text += "; trend from the previous digest"
    if d.skipped:
        text += f"; {d.skipped:,} executions without a readable created_at skipped"
    return text


# -- Slack ------------------------------------------------------------------------------
def _md(text: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=fit(text, limit), verbatim=True)


def _code(text: str) -> str:
    return "`" + escape(text).replace("`", "ˋ") + "`"


def group_text(g: Group) -> str:
    helper = _label(g.helper_name, g.named, "unknown helper")
    account = _label(g.account_name, g.named, "unknown account")
    who = (f"*{escape(helper)}* " if helper else "") + _code(_id(g.helper_id, "helper_id"))
    who += " · " + (f"{escape(account)} " if account else "") + _code(_id(g.account_id, "account_id"))
    stats = f"*{g.count:,}* failed"
    change = trend(g.count, g.previous)
    if change:
        stats += f" · {change} vs previous"
    stats += f" · last seen {when(_epoch(g.last_seen))}"
    sigs = [f"• {_code(fmt.cut(s.text, SIGNATURE_SHOWN_MAX, None))} ×{s.count:,}"
            for s in g.signatures[:SIGNATURES_SHOWN]]
    if len(g.signatures) > SIGNATURES_SHOWN:
        sigs.append(f"• …{len(g.signatures) - SIGNATURES_SHOWN} more signatures")
    return "\n".join([who, stats, *sigs])


def _group_block(g: Group, d: Digest) -> SectionBlock:
    value = show_value(g.helper_id, d.start, d.end) if g.helper_id != MISSING else None
    button = ButtonElement(text=PlainTextObject(text="Show executions", emoji=True),
                           action_id=ids.SHOW_EXECUTIONS, value=value) if value else None
    return SectionBlock(text=_md(group_text(g)), accessory=button)


def render_digest(r: DigestResult) -> dict[str, Any]:
    """The digest message: headline, sparkline, top groups with buttons, notes."""
    d = r.digest
    span = f"{when(_epoch(d.start))} → {when(_epoch(d.end))}"
    reviews = digest_review_blocks(r.reviews)  # break-glass changes waiting for review
    waiting = f" · {len(r.reviews)} break-glass change(s) wait for review" if r.reviews else ""
    fallback = fit(f"Failed executions {_utc(d.start)} → {_utc(d.end)}: {headline(d)}{waiting}",
                   500)
    if not d.failed:
        line = (f":white_check_mark: No failed executions {span} "
                f"({d.total:,} executions).")
        return {"text": fallback,
                "blocks": [b.to_dict() for b in (SectionBlock(text=_md(line)), *reviews)]}
    head: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=fit(f"Failed executions: {d.failed:,}", HEADER_MAX))),
        SectionBlock(text=_md(f"{span}" + (f" · {escape(r.how)}" if r.how else "")
                              + f"\n*{escape(headline(d))}*")),
        SectionBlock(text=_md(f"{_code(sparkline(d.hourly))}  failures per {d.bucket_hours} h, "
                              "oldest first")),
        DividerBlock(),
    ]
    budget = TOTAL_TEXT_PLAN - RESERVE - sum(map(block_chars, [*head, *reviews]))
    slots = MAX_BLOCKS - len(head) - 2 - len(reviews)
    groups: list[Block] = []
    for g in d.groups[:r.top]:
        block = _group_block(g, d)
        size = block_chars(block)
        if size > budget or not slots:
            break
        budget -= size
        slots -= 1
        groups.append(block)
    notes = [n for n in (more_note(d, len(groups)), reads_note(d)) if n]
    tail = [ContextBlock(elements=[_md(escape(fmt.cut("\n".join(notes), CONTEXT_TEXT_MAX - 100,
                                                           None)), CONTEXT_TEXT_MAX)])]
    blocks = [*head, *groups, *tail, *reviews]
    return {"text": fallback, "blocks": [b.to_dict() for b in blocks]}


# -- terminal ----------------------------------------------------------------------------
def digest_lines(r: DigestResult) -> list[str]:
    """The digest for the console and ``python -m bot digest --dry-run``."""
    d = r.digest
    span = f"{_utc(d.start)} → {_utc(d.end)}"
    if not d.failed:
        return [mask_text(line) for line in [f"No failed executions {span} ({d.total:,} executions).",
                                             reads_note(d), *digest_review_lines(r.reviews)]]
    title = f"Failed executions {span}"
    out = [title, "=" * min(len(title), 80)]
    if r.how:
        out.append(f"window: {r.how}")
    out += [headline(d), f"per {d.bucket_hours} h: {sparkline(d.hourly)}", ""]
    for n, g in enumerate(d.groups[:r.top], 1):
        helper = _label(g.helper_name, g.named, "unknown helper")
        account = _label(g.account_name, g.named, "unknown account")
        hid, aid = _id(g.helper_id, "helper_id"), _id(g.account_id, "account_id")
        who = (f"{helper} ({hid})" if helper else hid) + " · " + \
            (f"{account} ({aid})" if account else aid)
        change = trend(g.count, g.previous)
        out.append(f"{n:>2}. {who}")
        out.append(f"    {g.count:,} failed" + (f" · {change}" if change else "")
                   + f" · last seen {_utc(g.last_seen)}")
        out += [f"    {s.count:>4}× {fmt.one_line(s.text)}" for s in g.signatures[:SIGNATURES_SHOWN]]
    more = more_note(d, min(len(d.groups), r.top))
    out += ["", *([more] if more else []), reads_note(d), *digest_review_lines(r.reviews)]
    return [mask_text(line) for line in out]
