"""Break-glass in Slack: the executor's answer and loud post, and the **Review** button.

The button dispatches the same ``review`` command the console uses, so a click and a typed
``/ddb review`` take one path through the state machine.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.listeners.acked import acked
from bot.listeners.home import refresh_homes
from bot.listeners.reply import busy_reply, request_id_of
from bot.messaging.break_glass import post_break_glass, review_homes
from bot.messaging.requests import sync_message
from bot.render import ids
from bot.render.break_glass import render_reviewed
from bot.render.requests import render_refusal
from bot.services import Services
from commands import dispatch
from commands.results import RequestResult


def handle_break_glass(services: Services, client: WebClient, respond: Respond,
                       result: RequestResult, channel: str | None) -> None:
    """A break-glass change that ran (post it loudly) or its review (update it in place)."""
    if result.event == "break-glass":
        respond(response_type="ephemeral", **post_break_glass(services, client, result, channel))
        refresh_homes(services, client, result.decided_by, *review_homes(services, result))
        return
    sync_message(services, client, result.id)  # "reviewed by @X", Review button gone
    respond(response_type="ephemeral", replace_original=False, **render_reviewed(result))
    refresh_homes(services, client, result.reviewed_by, result.decided_by,
                  *review_homes(services, result))


def register(app: App, services: Services) -> None:
    def run_review(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = body["user"]["id"]
        request_id = request_id_of(body)
        ctx = services.context(user, body.get("channel", {}).get("id"))
        result = dispatch(f"review {request_id}", ctx)
        if not isinstance(result, RequestResult):
            respond(response_type="ephemeral", replace_original=False,
                    text=getattr(result, "message", "refused"))
        elif result.event == "refused":
            respond(response_type="ephemeral", replace_original=False, **render_refusal(result))
            if services.requests.get(result.id) is not None:  # e.g. reviewed meanwhile
                sync_message(services, client, result.id)
        else:
            handle_break_glass(services, client, respond, result, ctx.channel_id)

    acked(app, services, "action", ids.REVIEW, work=run_review, busy=busy_reply)
