"""APScheduler wiring: the request-expiry sweep and the failed-executions digest.

Jobs use the Web API client directly (there is no request context). ``coalesce`` folds
missed runs into one, ``max_instances=1`` keeps a slow run from overlapping the next,
and ``misfire_grace_time`` lets a run that was late by a little still happen.

The digest is posted once per window however many replicas run: each run takes the
window's lock in the state table first (``dynamo.locks``), and a run that took it but
never posted (crash, Slack or DynamoDB failure) is retried once its lease runs out.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot import metrics
from bot.config import Settings
from bot.services import Services
from dynamo.locks import POSTED, WindowLocks
from dynamo.schedule import Window, iso, latest_fire, parse_iso, trigger

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60
# A digest run must finish (read, post, mark) within its lease, or another tick may redo it.
DIGEST_LEASE_SECONDS = 900
DIGEST_RETRY_SECONDS = 300
# A run up to this late still posts its window; a later one rolls into the next window.
DIGEST_GRACE = timedelta(hours=6)
DIGEST_MAX_WINDOW = timedelta(days=7)


def sweep_expired(services: Services, client: Any) -> int:
    """Expire overdue requests and update their messages; returns how many expired."""
    from bot.messaging.requests import sync_message

    expired = services.requests.expire_due()
    for req in expired:
        sync_message(services, client, req.id)
    if expired:
        log.info("expired %d write request(s): %s", len(expired), ", ".join(r.id for r in expired))
    return len(expired)


# -- digest ------------------------------------------------------------------------------
def _locks(services: Services, now: datetime | None) -> WindowLocks:
    clock = (lambda: now.timestamp()) if now else None
    kw: dict[str, Any] = {"clock": clock} if clock else {}
    return WindowLocks(services.store, services.settings.state_table,
                       lease_seconds=DIGEST_LEASE_SECONDS, **kw)


def due_window(services: Services, locks: WindowLocks, now: datetime) -> Window | None:
    """The window ending at the latest scheduled fire, starting where the last one ended.

    Missed runs coalesce: after a gap the window reaches back to the last locked window
    (at most a week), so every failure is in exactly one digest.
    """
    s = services.settings
    trig = trigger(s.ddb_bot_digest_cron, s.ddb_bot_digest_tz)
    end = latest_fire(trig, now)
    if end is None:
        return None
    last = locks.latest_end(iso(end))
    start = parse_iso(last) if last else (latest_fire(trig, end, before=True)
                                          or end - timedelta(days=1))
    return Window(max(start, end - DIGEST_MAX_WINDOW), end)


def post_window(services: Services, client: Any, locks: WindowLocks, channel: str,
                window: Window) -> str:
    """Post one window's digest if this run wins its lock; returns what happened."""
    from bot.render.digest import render_digest
    from commands.digest import failed_statuses, make_result

    name = f"{iso(window.start)} → {iso(window.end)}"
    lock = locks.acquire(iso(window.start), iso(window.end))
    if lock is None:
        return f"{name}: posted or in progress elsewhere"
    try:
        before = locks.get(iso(window.start))
        previous = before.summary if before and before.state == POSTED else None
        result = make_result(services.store, window, failed_statuses(services.settings),
                             previous=previous, how="since the previous digest",
                             requests=services.requests)
        resp = client.chat_postMessage(channel=channel, **render_digest(result))
    except Exception as exc:  # logged, and the window is retried on the next tick
        log.exception("digest %s failed (attempt %d); will retry", name, lock.attempt)
        locks.release(lock, f"{type(exc).__name__}: {exc}")
        return f"{name}: failed ({type(exc).__name__}), will retry"
    if not locks.mark_posted(lock, resp["channel"], resp["ts"], result.digest.summary()):
        log.error("digest %s was posted (ts %s) after its lease ran out; another run may "
                  "post it again", name, resp["ts"])
    log.info("digest %s posted to %s (ts %s, attempt %d)", name, channel, resp["ts"],
             lock.attempt)
    return f"{name}: posted"


def digest_tick(services: Services, client: Any, *, now: datetime | None = None,
                due: bool = True, max_late: timedelta | None = None,
                channel: str | None = None) -> list[str]:
    """One run: retry windows whose run died without posting, then post the due window."""
    channel = channel or services.settings.ddb_bot_digest_channel
    if not channel:
        return ["no DDB_BOT_DIGEST_CHANNEL: nothing posted"]
    at = now or datetime.now(UTC)
    locks = _locks(services, now)
    outcomes, tried = [], set()
    for rec in locks.stale(iso(at - DIGEST_MAX_WINDOW)):
        window = Window(parse_iso(rec.start), parse_iso(rec.end))
        tried.add(rec.end)
        outcomes.append(post_window(services, client, locks, channel, window))
    window = due_window(services, locks, at) if due else None
    if window and iso(window.end) not in tried:
        if max_late is not None and at - window.end > max_late:
            outcomes.append(f"{iso(window.end)}: more than {max_late} ago; next run covers it")
        else:
            outcomes.append(post_window(services, client, locks, channel, window))
    metrics.digest_run(outcomes)  # ddb_bot_digest_runs_total{outcome}, _posts_total
    return outcomes


