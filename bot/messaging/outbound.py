"""The one place every payload leaves the bot: what is plain text is escaped there.

Slack reads ``&``, ``<`` and ``>`` as markup in the texts it shows (``<!channel>`` pings a
channel, ``<https://…|Click>`` hides a link, ``&lt;`` shows as ``<``), so data must reach
it escaped (https://api.slack.com/reference/surfaces/formatting#escaping). A payload
holds two kinds of text:

- **mrkdwn**: ``mrkdwn`` text objects, and the ``text`` of a message that has no blocks.
  The bot means markup there (mentions of approvers, ``<#channel>``, dates, quotes), so
  the renderers build it, escaping each piece of data they put in (``limits.escape``).
- **plain text**: every ``plain_text`` object (headers, buttons, options, modal titles,
  labels, placeholders), ``alt_text``, and a message's ``text`` beside its blocks (the
  notification and channel-list line, which Slack still parses). The bot never means
  markup there, so renderers put data in as it is and it is escaped here, whole and
  once, and cut back to the field's limit if escaping lengthened it.

``SlackClient`` (every Web API call: listeners, scheduler, DMs) and ``KeepAliveRespond``
(every ``response_url`` body) pass what they send through ``finish``; nothing else sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    ImageBlock,
    InputBlock,
    Option,
)
from slack_sdk.models.blocks.block_elements import InputInteractiveElement
from slack_sdk.models.views import View
from slack_sdk.web import SlackResponse

from bot.render.limits import escape

TEXT_OBJECT_MAX = 3000  # any text object (Block Kit's own limit)
FIELD_MAX = 2000  # a section field
FALLBACK_MAX = 3000  # what ``limits.problems`` allows a message's ``text``
# the Web API methods whose arguments carry a message or a view
SENDS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update",
                   "chat.scheduleMessage", "views.open", "views.push", "views.update",
                   "views.publish"})
_MESSAGE_KEYS = ("blocks", "attachments")
_VIEW_TITLES = {"title": View.title_max_length, "submit": View.submit_max_length,
                "close": View.close_max_length}
_CONFIRM = {"title": ConfirmObject.title_max_length, "text": ConfirmObject.text_max_length,
            "confirm": ConfirmObject.confirm_max_length, "deny": ConfirmObject.deny_max_length}


def cut_escaped(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters, never ending inside an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    at = limit - 1
    amp = text.rfind("&", max(at - 4, 0), at)
    if amp >= 0 and ";" not in text[amp:at]:
        at = amp
    return text[:at] + "…"


def plain(text: str, limit: int) -> str:
    """Plain text as Slack must receive it: ``& < >`` escaped, within ``limit``."""
    return cut_escaped(escape(text), limit)


def _plain_limit(parent: Mapping[str, Any], key: str) -> int:
    """Slack's limit for the plain_text object at ``parent[key]``."""
    kind = parent.get("type")
    if kind == "header":
        return HeaderBlock.text_max_length
    if kind in ("button", "workflow_button"):
        return ButtonElement.text_max_length
    if kind in ("modal", "home") and key in _VIEW_TITLES:
        return _VIEW_TITLES[key]
    if kind == "input" and key in ("label", "hint"):
        return InputBlock.label_max_length
    if key == "placeholder":
        return InputInteractiveElement.placeholder_max_length
    if kind is None and "value" in parent and key in ("text", "description"):
        return Option.label_max_length  # an option
    if kind is None and "confirm" in parent and "deny" in parent:
        return _CONFIRM.get(key, TEXT_OBJECT_MAX)  # a confirm dialog
    return TEXT_OBJECT_MAX


def _finish_node(node: Any, limit: int = TEXT_OBJECT_MAX) -> Any:
    """A copy of a block, view or element with its plain text escaped; ``limit`` is
    Slack's for ``node`` itself if it is a plain_text object."""
    if isinstance(node, list):
        return [_finish_node(v, limit) for v in node]
    if not isinstance(node, Mapping):
        return node
    if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
        return {**node, "text": plain(node["text"], limit)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "alt_text" and isinstance(value, str):
            out[key] = plain(value, ImageBlock.alt_text_max_length)
        elif isinstance(value, list):  # section fields, context elements, options, blocks
            out[key] = _finish_node(value, FIELD_MAX if key == "fields" else TEXT_OBJECT_MAX)
        elif isinstance(value, Mapping):
            out[key] = _finish_node(value, _plain_limit(node, key))
        else:
            out[key] = value
    return out


def _parsed(value: Any) -> Any:
    """Blocks or a view given as JSON text (the Web API accepts either) as objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def finish(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it may be sent: every plain text escaped (see the module docstring).

    ``payload`` is a message (``text``, ``blocks`` …: chat.* arguments or a response_url
    body) or a views.* call (``view``); it is not changed, a copy is returned."""
    out = dict(payload)
    for key in ("blocks", "attachments", "view"):
        if out.get(key) is not None:
            out[key] = _finish_node(_parsed(out[key]))
    text = out.get("text")
    if isinstance(text, str) and any(out.get(k) for k in _MESSAGE_KEYS):
        out["text"] = plain(text, FALLBACK_MAX)  # the notification line beside the blocks
    return out


class SlackClient(WebClient):
    """slack_sdk's ``WebClient``, finishing every message and view it sends (``finish``)."""

    @classmethod
    def like(cls, client: WebClient) -> SlackClient:
        """The same client (token, base URL, TLS, proxy, retries, team) as a ``SlackClient``;
        Bolt builds a plain ``WebClient`` for each request, the middleware swaps it."""
        return cls(token=client.token, base_url=client.base_url, timeout=client.timeout,
                   ssl=client.ssl, proxy=client.proxy, headers=client.headers,
                   team_id=client.default_params.get("team_id"), logger=client.logger,
                   retry_handlers=client.retry_handlers)

    def api_call(self, api_method: str, *, http_verb: str = "POST", files: dict | None = None,
                 data: dict | None = None, params: dict | None = None,
                 json: dict | None = None, headers: dict | None = None,
                 auth: dict | None = None) -> SlackResponse:
        if api_method in SENDS:
            if json is not None:
                json = finish(json)
            if data is not None:
                data = finish(data)
            if params is not None:
                params = finish(params)
        return super().api_call(api_method, http_verb=http_verb, files=files, data=data,
                                params=params, json=json, headers=headers, auth=auth)
