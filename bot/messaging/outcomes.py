"""Decision DMs without spam: the requester hears once per final outcome, never per approval.

Every path that may see a request reach its end (a button, a typed command, the reject
modal, the expiry sweep, a late click) calls ``notify_outcome``; the state table's
conditional ``notified`` claim (``dynamo.requests.notices``) lets exactly one of them send.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.outcomes import render_outcome_dm
from bot.services import Services
from commands.results import RequestResult
from dynamo.requests import WriteRequest, notices

log = logging.getLogger(__name__)


def notify_outcome(services: Services, client: WebClient, req: WriteRequest) -> bool:
    """DM the requester the request's final outcome, if no one has yet; True if this call did."""
    if not notices.claim(services.client, services.settings.state_table, req.id, req.status.value):
        return False
    try:
        client.chat_postMessage(channel=req.requester, unfurl_links=False, unfurl_media=False,
                                **render_outcome_dm(RequestResult.of(req, event="decided")))
    except SlackApiError as exc:
        log.warning("could not DM %s the outcome of %s: %s", req.requester, req.id,
                    exc.response.get("error"))
    return True
