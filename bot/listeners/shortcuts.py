"""The two shortcuts: "Look up in DynamoDB" (message) and "Request a DynamoDB change" (global).

Both ack at once. The lookup resolves the identifiers (``commands.lookup``) in the
message's text, blocks and attachments as a person reads them (``inbound.message_text``
decodes Slack's escaping, unwraps its markup and keeps a link's label beside its target;
``lookup.extract`` reads the ids in a URL's path; mentions are never ids) and answers in the
message's thread, or ephemerally (``DDB_BOT_LOOKUP_REPLY``); the change shortcut opens
the change modal (``bot.listeners.views``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.acked import acked
from bot.listeners.inbound import message_text
from bot.listeners.reply import busy_reply
from bot.listeners.views import open_change_modal
from bot.render import ids
from bot.render.blocks import render_message
from bot.render.lookup import render_lookup
from bot.services import Services
from commands.lookup import Lookup, run

log = logging.getLogger(__name__)


def _reply(services: Services, client: WebClient, respond: Respond, body: dict[str, Any],
           result: Lookup, user: str) -> None:
    views = [services.pages.save(user, m.command) if m.command else None for m in result.matches]
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id")
    thread_ts = message.get("thread_ts") or message.get("ts")
    if services.settings.ddb_bot_lookup_reply == "thread" and channel and thread_ts:
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                    unfurl_media=False,
                                    **render_lookup(result, views, mask_pii=True))
            return
        except SlackApiError as exc:  # e.g. a DM or private channel the bot is not in
            log.info("lookup thread reply in %s failed (%s); answering ephemerally",
                     channel, exc.response.get("error"))
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False,
                **render_lookup(result, views, mask_pii=False))


def register(app: App, services: Services) -> None:
    def run_lookup(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = (body.get("user") or {}).get("id")
        if not user:
            return
        channel = (body.get("channel") or {}).get("id")
        result = run(services.context(user, channel), message_text(body.get("message") or {}))
        if isinstance(result, Lookup):
            _reply(services, client, respond, body, result, user)
        elif body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, **render_message(result))

    def open_change(body: dict[str, Any], client: WebClient) -> None:
        open_change_modal(services, client, body.get("trigger_id"), body["user"]["id"])

    # the reads and the reply run after the ack; the modal at once (its trigger_id: 3 s)
    acked(app, services, "message_shortcut", ids.LOOKUP_SHORTCUT, work=run_lookup,
          busy=busy_reply)
    acked(app, services, "global_shortcut", ids.CHANGE_SHORTCUT, work=open_change, prompt=True)