def add_digest_jobs(scheduler: BackgroundScheduler, services: Services, client: Any) -> None:
    s = services.settings
    scheduler.add_job(
        digest_tick, trigger(s.ddb_bot_digest_cron, s.ddb_bot_digest_tz), args=(services, client),
        id="digest", name="failed-executions digest",
        # several missed fires (suspended host, long pause) are one run: its window reaches
        # back to the last posted one anyway, so one digest covers the gap
        coalesce=True,
        # a slow digest never overlaps the next in this process; other replicas are held
        # off by the window lock, not by this
        max_instances=1,
        # late by up to DIGEST_GRACE (busy or restarting process) still posts that morning;
        # later than that the next tick's window includes it
        misfire_grace_time=int(DIGEST_GRACE.total_seconds()))
    scheduler.add_job(
        digest_tick, "interval", seconds=DIGEST_RETRY_SECONDS, args=(services, client),
        kwargs={"due": False}, id="digest-retry", name="retry digests that died unposted",
        coalesce=True, max_instances=1, misfire_grace_time=DIGEST_RETRY_SECONDS)
    # a process (re)started shortly after the fire time posts the window it missed; the
    # lock makes this a no-op when another replica already did
    scheduler.add_job(
        digest_tick, "date", run_date=datetime.now(UTC), args=(services, client),
        kwargs={"max_late": DIGEST_GRACE}, id="digest-catch-up", name="digest catch-up",
        misfire_grace_time=60)


def start_scheduler(services: Services, client: Any) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(sweep_expired, "interval", seconds=SWEEP_SECONDS, args=(services, client),
                      id="expire-requests", name="expire write requests")
    if services.settings.ddb_bot_digest_channel:
        add_digest_jobs(scheduler, services, client)
    scheduler.start()
    return scheduler


# -- python -m bot digest ----------------------------------------------------------------
def digest_command(settings: Settings, since: str | None, dry_run: bool, channel: str | None,
                   plan: str = "auto") -> int:
    """Build the digest against the configured DynamoDB; print it (dry run) or post it.

    Without ``--since`` it is the scheduled window, posted under its lock exactly as a
    scheduled tick would (so it can also run from an external cron job).
    """
    from bot.render.digest import digest_lines, render_digest
    from commands.digest import failed_statuses, make_result
    from commands.parse import parse_duration
    from commands.registry import CommandError
    from dynamo.store import StoreError

    services = Services.build(settings)
    now = datetime.now(UTC)
    force: Any = None if plan == "auto" else plan
    channel = channel or settings.ddb_bot_digest_channel
    if not dry_run and (not channel or settings.slack_bot_token is None):
        print("ddb-bot digest: posting needs --channel (or DDB_BOT_DIGEST_CHANNEL) and "
              "SLACK_BOT_TOKEN; use --dry-run to only print it", file=sys.stderr)
        return 2
    try:
        locks = _locks(services, None)
        if since:
            window = Window(now - parse_duration(since, "--since 24h"), now)
            how, previous = f"the last {since}", None
        else:
            found = due_window(services, locks, now)
            if found is None:
                print("ddb-bot digest: DDB_BOT_DIGEST_CRON never fired in the last year",
                      file=sys.stderr)
                return 2
            window, how = found, "the scheduled window"
            before = locks.get(iso(window.start))
            previous = before.summary if before and before.state == POSTED else None
        if dry_run or since:
            result = make_result(services.store, window, failed_statuses(settings),
                                 previous=previous, force=force, how=how,
                                 requests=services.requests)
    except CommandError as exc:
        print(f"ddb-bot digest: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"ddb-bot digest: {exc}", file=sys.stderr)
        return 1
    if dry_run:
        print("\n".join(digest_lines(result)))
        print("")
        print(plan_report(result.digest))
        return 0
    from bot.messaging.client import web_client

    client = web_client(services)
    if since:
        resp = client.chat_postMessage(channel=channel, **render_digest(result))
        print(f"posted the digest of {how} to {resp['channel']} (ts {resp['ts']})")
        return 0
    outcomes = digest_tick(services, client, now=None, channel=channel)
    print("\n".join(outcomes))
    return 1 if any("failed" in o for o in outcomes) else 0


def plan_report(digest: Any) -> str:
    """The planner's decision and what was read, for ``--dry-run`` and the benchmark."""
    s = digest.stats
    p = s.plan
    lines = []
    if p is not None:
        lines.append(f"planner: {p.strategy} — {p.reason}")
        lines.append(f"  table ItemCount {p.table_items:,}, accounts {p.accounts:,}; estimated "
                     f"items: queries ~{p.est_query_items:,}, scan {p.est_scan_items:,}")
    lines.append(f"read: executions {s.executions_read:,} items in {s.executions_calls:,} calls "
                 f"({s.executions_rcu:g} RCU consumed)")
    lines.append(f"      account ids {s.accounts_read:,} items ({s.accounts_rcu:g} RCU), "
                 f"names {s.names_read:,} items ({s.names_rcu:g} RCU)")
    trend = ("stored summary of the previous digest" if digest.trend_source == "stored"
             else "previous window read now")
    lines.append(f"trend: {trend}; {s.seconds:.2f}s reading")
    return "\n".join(lines)
