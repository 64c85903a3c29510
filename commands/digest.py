"""``/ddb digest``: the failed-executions digest now, and one group's failed executions.

The scheduled digest and ``python -m bot digest`` build the same ``DigestResult`` through
``make_result``; a digest group's "Show executions" button runs this command's
``--helper`` form, so the listing pages like any other read.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from commands.break_glass import ReviewItem, review_items
from commands.parse import check_limit, parse_duration, parse_options
from commands.ports import CommandSettings, WriteRequests
from commands.registry import CommandError, Context, command
from commands.results import ItemsResult, Result
from dynamo import digest as dg
from dynamo import digest_reads as reads
from dynamo.redact import mask_text
from dynamo.schedule import Window, iso, parse_iso, since_last_run

DIGEST_USAGE = ("/ddb digest [--since 24h] [--top N]\n"
                "/ddb digest --helper <helper_id> --from <ISO time> --to <ISO time>")
DEFAULT_STATUSES = ("failed", "error", "timeout")
DEFAULT_CRON, DEFAULT_TZ = "0 9 * * *", "UTC"
TOP_MAX = 25
LIST_DEFAULT, LIST_MAX = 25, 100
VALUE_MAX = 1900


class DigestResult(Result):
    """A digest: totals, groups (top ones named), sparkline buckets, and what it read."""

    kind: Literal["digest"] = "digest"
    digest: dg.Digest
    top: int = dg.DEFAULT_TOP
    how: str = ""  # how the window was chosen, for the reader
    # executed break-glass changes nobody has reviewed yet (commands.break_glass)
    reviews: list[ReviewItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mask(self) -> DigestResult:
        # built from masked data already; masked again so no path can skip it
        for g in self.digest.groups:
            for s in g.signatures:
                s.text = mask_text(s.text)
            g.helper_name = mask_text(g.helper_name) if g.helper_name else g.helper_name
            g.account_name = mask_text(g.account_name) if g.account_name else g.account_name
        return self


def failed_statuses(settings: CommandSettings | None) -> list[str]:
    """The execution statuses that count as failed (DDB_BOT_FAILED_STATUSES)."""
    return list((settings.ddb_bot_failed_statuses if settings else None) or DEFAULT_STATUSES)


def make_result(store: Any, window: Window, statuses: Iterable[str], *, top: int = dg.DEFAULT_TOP,
                previous: Mapping[str, Any] | None = None, force: reads.Strategy | None = None,
                how: str = "", requests: WriteRequests | None = None) -> DigestResult:
    """The digest of ``window``; with ``requests``, also the break-glass changes that wait
    for a review (listed until reviewed, whatever the window)."""
    digest = dg.build(store, window, statuses, top=top, previous=previous, force=force)
    return DigestResult(title="Failed executions", digest=digest, top=top, how=how,
                        reviews=review_items(requests))


# -- the "Show executions" button ----------------------------------------------------------
def show_value(helper_id: str, start: str, end: str) -> str | None:
    """The button value naming one group's window; None if it would not fit a button."""
    value = json.dumps({"h": helper_id, "f": start, "t": end}, separators=(",", ":"))
    return value if len(value) <= VALUE_MAX else None


def show_command(value: str) -> str | None:
    """The ``/ddb digest --helper ...`` text a button value stands for (None if malformed)."""
    try:
        data = json.loads(value)
        helper, start, end = data["h"], data["f"], data["t"]
    except (ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(x, str) and x for x in (helper, start, end)):
        return None
    return (f"digest --helper {shlex.quote(helper)} --from {shlex.quote(start)} "
            f"--to {shlex.quote(end)}")


# -- the command ------------------------------------------------------------------------------
def _time(text: str, flag: str) -> Any:
    try:
        return parse_iso(text)
    except ValueError:
        raise CommandError(f"{flag} `{text}` is not an ISO-8601 time like 2024-05-01T09:00:00Z",
                           DIGEST_USAGE) from None


def _group_executions(opts: Any, ctx: Context) -> Result:
    helper = opts.get("--helper").strip()
    if not helper:
        raise CommandError("--helper needs a helper id", DIGEST_USAGE)
    if not opts.get("--from") or not opts.get("--to"):
        raise CommandError("--helper needs --from and --to (the digest window)", DIGEST_USAGE)
    lo, hi = _time(opts.get("--from"), "--from"), _time(opts.get("--to"), "--to")
    if hi <= lo:
        raise CommandError("--to must be after --from", DIGEST_USAGE)
    limit = check_limit(opts.get("--limit"), LIST_DEFAULT, LIST_MAX, DIGEST_USAGE)
    statuses = failed_statuses(ctx.settings)
    page = reads.failed_of_helper(ctx.store, helper, lo, hi, statuses, limit=limit,
                                  start_key=ctx.start_key)
    notes = [] if page.items or page.last_key else \
        [f"no {'/'.join(statuses)} executions of helper `{helper}` in that window"]
    if page.capped:
        notes.append(f"Stopped after reading {page.scanned} items; Next page reads on.")
    return ItemsResult(title=f"Failed executions of {helper}, {iso(lo)} → {iso(hi)}",
                       table="executions", index="HelperIdCreatedAtIndex", items=page.items,
                       next_key=page.last_key, scanned=page.scanned, consumed=page.consumed,
                       notes=notes)


@command("digest", DIGEST_USAGE, group="admin",
         examples=("/ddb digest", "/ddb digest --since 24h", "/ddb digest --since 7d --top 5"))
def digest_cmd(args: list[str], ctx: Context) -> Result:
    """The failed-executions digest, now, only you see it (since the last scheduled one).

    Failed / total, failure rate, groups by helper with the trend against the window of
    equal length before, error signatures and an hourly sparkline. `--since 24h` picks the
    window; the scheduled digest posts to DDB_BOT_DIGEST_CHANNEL on DDB_BOT_DIGEST_CRON.
    """
    opts = parse_options(args, {"--since": str, "--top": int, "--helper": str, "--from": str,
                                "--to": str, "--limit": int}, DIGEST_USAGE)
    if opts.positional:
        raise CommandError(f"unexpected `{' '.join(opts.positional)}`", DIGEST_USAGE)
    if opts.get("--helper") is not None:
        return _group_executions(opts, ctx)
    top = opts.get("--top", dg.DEFAULT_TOP)
    if not 1 <= top <= TOP_MAX:
        raise CommandError(f"--top must be between 1 and {TOP_MAX}, not {top}", DIGEST_USAGE)
    if opts.get("--since"):
        window = Window(ctx.now - parse_duration(opts.get("--since"), DIGEST_USAGE), ctx.now)
        how = f"the last {opts.get('--since')}"
    else:
        s = ctx.settings
        window = since_last_run(s.ddb_bot_digest_cron if s else DEFAULT_CRON,
                                s.ddb_bot_digest_tz if s else DEFAULT_TZ, ctx.now)
        how = "since the last scheduled digest (`--since 24h` for another window)"
    return make_result(ctx.store, window, failed_statuses(ctx.settings), top=top, how=how,
                       requests=ctx.services.requests if ctx.services else None)
