"""Post a write request for approval and keep its message current.

The listeners call these after a click or a typed command; the scheduler's expiry sweep
calls ``sync_message`` too, which is why they live outside ``bot.listeners``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messaging.break_glass import break_glass_message
from bot.messaging.outcomes import notify_outcome
from bot.render.requests import render_request, render_request_ack
from bot.services import Services
from commands.results import RequestResult

log = logging.getLogger(__name__)


def post_request(services: Services, client: WebClient, result: RequestResult,
                 asked_in: str | None) -> dict[str, Any]:
    """Post a new request for approval; returns the requester's ephemeral answer."""
    channel = services.settings.ddb_bot_approval_channel or asked_in
    if not channel or channel == "CONSOLE":
        return render_request_ack(result, None)
    try:
        resp = client.chat_postMessage(channel=channel, **render_request(result))
    except SlackApiError as exc:
        log.warning("posting request %s to %s failed: %s", result.id, channel,
                    exc.response.get("error"))
        return {"text": f"Request {result.id} was created but could not be posted in "
                        f"<#{channel}> ({exc.response.get('error')}); an approver can run "
                        f"`/ddb approve {result.id}`."}
    services.requests.set_message(result.id, resp["channel"], resp["ts"])
    return render_request_ack(result, resp["channel"])


def sync_message(services: Services, client: WebClient, request_id: str) -> None:
    """Update a request's message in place to its current state."""
    req = services.requests.get(request_id)
    if req is None:
        return
    notify_outcome(services, client, req)  # once per final outcome (a no-op otherwise)
    if not req.message_channel or not req.message_ts:
        return
    try:
        result = RequestResult.of(req, event="decided")
        client.chat_update(channel=req.message_channel, ts=req.message_ts,
                           **(break_glass_message(services, result) if req.break_glass
                              else render_request(result)))
    except SlackApiError as exc:
        log.warning("updating the message of %s failed: %s", request_id,
                    exc.response.get("error"))
