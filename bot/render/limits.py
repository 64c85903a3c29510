"""Slack's message limits, and the packing that keeps every message inside them.

Slack rejects a whole message when one limit is broken (``invalid_blocks``,
``msg_blocks_too_long``), so renderers never hand it raw data: text is masked, escaped,
cut and packed here into sections that fit a shared budget (a ``Room``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ButtonElement, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from dynamo.redact import mask_text

# Where slack_sdk's Block Kit classes declare a limit, it is read from them (they validate
# with it), so one source says what Slack accepts; the rest slack_sdk does not state.
SECTION_MAX: int = SectionBlock.text_max_length
FIELDS_MAX: int = SectionBlock.fields_max_length
HEADER_MAX: int = HeaderBlock.text_max_length
CONTEXT_ELEMENTS_MAX: int = ContextBlock.elements_max_length
BUTTON_TEXT_MAX: int = ButtonElement.text_max_length
BUTTON_VALUE_MAX: int = ButtonElement.value_max_length
VIEW_MAX_BLOCKS: int = View.blocks_max_length  # a modal or App Home
MAX_BLOCKS = 50  # a message (chat.postMessage; slack_sdk's Message does not declare it)
CONTEXT_TEXT_MAX = 2000
FIELD_MAX = 2000
FALLBACK_MAX = 500
# Slack refuses messages whose blocks hold more than ~12-13k characters of text in all
# (``msg_blocks_too_long``, undocumented; slackapi/bolt-js#2509). Stay under it.
TOTAL_TEXT_MAX = 12_000
# What renderers plan with: margin for masking that lengthens text in the final pass.
TOTAL_TEXT_PLAN = 11_000
CHUNK = 2900
FENCE = "```"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
EMPTY = "—"


def escape(text: str) -> str:
    """Escape mrkdwn control characters so data can never mention or link (``<!here>``).

    For data put into mrkdwn; plain text (plain_text objects, a message's fallback
    ``text``) is escaped whole where the payload leaves the bot (``bot.messaging.outbound``)."""
    if "&" not in text and "<" not in text and ">" not in text:  # most text: no scan
        return text
    return "".join(_ENTITIES.get(c, c) for c in text)


def fit(text: str, limit: int) -> str:
    """The final pass on every text: credentials masked, at most ``limit``, never blank."""
    out = text
    for _ in range(10):
        masked = mask_text(out)
        if len(masked) <= limit:
            return masked if masked.strip() else EMPTY
        out = masked[: limit - 1] + "…"
    return "[cut]"


@dataclass
class Room:
    """What is left of a message's block and character budget."""

    blocks: int
    chars: int

    def fits(self, chars: int, blocks: int = 1) -> bool:
        return blocks <= self.blocks and chars <= self.chars

    def take(self, chars: int, blocks: int = 1) -> None:
        self.blocks -= blocks
        self.chars -= chars


def split_long(line: str, limit: int) -> Iterator[str]:
    """Pieces of at most ``limit`` characters, never splitting an ``&amp;``-style entity."""
    while len(line) > limit:
        at = limit
        amp = line.rfind("&", max(at - 4, 0), at)
        if amp > 0 and ";" not in line[amp:at]:
            at = amp
        yield line[:at]
        line = line[at:]
    yield line


def pack(units: Sequence[str], room: Room, *, code: bool = False,
         head: Sequence[str] = ()) -> tuple[list[str], int]:
    """Group lines into section texts (each under ``CHUNK``) while ``room`` lasts.

    ``code`` wraps each section in a fence; ``head`` lines (a table's header) start each
    section. Returns the texts and how many whole units were placed.
    """
    overhead = (len(FENCE) * 2 + 2 if code else 0) + sum(len(h) + 1 for h in head)
    limit = max(CHUNK - overhead, 100)
    texts: list[str] = []
    cur: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal cur, size
        if cur:
            body = "\n".join([*head, *cur])
            text = f"{FENCE}\n{body}\n{FENCE}" if code else body
            room.take(len(text))
            texts.append(text)
        cur, size = [], 0

    for placed, unit in enumerate(units):
        for piece in split_long(unit, limit):
            add = len(piece) + (1 if cur else 0)
            if cur and size + add > limit:
                flush()
                add = len(piece)
            if not room.fits(overhead + size + add):
                flush()
                return texts, placed
            cur.append(piece)
            size += add
    flush()
    return texts, len(units)


