"""The **Undo** button on an executed request's message.

A click dispatches ``undo <request id>`` as the person who clicked, the way Approve
dispatches ``approve``: one code path with the typed command, one access check (the
``write`` group), and the new request is posted for approval like any other.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.listeners.acked import acked
from bot.listeners.reply import busy_reply, reply_payload, request_id_of
from bot.listeners.requests import handle_result
from bot.render import ids
from bot.services import Services
from commands import dispatch
from commands.results import RequestResult


def register(app: App, services: Services) -> None:
    def run_undo(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = body["user"]["id"]
        source = request_id_of(body)
        ctx = services.context(user, body.get("channel", {}).get("id"))
        text = f"undo {source}"
        result = dispatch(text, ctx)
        if isinstance(result, RequestResult):
            handle_result(services, client, respond, result, ctx.channel_id)
        else:  # refused (not executed, changed since, window over) or not allowed
            respond(replace_original=False, **reply_payload(services, user, text, result))

    acked(app, services, "action", ids.UNDO, work=run_undo, busy=busy_reply)
