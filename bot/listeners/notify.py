"""Answering a person when Slack gave no ``response_url``.

Modal submissions and buttons in the App Home come without one, yet the shared
handlers (Approve, Reject, the write-request path) answer through ``respond``. A
``DirectMessage`` stands in for it: it posts to the person's DM with the app (the App
Home "Messages" tab; ``chat:write`` is enough for that), so an answer is never lost and
the handlers need not know where a click came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class DirectMessage:
    """A ``respond``-compatible callable that DMs ``user`` instead."""

    response_url = None

    def __init__(self, client: WebClient, user: str) -> None:
        self.client = client
        self.user = user

    def __call__(self, text: str | dict[str, Any] = "", blocks: Any = None, *,
                 delete_original: bool | None = None, **_ignored: Any) -> None:
        if isinstance(text, dict):
            blocks = text.get("blocks", blocks)
            delete_original = text.get("delete_original", delete_original)
            text = str(text.get("text", ""))
        if delete_original or not (text or blocks):
            return
        try:
            self.client.chat_postMessage(channel=self.user, text=text or " ", blocks=blocks,
                                         unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("could not DM %s: %s", self.user, exc.response.get("error"))


def respond_fallback(context: dict[str, Any], body: dict[str, Any], next: Callable[[], Any]) -> Any:
    """Middleware: clicks in a view (App Home, modal) get a DM-backed ``respond``."""
    if body.get("type") == "block_actions" and not body.get("response_url"):
        user = (body.get("user") or {}).get("id")
        client = context.get("client")
        if user and client is not None:
            context["respond"] = DirectMessage(client, user)
    return next()
