"""Inbound text normalisation at the Slack edge: what Slack sends → what the person meant.

Slack does not hand an app the text a person typed. In every mrkdwn text it sends (the
``text`` of a slash command, a message's ``text``, mrkdwn text objects of its blocks,
attachment text) it HTML-escapes ``&``, ``<`` and ``>`` as ``&amp;`` ``&lt;`` ``&gt;``, and
it writes mentions, channels, emails and URLs as its own markup: ``<@U123|name>``,
``<#C123|name>``, ``<!subteam^S123|@team>``, ``<mailto:a@b.com|a@b.com>``,
``<https://…|label>``. People paste commands from runbooks and wikis, bringing
non-breaking and zero-width spaces, code fences and shell line continuations.

What Slack leaves raw is not decoded here (decoding twice would turn a typed ``&lt;``
into ``<``): ``plain_text_input`` values of a view submission, ``rich_text`` elements
(their ``text``, ``url``, ``user_id`` …), plain_text objects, and button values (our own,
sent back verbatim). The console bypasses this module: it takes text as typed.

Smart quotes stay where they were handled before, in ``commands.registry.tokenize`` (it
serves the console too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

TEXT_MAX = 50_000
_DEPTH = 12

# Slack markup — a mention, channel, special command (<@…>, <#…>, <!…>) or a link with a
# scheme (<https://…|label>, <mailto:…>) — or one of the three entities Slack writes. A
# typed "<" always arrives as "&lt;", so only Slack writes "<"; requiring markup's shape
# keeps text from elsewhere (a test, a proxy) that was never escaped intact. One pass
# decodes each entity exactly once: "&amp;lt;" becomes "&lt;" and stays so.
_SLACK = re.compile(r"<([@#][^<>\s|]*(?:\|[^<>\n]*)?|![^<>\n]*"
                    r"|[A-Za-z][A-Za-z0-9+.-]*:[^<>\s|]+(?:\|[^<>\n]*)?)>|&(amp|lt|gt);")
_ENTITY = {"amp": "&", "lt": "<", "gt": ">"}
_ONLY_ENTITY = re.compile(r"&(amp|lt|gt);")

# Spaces that look like a space but are not one to a tokenizer: no-break, figure, narrow
# no-break, the en/em family, medium mathematical, ideographic.
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters a paste carries along: zero-width space / (non-)joiner, word
# joiner, byte-order mark, soft hyphen.
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTINUATION = re.compile(r"[ \t]*\\[ \t]*\r?\n[ \t]*")  # a shell "\" line continuation
_FENCE_LANG = re.compile(r"^(?:sh|bash|zsh|shell|console|text|json)[ \t]*\n")

_TEXT_KEYS = ("fallback", "pretext", "title", "text", "footer", "author_name")  # attachments
_URL_KEYS = ("title_link", "from_url", "original_url", "author_link", "url", "value")
_RICH = frozenset({"rich_text", "rich_text_section", "rich_text_list", "rich_text_quote",
                   "rich_text_preformatted"})


def _entities(text: str) -> str:
    return _ONLY_ENTITY.sub(lambda m: _ENTITY[m.group(1)], text)


def _labelled(target: str, label: str) -> str:
    """A link as a person reads it: the label they saw, then where it points."""
    shown = _entities(label).strip()
    return target if not shown or shown == target else f"{shown} {target}"


def _unwrap(inner: str, *, seen: bool = False) -> str:
    """What a person meant by one ``<…>`` of Slack markup (entities inside decoded once).

    A link is its target (a command wants the URL or address); with ``seen`` it is the
    label the person saw followed by the target, so a message shortcut finds an id named
    in either. A mention's or channel's label is a name, never an id, and stays out.
    """
    target, _, label = inner.partition("|")
    if target[:1] in ("@", "#"):  # <@U123|name> → U123, <#C123|name> → C123
        return target[1:]
    if target.startswith("!subteam^"):  # <!subteam^S123|@team> → S123
        return target.removeprefix("!subteam^")
    if target.startswith("!date^"):  # <!date^1700000000^{date}|fallback> → the fallback
        return _entities(label)
    if target.startswith("!"):  # <!here>, <!channel>, <!everyone>
        return "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):  # <mailto:a@b.com|a@b.com> → a@b.com
        address = _entities(target.removeprefix("mailto:"))
        return _labelled(address, label) if seen else address
    url = _entities(target)  # <https://…|label> → the URL (seen: "label https://…")
    return _labelled(url, label) if seen else url


def from_slack(text: str, *, seen: bool = False) -> str:
    """Slack's mrkdwn text as typed: markup unwrapped, ``&amp; &lt; &gt;`` decoded once.

    ``seen``: as a person reads the message, a link's label kept beside its target.
    """

    def one(m: re.Match[str]) -> str:
        return _ENTITY[m.group(2)] if m.group(2) else _unwrap(m.group(1), seen=seen)

    return _SLACK.sub(one, text)


def clean_paste(text: str) -> str:
    """A pasted command made typeable: odd spaces, invisibles, fences, continuations.

    Applies to text that arrives raw as well (a modal's input), so it never decodes.
    """
    text = _INVISIBLE.sub("", _SPACES.sub(" ", text)).replace("\r\n", "\n").strip()
    if len(text) >= 6 and text.startswith("```") and text.endswith("```"):
        text = _FENCE_LANG.sub("", text[3:-3].strip(" \t"), count=1).strip()
    elif len(text) >= 2 and text[0] == text[-1] == "`" and "`" not in text[1:-1]:
        text = text[1:-1].strip()
    return _CONTINUATION.sub(" ", text).strip()


def command_text(text: str) -> str:
    """``/ddb`` text from a slash command payload, as the person typed it."""
    return clean_paste(from_slack(text))


# -- message shortcut: the message's text, blocks and attachments ----------------------------
def _rich(node: Any, depth: int) -> Iterator[str]:
    """rich_text elements: raw text (Slack does not escape it), ids for mentions, a link's
    label (the text shown, when it differs from the URL) and then its URL."""
    if depth > _DEPTH or not isinstance(node, Mapping):
        return
    kind = node.get("type")
    fields = {"text": ("text",), "link": ("text", "url"), "user": ("user_id",),
              "channel": ("channel_id",), "usergroup": ("usergroup_id",),
              "date": ("fallback",), "broadcast": ("range",)}.get(str(kind), ())
    for name in fields:
        value = node.get(name)
        if isinstance(value, str) and value:
            yield value.removeprefix("mailto:") if name == "url" else value
    for child in node.get("elements") or []:
        yield from _rich(child, depth + 1)


def _blocks(node: Any, depth: int = 0) -> Iterator[str]:
    """Text of Block Kit blocks: mrkdwn decoded, plain_text / values / URLs raw."""
    if depth > _DEPTH:
        return
    if isinstance(node, list):
        for child in node:
            yield from _blocks(child, depth + 1)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind in _RICH:
        yield from _rich(node, depth)
        return
    text = node.get("text")
    if isinstance(text, str) and kind in ("mrkdwn", "plain_text"):
        yield from_slack(text, seen=True) if kind == "mrkdwn" else text
        return
    for key, value in node.items():
        if isinstance(value, str) and key in _URL_KEYS:
            yield value
        elif isinstance(value, dict | list):
            yield from _blocks(value, depth + 1)


def _attachments(node: Any, depth: int = 0) -> Iterator[str]:
    """Legacy attachments: their text fields are mrkdwn (escaped); links and blocks as above."""
    if depth > _DEPTH:
        return
    for att in node if isinstance(node, list) else []:
        if not isinstance(att, Mapping):
            continue
        for key, value in att.items():
            if isinstance(value, str) and key in _TEXT_KEYS:
                yield from_slack(value, seen=True)
            elif isinstance(value, str) and key in _URL_KEYS:
                yield value
            elif key == "fields" and isinstance(value, list):
                for f in value:
                    if isinstance(f, Mapping):
                        yield from (from_slack(v, seen=True) for k in ("title", "value")
                                    if isinstance(v := f.get(k), str))
            elif isinstance(value, dict | list):
                yield from _blocks(value, depth + 1)


def message_text(message: Mapping[str, Any]) -> str:
    """What a message says, to search for identifiers: its text, blocks and attachments,
    each link as its label and its target (what the person saw, and where it points)."""
    text = message.get("text")
    parts = [from_slack(text, seen=True) if isinstance(text, str) else ""]
    parts += _blocks(message.get("blocks") or [])
    parts += _attachments(message.get("attachments") or [])
    joined = "\n".join(p for p in parts if p)
    return _INVISIBLE.sub("", _SPACES.sub(" ", joined))[:TEXT_MAX]
