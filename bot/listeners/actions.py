"""Buttons on read results: "Next page" and "Show JSON"."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.listeners.acked import acked
from bot.listeners.reply import busy_reply, reply_payload
from bot.render import ids
from bot.render.blocks import render_json
from bot.services import Services
from commands import dispatch

EXPIRED = "This result has expired (results are kept a day). Run the command again."


def _view(services: Services, body: dict[str, Any], respond: Respond) -> Any:
    value = (body.get("actions") or [{}])[0].get("value", "")
    view = services.pages.load(value)
    user = body.get("user", {}).get("id")
    if view is None:
        respond(response_type="ephemeral", replace_original=False, text=EXPIRED)
        return None
    if view.user_id != user:
        respond(response_type="ephemeral", replace_original=False,
                text="Only the person who ran this command can page through it.")
        return None
    return view


def register(app: App, services: Services) -> None:
    def run_next_page(body: dict[str, Any], respond: Respond) -> None:
        view = _view(services, body, respond)
        if view is None:
            return
        ctx = services.context(view.user_id, body.get("channel", {}).get("id"),
                               start_key=view.next_key)
        result = dispatch(view.text, ctx)
        respond(replace_original=True,
                **reply_payload(services, view.user_id, view.text, result, view.next_key))

    def run_show_json(body: dict[str, Any], respond: Respond) -> None:
        view = _view(services, body, respond)
        if view is None:
            return
        ctx = services.context(view.user_id, body.get("channel", {}).get("id"),
                               start_key=view.start_key)
        result = dispatch(view.text, ctx)
        respond(response_type="ephemeral", replace_original=False, **render_json(result))

    acked(app, services, "action", ids.NEXT_PAGE, work=run_next_page, busy=busy_reply)
    acked(app, services, "action", ids.SHOW_JSON, work=run_show_json, busy=busy_reply)
