"""The change modal: opened by the shortcut or an item card's "Request change" button,
and its submission, which becomes a write request exactly like ``/ddb update``.

The submission is validated *before* the ack, because only the ack can put an error
under a field (``response_action: errors``); that costs one GetItem and the request's
own writes, well inside Slack's 3 s. A view submission has no ``response_url``, so the
requester is told by DM (``DirectMessage``), and their App Home lists the request.

Slack sends ``plain_text_input`` values as typed (no ``&amp;`` escaping, no markup), so
the form is only cleaned of pasted odd spaces and fences (``inbound.clean_paste``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pydantic import BaseModel
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.acked import NO_WORK, NoWork, acked
from bot.listeners.actions import EXPIRED
from bot.listeners.inbound import clean_paste
from bot.listeners.notify import DirectMessage
from bot.listeners.requests import handle_result
from bot.render import ids
from bot.render.limits import escape
from bot.render.modals import change_modal, read_change
from bot.services import Services
from commands import dispatch
from commands.change import key_text, submit
from commands.results import ItemsResult, RequestResult
from dynamo.requests import Kind
from dynamo.schema import BY_SHORT

log = logging.getLogger(__name__)


def open_change_modal(services: Services, client: WebClient, trigger_id: str | None,
                      user: str, *, table: str | None = None, key: str = "",
                      channel: str | None = None) -> None:
    """Open the modal (prefilled when ``table`` / ``key`` are given); a member of the
    policy's ``break_glass`` list also gets the break-glass reason field."""
    if not trigger_id:
        return
    ask = not services.settings.ddb_bot_approval_channel
    may_break_glass = services.requests.break_glass_denial(user, Kind.UPDATE) is None
    try:
        client.views_open(trigger_id=trigger_id, view=change_modal(
            table=table, key=key, channel=channel, ask_channel=ask, break_glass=may_break_glass))
    except SlackApiError as exc:  # an expired trigger (over 3 s) is the usual cause
        log.warning("views.open for the change modal failed: %s", exc.response.get("error"))


def _card_item(services: Services, user: str, channel: str | None,
               view_id: str) -> tuple[str, str] | str:
    """(table, key text) of the item a card shows, or why there is none."""
    view = services.pages.load(view_id)
    if view is None:
        return EXPIRED
    result = dispatch(view.text, services.context(user, channel, start_key=view.start_key))
    if not isinstance(result, ItemsResult) or len(result.items) != 1 or result.table is None:
        return getattr(result, "message", None) or "That result is no longer one item; run it again."
    table = BY_SHORT[result.table]
    return table.short, key_text(table, result.items[0])


class Submitted(BaseModel):
    """What the change modal's ack step hands its work: the stored request, where to post it."""

    result: RequestResult
    channel: str | None


def register(app: App, services: Services) -> None:
    def open_for_card(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        value = str((body.get("actions") or [{}])[0].get("value", ""))
        found = _card_item(services, user, channel, value)
        if isinstance(found, str):
            # mrkdwn: an error may quote data (a key), escaped like any reply
            respond(response_type="ephemeral", replace_original=False, text=escape(found))
            return
        open_change_modal(services, client, body.get("trigger_id"), user, table=found[0],
                          key=found[1], channel=channel)

    def change_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> Submitted | NoWork:
        user = body["user"]["id"]
        form, channel = read_change(view)
        form = replace(form, key=clean_paste(form.key), set=clean_paste(form.set),
                       remove=clean_paste(form.remove), break_glass=clean_paste(form.break_glass))
        channel = services.settings.ddb_bot_approval_channel or channel
        result, errors = submit(form, services.context(user, channel))
        if errors or not isinstance(result, RequestResult):
            ack(response_action="errors", errors=errors or {"set": "could not request it"})
            return NO_WORK
        ack()  # closes the modal: the request is stored; posting it waits for Slack
        return Submitted(result=result, channel=channel)

    def post_submitted(body: dict[str, Any], client: WebClient, carried: Submitted) -> None:
        handle_result(services, client, DirectMessage(client, body["user"]["id"]),
                      carried.result, carried.channel)

    # the card's read and views.open run after the 200, at once (trigger: 3 s)
    acked(app, services, "action", ids.REQUEST_CHANGE, work=open_for_card, prompt=True)
    # the submission is validated and stored before the ack (field errors); posting it runs
    # after the 200, at once (never refused: the request exists and must be posted; the work
    # queue could say "busy" with nobody to tell)
    acked(app, services, "view", ids.CHANGE_MODAL, ack=change_submitted, work=post_submitted,
          carry=Submitted, prompt=True)
