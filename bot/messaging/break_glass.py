"""Post an executed break-glass change loudly, and keep that message current.

The post goes where requests go (``DDB_BOT_APPROVAL_CHANNEL``, else the channel it was run
in) and mentions who may review it: the request's policy approvers, else
``DDB_BOT_APPROVERS`` (users and groups), else ``<!here>`` — with neither set, anyone
in the channel other than the executor may review.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.break_glass import render_break_glass, render_break_glass_ack
from bot.services import Services
from commands.results import RequestResult

log = logging.getLogger(__name__)


def reviewers(services: Services, r: RequestResult) -> list[str]:
    """The user / group ids asked to review ``r`` (empty: everyone in the channel)."""
    return list(r.approvers or services.settings.ddb_bot_approvers)


def break_glass_message(services: Services, r: RequestResult) -> dict[str, Any]:
    return render_break_glass(r, reviewers(services, r))


def post_break_glass(services: Services, client: WebClient, result: RequestResult,
                     asked_in: str | None) -> dict[str, Any]:
    """Post an executed break-glass change; returns the executor's ephemeral answer."""
    if result.status != "EXECUTED":
        return render_break_glass_ack(result, None)  # stale: nothing ran, nothing to announce
    channel = services.settings.ddb_bot_approval_channel or asked_in
    if not channel or channel == "CONSOLE":
        return render_break_glass_ack(result, None)
    try:
        resp = client.chat_postMessage(channel=channel, **break_glass_message(services, result))
    except SlackApiError as exc:
        log.warning("posting break-glass %s to %s failed: %s", result.id, channel,
                    exc.response.get("error"))
        return {"text": f":rotating_light: Break-glass change {result.id} ran without approval "
                        f"and needs a review, but posting it in <#{channel}> failed "
                        f"({exc.response.get('error')}); tell the approvers yourself "
                        "(`/ddb pending` lists it)."}
    services.requests.set_message(result.id, resp["channel"], resp["ts"])
    return render_break_glass_ack(result, resp["channel"])


def review_homes(services: Services, result: RequestResult) -> list[str]:
    """The user ids (not groups) named as its reviewers: their homes list it."""
    return [u for u in reviewers(services, result) if u[:1] in ("U", "W")][:20]
