"""Block Kit messages for command results, built as plain dicts.

Whatever the data, a message stays inside Slack's limits (``bot.render.limits``): text
is masked, escaped and cut, sections are packed into one shared budget, and what does
not fit is replaced by a note saying how much was left out.

The blocks are the exact dicts slack_sdk's block classes produce (same keys, same
order), built directly: slack_sdk re-validates every object on each ``to_dict()``, which
was ~0.6 ms of CPU on every answer for limits this module already enforces. The tests
keep slack_sdk's validation: ``tests/unit/test_render.py`` parses every rendered
message back through ``Block.parse_all`` and requires the same dicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.render import format as fmt
from bot.render import ids
from bot.render.digest import render_digest
from bot.render.limits import (
    BUTTON_VALUE_MAX,
    CONTEXT_TEXT_MAX,
    FALLBACK_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_MAX,
    TOTAL_TEXT_PLAN,
    Room,
    block_chars,
    escape,
    fenced_segments,
    fit,
    pack,
)
from commands.digest import DigestResult
from commands.results import ErrorResult, ItemsResult, JsonResult, Result, TableResult, TextResult
from dynamo.redact import redact_item

NOTE_RESERVE = 300  # characters kept back for the "…cut" note
NOTES_MAX = 1500
MESSAGE_MAX = 2000
CARD_VALUE_MAX = 300
LIST_VALUE_MAX = 40
LIST_KEY_MAX = 60
ATTR_NAME_MAX = 100
CELL_MAX = 60
TABLE_LINE_MAX = 700

Block = dict[str, Any]  # one Block Kit block, as sent
Body = Callable[[Room], list[Block]]


# -- blocks -----------------------------------------------------------------------------
def _md(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    # verbatim: Slack must not auto-link or parse mentions out of data
    return {"text": fit(text, limit), "type": "mrkdwn", "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"emoji": True, "text": text, "type": "plain_text"}


def _section(text: str) -> Block:
    return {"text": _md(text), "type": "section"}


def _header(text: str) -> Block:
    plain = fmt.one_line(text).replace("`", "").strip() or "ddb-bot"
    return {"text": _plain(fit(plain, HEADER_MAX)), "type": "header"}


def _context(text: str) -> Block:
    return {"elements": [_md(text, CONTEXT_TEXT_MAX)], "type": "context"}


def _is_context(block: Block) -> bool:
    return block["type"] == "context"


def _packed(lines: Sequence[str], room: Room, note: Callable[[int], str], *,
            code: bool = False, head: Sequence[str] = ()) -> list[Block]:
    """Sections holding ``lines`` while the budget lasts, then a note on what is left."""
    texts, placed = pack(lines, room, code=code, head=head)
    out: list[Block] = [_section(t) for t in texts]
    if placed < len(lines):
        out.append(_context(note(len(lines) - placed)))
    return out


@dataclass
class _Draft:
    """A message being built: fixed head and tail, and a body filled within the budget."""

    fallback: str
    body: Body
    head: list[Block] = field(default_factory=list)
    tail: list[Block] = field(default_factory=list)

    def render(self) -> dict[str, Any]:
        fixed = self.head + self.tail
        room = Room(MAX_BLOCKS - len(fixed) - 1,
                    TOTAL_TEXT_PLAN - sum(map(block_chars, fixed)) - NOTE_RESERVE)
        blocks = [*self.head, *self.body(room), *self.tail]
        # plain text, escaped where the message leaves the bot (bot.messaging.outbound)
        fallback = fit(fmt.cut(fmt.one_line(self.fallback), FALLBACK_MAX - 50, None), FALLBACK_MAX)
        if not blocks:
            blocks = [_section(escape(fallback))]
        return {"text": fallback, "blocks": blocks}


def _notes(notes: Sequence[str]) -> list[Block]:
    text = "\n".join(escape(fmt.clean(n)) for n in notes if n.strip())
    return [_context(fmt.cut(text, NOTES_MAX, None))] if text else []


def _buttons(result: Result, view_id: str | None, *, card: bool) -> list[Block]:
    if not view_id or len(view_id) > BUTTON_VALUE_MAX:
        return []
    spec: list[tuple[str, str, str | None]] = []
    if getattr(result, "has_more", False):
        spec.append(("Next page", ids.NEXT_PAGE, "primary"))
    if isinstance(result, ItemsResult) and result.items:
        spec.append(("Show JSON", ids.SHOW_JSON, None))
        if card:
            spec.append(("Request change", ids.REQUEST_CHANGE, None))
    if not spec:
        return []
    return [{"elements": [
        {"action_id": action, **({"style": style} if style else {}), "text": _plain(label),
         "type": "button", "value": view_id}
        for label, action, style in spec], "type": "actions"}]


def _fixed(*blocks: Block) -> Body:
    def body(room: Room) -> list[Block]:
        for b in blocks:
            room.take(block_chars(b))
        return list(blocks)
    return body


# -- PII masking for --share -----------------------------------------------------------
# the local part is bounded (RFC 5321: 64) so a long run of letters without an "@" costs
# linear, not quadratic, time: an unbounded `*` rescans the run from every start position
_EMAIL = re.compile(r"([A-Za-z0-9_%+-])[A-Za-z0-9._%+-]{0,63}@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _emails(value: Any) -> Any:
    """Emails masked anywhere in free text or nested values (titles echo user input)."""
    if isinstance(value, str):
        return _EMAIL.sub(r"\1***@\2", value)
    if isinstance(value, Mapping):
        return {k: _emails(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_emails(v) for v in value]
    return value


def _pii_any(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _emails(redact_item(value, None, mask_pii=True))
    if isinstance(value, list | tuple):
        return [_pii_any(v) for v in value]
    return _emails(value)


def _for_channel(result: Result) -> Result:
    """A copy fit for a channel post: declared PII attributes and any email masked."""
    update: dict[str, Any] = {"title": _emails(result.title), "notes": _emails(result.notes)}
    if isinstance(result, ItemsResult):
        table = fmt.table_of(result.table)
        update["items"] = [_emails(redact_item(i, table, mask_pii=True)) for i in result.items]
    elif isinstance(result, JsonResult):
        update["data"] = _pii_any(result.data)
    elif isinstance(result, TextResult):
        update["sections"] = _emails(result.sections)
    elif isinstance(result, TableResult):
        update["rows"] = _emails(result.rows)
        update["more"] = [_for_channel(t) for t in result.more]
    elif isinstance(result, ErrorResult):
        update["message"] = _emails(result.message)
    return result.model_copy(update=update)


# -- results ----------------------------------------------------------------------------
def _error(r: ErrorResult) -> _Draft:
    message = escape(fmt.cut(fmt.clean(r.message), MESSAGE_MAX, None)) or "error"
    usage = [escape(fmt.clean(u)) for u in r.usage.splitlines() if u.strip()]

    def body(room: Room) -> list[Block]:
        out = _fixed(_section(f":warning: {message}"))(room)
        return out + _packed(usage, room, lambda n: f"…usage cut: {n} more lines", code=True)

    return _Draft(f"Error: {r.message}", body, tail=_notes(r.notes))


def _text(r: TextResult) -> _Draft:
    runs: list[tuple[bool, list[str]]] = []
    for heading, text in r.sections:
        segs = [(c, [escape(x) for x in ls]) for c, ls in fenced_segments(fmt.clean(text))]
        if heading.strip():
            title = f"*{escape(fmt.cut(fmt.one_line(heading), 200, None))}*"
            if segs and not segs[0][0]:
                segs[0] = (False, [title, *segs[0][1]])
            else:
                segs.insert(0, (False, [title]))
        runs += segs

    def body(room: Room) -> list[Block]:
        out: list[Block] = []
        for i, (code, lines) in enumerate(runs):
            left = sum(len(ls) for _, ls in runs[i + 1:])
            part = _packed(lines, room, lambda n, left=left: f"…cut: {n + left:,} more lines",
                           code=code)
            out += part
            if part and _is_context(part[-1]):
                break
        return out

    head = [_header(r.title)] if r.title.strip() else []
    first = r.title or next((h for h, _ in r.sections if h.strip()), "ddb-bot")
    return _Draft(first, body, head=head, tail=_notes(r.notes))


def _table_body(r: TableResult) -> Body:
    lines = [fmt.cut(escape(x), TABLE_LINE_MAX, None)
             for x in fmt.align_rows(r.columns, r.rows, CELL_MAX)]

    def body(room: Room) -> list[Block]:
        if not r.rows:
            return _fixed(_section("_No rows._"))(room)
        return _packed(lines[2:], room, lambda n: f"…{n:,} more rows not shown", code=True,
                       head=lines[:2])

    return body


def _table(r: TableResult) -> _Draft:
    main = _table_body(r)

    def body(room: Room) -> list[Block]:
        out = main(room)
        if r.more:  # the notes belong to the first table, above the others
            out += _fixed(*_notes(r.notes))(room)
        for sub in r.more:  # further tables, each under its title, while room lasts
            head = [_header(sub.title)] if sub.title.strip() else []
            if not room.fits(sum(map(block_chars, head)) + 200, len(head) + 2):
                break
            out += _fixed(*head)(room)
            out += (_table_body(sub)(room) if sub.rows else [])
            out += _fixed(*_notes(sub.notes))(room)
        return out

    return _Draft(f"{r.title or 'Table'}: {len(r.rows)} rows", body,
                  head=[_header(r.title)] if r.title.strip() else [],
                  tail=[] if r.more else _notes(r.notes))


def _json_body(data: Any) -> Body:
    lines = [escape(x) for x in fmt.to_json(data, pretty=True).split("\n")]
    total = sum(len(x) + 1 for x in lines)

    def note(n: int) -> str:
        shown = total - sum(len(x) + 1 for x in lines[len(lines) - n:])
        return f"…JSON cut: showing {shown:,} of {total:,} characters"

    return lambda room: _packed(lines, room, note, code=True)


def _json(r: JsonResult) -> _Draft:
    return _Draft(r.title or "JSON", _json_body(r.data),
                  head=[_header(r.title)] if r.title.strip() else [], tail=_notes(r.notes))


def _attr_line(item: Mapping[str, Any], attr: str, key: bool, hint: str | None) -> str:
    name = escape(fmt.cut(fmt.one_line(attr), ATTR_NAME_MAX, None))
    value = escape(fmt.shown(item[attr], CARD_VALUE_MAX, hint))
    return f"*{name}*: " + (f"`{value.replace('`', 'ˋ')}`" if key else value)


def _card(r: ItemsResult, item: dict[str, Any], view_id: str | None) -> _Draft:
    table = fmt.table_of(r.table)
    keys = [a for a in fmt.key_names(table) if a in item]
    order = fmt.attr_order(item, table)
    n_first = len(keys) + sum(1 for a in (table.summary if table else ()) if a in item)
    hint = fmt.CUT_HINT if view_id else ""
    lines = [_attr_line(item, a, a in keys, hint) for a in order]
    more = (lambda n: f"…{n:,} more attributes not shown — Show JSON for all") if view_id \
        else (lambda n: f"…{n:,} more attributes not shown")

    def body(room: Room) -> list[Block]:
        out = _packed(lines[:n_first], room, lambda n: more(n + len(lines) - n_first))
        was_cut = bool(out) and _is_context(out[-1])
        if len(lines) > n_first and not was_cut:
            if out and room.blocks >= 2:
                room.take(0)
                out.append({"type": "divider"})
            out += _packed(lines[n_first:], room, more)
        return out

    key_text = " / ".join(fmt.one_line(fmt.format_value(item[k])) for k in keys)
    title = f"{r.table} · {key_text}" if r.table and key_text else (r.title or "Item")
    return _Draft(title, body, head=[_header(title)],
                  tail=_notes(r.notes) + _buttons(r, view_id, card=True))


def _list(r: ItemsResult, items: list[dict[str, Any]], view_id: str | None) -> _Draft:
    table = fmt.table_of(r.table)
    cols = fmt.list_columns(items, table)
    keys = set(fmt.key_names(table)) or set(cols[:1])

    def cell(item: Mapping[str, Any], col: str) -> str:
        if col not in item:
            return "–"
        if col in keys:
            value = fmt.shown(item[col], LIST_KEY_MAX, None).replace("`", "ˋ")
            return f"`{escape(value)}`"
        return escape(fmt.shown(item[col], LIST_VALUE_MAX, None))

    lines = ["• " + " · ".join(cell(i, c) for c in cols) for i in items]
    meta = (f"*{len(items)}* items · {r.scanned:,} scanned · {r.consumed:g} RCU"
            + (f" · index `{escape(r.index)}`" if r.index else "")
            + (" · more on the next page" if r.has_more else ""))
    legend = " · ".join(f"`{escape(c)}`" if c in keys else escape(c) for c in cols)
    hint = " — Show JSON for all" if view_id else ""
    title = r.title or r.table or "Items"
    return _Draft(
        f"{title}: {len(items)} items",
        lambda room: _packed(lines, room, lambda n: f"…{n:,} more items not shown{hint}"),
        head=[_header(title), _context(fmt.cut(f"{meta}\n{legend}", CONTEXT_TEXT_MAX - 100, None))],
        tail=_notes(r.notes) + _buttons(r, view_id, card=False))


def _items(r: ItemsResult, view_id: str | None) -> _Draft:
    items = r.items
    if len(items) == 1:
        return _card(r, items[0], view_id)
    if items:
        return _list(r, items, view_id)
    title = r.title or r.table or "Items"
    # a filtered scan page can match nothing and still have pages after it
    empty = "No items on this page; more may follow." if r.has_more else "No items found."
    return _Draft(f"{title}: no items", _fixed(_section(empty)),
                  head=[_header(title)], tail=_notes(r.notes) + _buttons(r, view_id, card=False))


# -- public -----------------------------------------------------------------------------
def render_message(result: Result, *, view_id: str | None = None,
                   mask_pii: bool = False) -> dict[str, Any]:
    """``{"text", "blocks"}`` for a command result, inside every Slack limit.

    ``view_id`` (a stored view of the command) enables the Next page / Show JSON /
    Request change buttons; ``mask_pii`` masks PII for posts to a channel (``--share``).
    """
    if mask_pii:
        result = _for_channel(result)
    if isinstance(result, DigestResult):
        return render_digest(result)
    if isinstance(result, ErrorResult):
        draft = _error(result)
    elif isinstance(result, ItemsResult):
        draft = _items(result, view_id)
    elif isinstance(result, TableResult):
        draft = _table(result)
    elif isinstance(result, JsonResult):
        draft = _json(result)
    elif isinstance(result, TextResult):
        draft = _text(result)
    else:
        draft = _Draft(result.title or "ddb-bot", _fixed(), head=[_header(result.title)],
                       tail=_notes(result.notes))
    return draft.render()


def render_json(result: Result, *, mask_pii: bool = False) -> dict[str, Any]:
    """The "Show JSON" message: items (or data) as pretty JSON, cut with a note if huge."""
    if mask_pii:
        result = _for_channel(result)
    if isinstance(result, ItemsResult):
        items = result.items
        data: Any = items[0] if len(items) == 1 else items
        title = f"{result.title or result.table or 'Items'} (JSON)"
    elif isinstance(result, JsonResult):
        data, title = result.data, f"{result.title or 'Result'} (JSON)"
    elif isinstance(result, TableResult):
        data = [dict(zip(result.columns, row, strict=False)) for row in result.rows]
        title = f"{result.title or 'Table'} (JSON)"
    else:
        return render_message(result)
    return _Draft(title, _json_body(data), head=[_header(title)]).render()
