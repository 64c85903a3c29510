"""Digest windows from the cron schedule: which window is due, and where it starts.

Every replica must agree on a window without talking to the others, so a window's end is
the *scheduled* fire time (the latest one at or before now), never the moment a job
happened to run; a late or duplicated run therefore lands on the same window (and lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# How far back to look for fire times; a cron that fires less than yearly is not a digest.
_LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=8), timedelta(days=32),
              timedelta(days=367))


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end) in UTC; the trend compares it with the one before."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a window must end after it starts")

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous(self) -> Window:
        """The window of equal length just before this one (for the trend)."""
        return Window(self.start - self.length, self.start)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_days(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3's terms.

    APScheduler 3 counts weekdays from Monday = 0 (its documented "historical mistake");
    crontab counts from Sunday = 0 (and 7). So ``1-5`` would fire Tuesday to Saturday.
    The field is expanded to the days it means and handed over by name.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            lo, hi = 0, 6
        else:
            ends = [_DAYS.index(x[:3]) if x[:3] in _DAYS else int(x) for x in base.split("-")]
            if len(ends) > 2 or not all(0 <= e <= 7 for e in ends):
                raise ValueError(f"bad day of week `{part}`")
            lo, hi = ends[0], ends[-1]
            if step_text and len(ends) == 1:  # "5/2": from 5 to the end of the week
                hi = 7
        if step < 1 or hi < lo:
            raise ValueError(f"bad day of week `{part}`")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def trigger(cron: str, tz: str) -> CronTrigger:
    """The crontab expression as a trigger, weekdays counted as crontab counts them."""
    fields = cron.split()
    if len(fields) == 5:
        fields[4] = _crontab_days(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(tz))


def _fires(trig: CronTrigger, after: datetime, until: datetime) -> list[datetime]:
    """Fire times t with after <= t <= until, in order."""
    out: list[datetime] = []
    prev = None
    now = after
    while True:
        t = trig.get_next_fire_time(prev, now)
        if t is None or t > until:
            return out
        out.append(t)
        prev, now = t, t + timedelta(microseconds=1)


def latest_fire(trig: CronTrigger, at: datetime, *, before: bool = False) -> datetime | None:
    """The latest fire time at or before ``at`` (strictly before when ``before``), in UTC."""
    limit = at - timedelta(microseconds=1) if before else at
    for back in _LOOKBACKS:
        fires = _fires(trig, limit - back, limit)
        if fires:
            return fires[-1].astimezone(UTC)
    return None


def due_window(cron: str, tz: str, now: datetime) -> Window | None:
    """The window the schedule posts at its latest fire: [previous fire, latest fire)."""
    trig = trigger(cron, tz)
    end = latest_fire(trig, now)
    if end is None:
        return None
    start = latest_fire(trig, end, before=True) or end - timedelta(days=1)
    return Window(start, end)


def since_last_run(cron: str, tz: str, now: datetime) -> Window:
    """What is not yet in a scheduled digest: [latest fire, now) (a day if none)."""
    start = latest_fire(trigger(cron, tz), now)
    if start is None or start >= now:
        start = latest_fire(trigger(cron, tz), now, before=True) or now - timedelta(days=1)
    return Window(start, now)


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a Z, to the second: the platform's created_at format."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 timestamp (Z or offset; naive means UTC) as an aware UTC datetime."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
