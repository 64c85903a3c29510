"""Turning a command result into a Slack reply (shared by the slash command and buttons)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.render.blocks import render_message
from bot.services import BUSY_TEXT, Services
from commands.results import ItemsResult, Result


def reply_payload(services: Services, user_id: str, text: str, result: Result,
                  start_key: dict[str, Any] | None = None) -> dict[str, Any]:
    """The message for ``result``; items get a stored view so buttons can continue."""
    if result.share:
        msg = render_message(result, view_id=None, mask_pii=True)
        return {"response_type": "in_channel", **msg}
    view_id = None
    if isinstance(result, ItemsResult) and (result.items or result.has_more):
        view_id = services.pages.save(user_id, text, start_key, result.next_key)
    return {"response_type": "ephemeral", **render_message(result, view_id=view_id)}


def request_id_of(body: dict[str, Any]) -> str:
    """The request id a clicked button carries (its value), at most a request id's length."""
    return str((body.get("actions") or [{}])[0].get("value", ""))[:40]


def busy_reply(respond: Respond) -> None:
    """The "busy, try again" answer at the response_url, beside (not over) the message
    that was clicked (``acked(..., busy=busy_reply)``)."""
    respond(response_type="ephemeral", replace_original=False, text=BUSY_TEXT)


def busy_dm(client: WebClient, body: dict[str, Any]) -> None:
    """The "busy, try again" answer by DM, for surfaces without a response_url."""
    client.chat_postMessage(channel=body["user"]["id"], text=BUSY_TEXT)
