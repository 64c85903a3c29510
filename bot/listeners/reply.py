"""Turning a command result into a Slack reply (shared by the slash command and buttons)."""

from __future__ import annotations

from typing import Any

from bot.render.blocks import render_message
from bot.services import Services
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
