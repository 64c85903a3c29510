"""Plain-text rendering of command results for the terminal console (``python -m bot``).

The same results as Slack, laid out for a monospace screen: cards with aligned attribute
names, lists and tables as aligned columns, JSON pretty-printed. Control characters in
data are replaced so an item can never drive the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.render import format as fmt
from bot.render.break_glass import console_lines
from bot.render.digest import digest_lines
from commands.digest import DigestResult
from commands.results import (
    ErrorResult,
    ItemsResult,
    JsonResult,
    RequestResult,
    Result,
    TableResult,
    TextResult,
)
from dynamo.redact import mask_text

VALUE_MAX = 2000
CELL_MAX = 40
KEY_MAX = 80  # ids are copied from the list: keep them whole
NAME_WIDTH = 24
MORE = "more results: type `next`"
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
# Slack mention markup that command texts carry for Slack (``<@U123>``, ``<#C123|ops>``,
# ``<!subteam^S1>``, ``<!date^ts^fmt|fallback>``)
_MARKUP = re.compile(r"<([@#!])([^<>|\s]+)(?:\|([^<>]*))?>")


def _unmark(m: re.Match[str]) -> str:
    sigil, target, label = m.group(1), m.group(2), m.group(3)
    if sigil != "!":
        return sigil + target  # @U123, #C123: the id a person can type back
    if target.startswith("date^"):
        return label or target.split("^")[1]
    return "@" + target.removeprefix("subteam^")


def console_markup(text: str) -> str:
    """Slack mention markup as a terminal shows it: ``<@U123>`` → ``@U123``.

    Only the bot's own prose goes through here (messages, notes, table cells); item
    values are shown exactly as stored.
    """
    return _MARKUP.sub(_unmark, text)


def _plain(text: str) -> str:
    """mrkdwn-ish text for a terminal: fences, *bold* markers and mention markup dropped."""
    lines = [ln.replace("```", "") for ln in fmt.clean(console_markup(text)).split("\n")
             if ln.strip().strip("`") or not ln.strip()]
    return _BOLD.sub(r"\1", "\n".join(lines))


def _title(text: str) -> list[str]:
    title = fmt.one_line(text).replace("`", "").strip()
    return [title, "=" * min(len(title), 80)] if title else []


def _error(r: ErrorResult) -> list[str]:
    out = [f"error: {fmt.clean(console_markup(r.message))}"]
    usage = [u for u in fmt.clean(r.usage).splitlines() if u.strip()]
    if usage:
        out.append(f"usage: {usage[0]}")
        out += [f"       {u}" for u in usage[1:]]
    return out


def _text(r: TextResult) -> list[str]:
    out = _title(r.title)
    for heading, text in r.sections:
        if out:
            out.append("")
        if heading.strip():
            out.append(_plain(heading).strip() + ":")
        if text.strip():
            out.append(_plain(text).strip("\n"))
    return out


def _table(r: TableResult) -> list[str]:
    cells = [[console_markup(str(c)) for c in row] for row in r.rows]
    rows = fmt.align_rows(r.columns, cells, 60) if cells else ["(no rows)"]
    out = [*_title(r.title), *rows]
    if r.more:  # the notes belong to the first table, above the others
        out += [f"note: {fmt.one_line(console_markup(n))}" for n in r.notes if n.strip()]
    for sub in r.more:  # further tables (``/ddb pending``), their notes right below them
        out += ["", *(_table(sub) if sub.rows else _title(sub.title))]
        out += [f"note: {fmt.one_line(console_markup(n))}" for n in sub.notes if n.strip()]
    return out


def _card(r: ItemsResult, item: Mapping[str, Any]) -> list[str]:
    table = fmt.table_of(r.table)
    keys = [a for a in fmt.key_names(table) if a in item]
    key_text = " / ".join(fmt.shown(item[k], 200, None) for k in keys)
    out = _title(f"{r.table} · {key_text}" if r.table and key_text else (r.title or "item"))
    order = fmt.attr_order(item, table)
    width = min(max((len(a) for a in order), default=0), NAME_WIDTH)
    for attr in order:
        name = fmt.cut(fmt.one_line(attr), 60, None)
        out.append(f"{name.ljust(width)}  {fmt.shown(item[attr], VALUE_MAX, '')}")
    return out


def _list(r: ItemsResult) -> list[str]:
    table = fmt.table_of(r.table)
    cols = fmt.list_columns(r.items, table)
    keys = set(fmt.key_names(table))
    rows = [[fmt.shown(i[c], KEY_MAX if c in keys else CELL_MAX, None) if c in i else "-"
             for c in cols] for i in r.items]
    meta = f"{len(r.items)} items, {r.scanned:,} scanned, {r.consumed:g} RCU"
    if r.index:
        meta += f", index {r.index}"
    return [*_title(r.title or r.table or "items"), meta, "", *fmt.align_rows(cols, rows, KEY_MAX)]


def _items(r: ItemsResult) -> list[str]:
    if len(r.items) == 1:
        return _card(r, r.items[0])
    if r.items:
        return _list(r)
    empty = "No items on this page; more may follow." if r.has_more else "No items found."
    return [*_title(r.title or r.table or "items"), empty]


def _when(ts: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _request(r: RequestResult) -> list[str]:
    """A write request: the preview, who and what state; how to decide it from here."""
    if r.event == "refused":
        return [f"refused: {fmt.clean(console_markup(r.refusal or ''))}"]
    if r.break_glass:  # ran without approval: its own, louder layout
        return [fmt.clean(x) for x in console_lines(r, r.approvers)]
    lines = [f"approval recorded: {r.progress(lambda i: '@' + i)}; the change runs on the "
             f"last of {r.need}"] if r.event == "approved" else []
    lines += [*_title(f"Write request {r.id}: {r.change}"),
             f"asked by {r.requester} at {_when(r.created_at)}"]
    rows = [[a, b, c] for a, b, c in r.preview]
    if rows:
        lines += ["", *fmt.align_rows(["attribute", *r.columns], rows, 60), ""]
    requirement = r.requirement(lambda i: "@" + i)
    if requirement:
        lines.append(requirement)
    status = f"status: {r.status}"
    progress = r.progress(lambda i: "@" + i)
    if progress:
        status += f" ({progress})" if r.status == "PENDING" else \
            f" (approved by {', '.join('@' + a for a in r.approvals)})"
    if r.decided_by:
        status += f" (by {r.decided_by} at {_when(r.decided_at)})"
    lines.append(status)
    if r.reason:
        lines.append(f"reason: {fmt.clean(r.reason)}")
    if r.error:
        lines.append(f"error: {fmt.clean(r.error)}")
    if r.status == "PENDING":
        lines.append(f"expires {_when(r.expires_at)}. A second person approves with "
                     f"`/ddb approve {r.id}` or rejects with `/ddb reject {r.id} [reason]` "
                     "(in the console: `as <user id>` first).")
    elif r.undoable and r.event != "refused":
        lines.append(f"undo with `/ddb undo {r.id}`")
    return lines


def render_text(result: Result) -> str:
    """A result as terminal text (no trailing newline)."""
    if isinstance(result, ErrorResult):
        lines = _error(result)
    elif isinstance(result, ItemsResult):
        lines = _items(result)
    elif isinstance(result, TableResult):
        lines = _table(result)
    elif isinstance(result, JsonResult):
        lines = [*_title(result.title), fmt.to_json(result.data, pretty=True)]
    elif isinstance(result, TextResult):
        lines = _text(result)
    elif isinstance(result, RequestResult):
        lines = _request(result)
    elif isinstance(result, DigestResult):
        lines = digest_lines(result)
    else:
        lines = _title(result.title)
    notes = [] if isinstance(result, TableResult) and result.more else \
        [f"note: {fmt.one_line(console_markup(n))}" for n in result.notes if n.strip()]
    if notes:
        lines += ["", *notes]
    if isinstance(result, ItemsResult) and result.has_more:
        lines += ["", MORE]
    return mask_text("\n".join(lines))
