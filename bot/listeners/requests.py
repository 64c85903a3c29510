"""Write-request surfaces: posting the approval message, Approve / Reject / Re-request.

Approve and Reject dispatch the same ``approve`` / ``reject`` commands the console uses,
so a button and a typed command take one code path through the state machine.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.acked import acked
from bot.listeners.home import refresh_homes
from bot.listeners.reply import busy_dm, busy_reply, request_id_of
from bot.listeners.review import handle_break_glass
from bot.messaging.requests import post_request, sync_message
from bot.render import ids
from bot.render.blocks import render_message
from bot.render.limits import escape
from bot.render.requests import (
    REASON_ACTION,
    REASON_BLOCK,
    REJECT_MODAL,
    reject_modal,
    render_approval_recorded,
    render_refusal,
    render_request,
)
from bot.services import Services
from commands import dispatch
from commands.results import RequestResult
from commands.writes import reject_request

log = logging.getLogger(__name__)


def handle_result(services: Services, client: WebClient, respond: Respond,
                  result: RequestResult, channel: str | None) -> None:
    """Answer the person who acted, and keep the request message current."""
    if result.event == "created":
        respond(response_type="ephemeral", **post_request(services, client, result, channel))
        refresh_homes(services, client, result.requester)
        return
    if result.event in ("break-glass", "reviewed"):  # bot.listeners.review
        handle_break_glass(services, client, respond, result, channel)
        return
    if result.event == "refused":
        respond(response_type="ephemeral", replace_original=False, **render_refusal(result))
        late = services.requests.get(result.id) if result.id else None
        if late is not None and late.status.value == "EXPIRED":  # expired by this late click
            sync_message(services, client, result.id)
        return
    sync_message(services, client, result.id)
    if result.event == "approved":  # recorded; the quorum needs more
        respond(response_type="ephemeral", replace_original=False,
                **render_approval_recorded(result))
        refresh_homes(services, client, result.requester, *result.approvals)
        return
    if not result.message_ts:  # no approval message (e.g. typed command): answer directly
        respond(response_type="ephemeral", replace_original=False, **render_request(result))
    refresh_homes(services, client, result.requester, result.decided_by)


def register(app: App, services: Services) -> None:
    def run_approve(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = body["user"]["id"]
        ctx = services.context(user, body.get("channel", {}).get("id"))
        result = dispatch(f"approve {request_id_of(body)}", ctx)
        if isinstance(result, RequestResult):
            handle_result(services, client, respond, result, ctx.channel_id)
        else:
            respond(response_type="ephemeral", replace_original=False,
                    text=getattr(result, "message", "refused"))

    def open_reject(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        request_id = request_id_of(body)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=reject_modal(request_id))
        except SlackApiError as exc:
            log.warning("views.open for rejecting %s failed: %s", request_id,
                        exc.response.get("error"))
        services.after_ack(run_reject, request_id, client, respond,
                           busy=functools.partial(busy_reply, respond))

    def run_reject(request_id: str, client: WebClient, respond: Respond) -> None:
        req = services.requests.get(request_id)
        if req is None or req.status.value != "PENDING":
            sync_message(services, client, request_id)
            respond(response_type="ephemeral", replace_original=False,
                    text=f"Request {escape(request_id)} is no longer pending.")

    def run_reject_submitted(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        request_id = str(view.get("private_metadata", ""))[:40]
        values = view.get("state", {}).get("values", {})
        reason = (values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}).get("value") or "").strip()
        result = reject_request(services.context(user), request_id, reason or None)
        if result.event == "refused":
            client.chat_postEphemeral(channel=_channel_of(services, request_id), user=user,
                                      **render_refusal(result))
            return
        sync_message(services, client, request_id)
        refresh_homes(services, client, result.requester, user)

    def run_rerequest(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        user = body["user"]["id"]
        old = services.requests.get(request_id_of(body))
        if old is None or not old.text or old.break_glass:  # break-glass: run it again
            respond(response_type="ephemeral", replace_original=False,
                    text="That request cannot be repeated; run the command again.")
            return
        channel = old.channel or body.get("channel", {}).get("id")
        # the clicker asks now, and whoever asked before may still not approve it
        again = replace(services, requests=services.requests.rerequesting(old))
        result = dispatch(old.text, again.context(user, channel))
        if isinstance(result, RequestResult):
            handle_result(services, client, respond, result, channel)
        else:  # data in an error (a key) is escaped like any reply
            respond(response_type="ephemeral", replace_original=False, **render_message(result))

    acked(app, services, "action", ids.APPROVE, work=run_approve, busy=busy_reply)
    # Slack takes a trigger_id for 3 s only: the modal opens at once after the ack, never
    # behind the work queued after other acks (under load that wait outlived the trigger).
    # Whether the request is still pending is checked next, and again when the reason is
    # submitted.
    acked(app, services, "action", ids.REJECT, work=open_reject, prompt=True)
    acked(app, services, "view", REJECT_MODAL, work=run_reject_submitted, busy=busy_dm)
    acked(app, services, "action", ids.REREQUEST, work=run_rerequest, busy=busy_reply)


def _channel_of(services: Services, request_id: str) -> str:
    req = services.requests.get(request_id)
    return (req.message_channel or req.channel or "") if req else ""