def _trimmed(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def fenced_segments(text: str) -> list[tuple[bool, list[str]]]:
    """Split mrkdwn into (is_code, lines) runs so a cut never leaves a fence open."""
    runs: list[tuple[bool, list[str]]] = []
    code, lines = False, []
    for line in text.split("\n"):
        if line.count(FENCE) % 2 == 0:  # no fence, or inline ```...``` on one line
            lines.append(line)
            continue
        if code:  # closing fence: what precedes it ends the code run
            last, _, rest = line.rpartition(FENCE)
        else:  # opening fence: what precedes it ends the text run
            last, _, rest = line.partition(FENCE)
        lines.append(last)
        runs.append((code, _trimmed(lines)))
        code, lines = not code, [rest]
    runs.append((code, _trimmed(lines)))
    return [(c, ls) for c, ls in runs if ls]


# -- checking ---------------------------------------------------------------------------
def block_chars(block: Block | Mapping[str, Any]) -> int:
    """How much of the message's text budget a built block takes (every text in it)."""
    # the hot path builds blocks as plain dicts (bot/render/blocks.py); others are models
    return sum(len(t) for t in texts_of(block if isinstance(block, Mapping) else block.to_dict()))


def texts_of(node: Any) -> Iterator[str]:
    """Every text object's text in a block dict, however deeply nested."""
    # dict and list first: the blocks built here are plain dicts, and an ABC check
    # (``Mapping``) costs several times an exact type check on this per-answer path
    if type(node) is dict or isinstance(node, Mapping):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            yield node["text"]
        for v in node.values():
            if type(v) is dict or type(v) is list or isinstance(v, Mapping | list):
                yield from texts_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from texts_of(v)


def problems(message: Mapping[str, Any]) -> list[str]:
    """Every Slack limit a rendered message breaks (empty when it is safe to send)."""
    out: list[str] = []
    blocks = message.get("blocks", [])
    fallback = message.get("text", "")
    if not isinstance(fallback, str) or not fallback.strip() or len(fallback) > 3000:
        out.append("fallback text missing, blank or over 3000")
    if len(blocks) > MAX_BLOCKS:
        out.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    total = 0
    for i, block in enumerate(blocks):
        kind = block.get("type")
        for text in texts_of(block):
            total += len(text)
            if not text.strip():
                out.append(f"block {i}: blank text")
        if kind == "header" and len(block["text"]["text"]) > HEADER_MAX:
            out.append(f"block {i}: header over {HEADER_MAX}")
        if kind == "section":
            if "text" in block and len(block["text"]["text"]) > SECTION_MAX:
                out.append(f"block {i}: section text over {SECTION_MAX}")
            fields = block.get("fields", [])
            if len(fields) > FIELDS_MAX or any(len(f["text"]) > FIELD_MAX for f in fields):
                out.append(f"block {i}: fields over limits")
        if kind == "context":
            els = block.get("elements", [])
            if len(els) > CONTEXT_ELEMENTS_MAX or any(
                    len(e.get("text", "")) > CONTEXT_TEXT_MAX for e in els):
                out.append(f"block {i}: context over limits")
        if kind == "actions":
            for el in block.get("elements", []):
                if len(el.get("value", "")) > BUTTON_VALUE_MAX:
                    out.append(f"block {i}: button value over {BUTTON_VALUE_MAX}")
                if len(el["text"]["text"]) > BUTTON_TEXT_MAX:
                    out.append(f"block {i}: button text over {BUTTON_TEXT_MAX}")
    if total > TOTAL_TEXT_MAX:
        out.append(f"{total} characters of block text > {TOTAL_TEXT_MAX}")
    return out
