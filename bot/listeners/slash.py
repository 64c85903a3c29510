"""The ``/ddb`` slash command: ack at once, run the command, answer via response_url.

The text is normalised once, here (``bot.listeners.inbound``): Slack escapes ``& < >`` and
formats mentions and links in it. The normalised text is what runs and what a stored view
re-runs for "Next page" / "Show JSON".
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.listeners.acked import acked
from bot.listeners.inbound import command_text
from bot.listeners.reply import busy_reply, reply_payload
from bot.listeners.requests import handle_result
from bot.services import Services
from commands import dispatch
from commands.results import RequestResult

COMMAND = "/ddb"


def register(app: App, services: Services) -> None:
    def run(command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        text = command_text(command.get("text") or "")
        user = command["user_id"]
        channel = command.get("channel_id")
        result = dispatch(text, services.context(user, channel))
        if isinstance(result, RequestResult):
            handle_result(services, client, respond, result, channel)
        else:
            respond(**reply_payload(services, user, text, result))

    acked(app, services, "command", COMMAND, work=run, busy=busy_reply)
