"""``/ddb undo <request id>``: ask for the reverse of an executed change.

The undo is a new write request (``dynamo.requests.undo`` builds it) that goes through
approval like any other, under the policy of the kind it performs; the **Undo** button on
an executed request's message dispatches this very command as the person who clicked.
"""

from __future__ import annotations

from commands.registry import CommandError, Context, command
from commands.results import Result
from commands.writes import requests_of, submit

UNDO_USAGE = "/ddb undo <request id>"


@command("undo", UNDO_USAGE, group="write", examples=("/ddb undo R1130101500ABCDE",))
def undo_cmd(args: list[str], ctx: Context) -> Result:
    """Request the reverse of an executed update, delete or put (approved like any write).

    The new request restores the item as it was before the change (a delete's whole item,
    its secret attributes included) within DDB_BOT_UNDO_DAYS, and only if the item is still
    exactly what the change left. It needs approval under the policy of the kind it
    performs (undoing a delete is a put). Index changes are not undone.
    """
    if len(args) != 1:
        raise CommandError("give one request id", UNDO_USAGE)
    return submit(ctx, lambda: requests_of(ctx).plan_undo(
        args[0], ctx.user_id, text=ctx.text, channel=ctx.channel_id), UNDO_USAGE)
