"""``/ddb review <request id>``: someone else signs off an executed break-glass change.

The Review button on the loud post dispatches this same command, so a click and a typed
review take one path through ``Requests.review`` (one conditional UpdateItem: two
reviewers at once record one review). Who may: anyone who may approve that request
(its policy approvers, else DDB_BOT_APPROVERS), never the person who ran it.
"""

from __future__ import annotations

from commands.registry import CommandError, Context, command
from commands.results import RequestResult, Result
from commands.writes import requests_of
from dynamo.requests import Refused

REVIEW_USAGE = "/ddb review <request id>"


def review_request(ctx: Context, request_id: str) -> RequestResult:
    """Review as ``ctx.user_id``: the one path for the command and the button."""
    access = ctx.access
    is_approver = access.is_approver if access is not None else (lambda _u: True)
    try:
        req = requests_of(ctx).review(request_id.strip(), ctx.user_id, is_approver)
    except Refused as exc:
        return RequestResult.refused(str(exc), request_id.strip())
    return RequestResult.of(req, event="reviewed")


@command("review", REVIEW_USAGE, group="admin", examples=("/ddb review R1130062118FX9CF",))
def review_cmd(args: list[str], ctx: Context) -> Result:
    """Review an executed break-glass change (someone other than the person who ran it).

    Break-glass changes (`--break-glass "<reason>"` on update, delete, put) run without
    approval; each stays in `/ddb pending`, the approvers' App Home and the daily digest
    until someone who may approve that change reviews it here or with its Review button.
    """
    if len(args) != 1:
        raise CommandError("give one request id", REVIEW_USAGE)
    return review_request(ctx, args[0])
