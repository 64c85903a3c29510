"""The digest's "Show executions" button: that group's failed executions, paged.

The button value names the helper and the digest's window; the click runs the same
``/ddb digest --helper ...`` command a person could type, answered only to the clicker,
so "Next page" continues it like any other list.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.listeners.acked import acked
from bot.listeners.reply import busy_reply, reply_payload
from bot.render import ids
from bot.services import Services
from commands import dispatch
from commands.digest import show_command

MALFORMED = "This button is not one ddb-bot made; run `/ddb digest` again."


def register(app: App, services: Services) -> None:
    def run(body: dict[str, Any], respond: Respond) -> None:
        value = str((body.get("actions") or [{}])[0].get("value", ""))
        text = show_command(value)
        if text is None:
            respond(response_type="ephemeral", replace_original=False, text=MALFORMED)
            return
        user = body["user"]["id"]
        result = dispatch(text, services.context(user, body.get("channel", {}).get("id")))
        respond(replace_original=False, **reply_payload(services, user, text, result))

    acked(app, services, "action", ids.SHOW_EXECUTIONS, work=run, busy=busy_reply)
