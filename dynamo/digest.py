"""The failed-executions digest: read a window (and its trend), group, normalise, name.

Groups are per helper (and its account): how many failed, the trend against the window
of equal length before, the error signatures (messages with credentials masked and ids,
numbers, UUIDs, emails and timestamps normalised away, so one bug is one line) and when
each was last seen. Names are fetched only for the groups the digest shows.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dynamo import digest_reads as reads
from dynamo.redact import mask_text
from dynamo.schedule import Window, iso, parse_iso
from dynamo.store import Store

log = logging.getLogger(__name__)
MISSING = "?"
NO_MESSAGE = "(no error message)"
SIGNATURE_MAX = 200
SIGNATURES_KEPT = 5
SPARK_BUCKETS_MAX = 48
SUMMARY_GROUPS_MAX = 5000
DEFAULT_TOP = 10

_NORMALISE = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
     "<ts>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
     "<uuid>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "<email>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise(message: Any) -> str:
    """An error message as a signature: credentials masked, variable parts replaced."""
    if message is None or (isinstance(message, str) and not message.strip()):
        return NO_MESSAGE
    text = mask_text(message if isinstance(message, str) else str(message))
    for pattern, repl in _NORMALISE:
        text = pattern.sub(repl, text)
    text = text.strip()
    if len(text) > SIGNATURE_MAX:
        text = text[: SIGNATURE_MAX - 1] + "…"
    return mask_text(text) or NO_MESSAGE


@dataclass
class Signature:
    text: str
    count: int
    last_seen: str


@dataclass
class Group:
    """The failures of one helper (in one account) in the window."""

    helper_id: str
    account_id: str
    count: int
    last_seen: str
    signatures: list[Signature]
    previous: int | None = None
    helper_name: str | None = None
    account_name: str | None = None
    named: bool = False  # names were looked up (None name then means "unknown")

    @property
    def key(self) -> str:
        return group_key(self.account_id, self.helper_id)


@dataclass
class Digest:
    start: str
    end: str
    statuses: list[str]
    failed: int = 0
    total: int = 0
    previous_failed: int | None = None
    groups: list[Group] = field(default_factory=list)
    hourly: list[int] = field(default_factory=list)
    bucket_hours: int = 1
    skipped: int = 0  # executions without a readable created_at
    trend_source: str = "read"  # "read" (previous window read now) | "stored" | "none"
    stats: reads.ReadStats = field(default_factory=reads.ReadStats)

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def summary(self) -> dict[str, Any]:
        """What the next window's trend needs, kept with this window's lock record."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "failed": self.failed,
                               "total": self.total}
        if len(self.groups) <= SUMMARY_GROUPS_MAX:
            out["groups"] = {g.key: g.count for g in self.groups}
        return out


def group_key(account_id: str, helper_id: str) -> str:
    return f"{account_id}/{helper_id}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value else MISSING


def _when(item: Mapping[str, Any]) -> datetime | None:
    raw = item.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        return None


def aggregate(rows: Iterable[Mapping[str, Any]], window: Window, statuses: Iterable[str],
              previous: Mapping[str, Any] | None = None) -> Digest:
    """Group the failed executions of ``window``; the trend from rows of the window before,
    or from ``previous`` (a stored summary of it) when given."""
    failed_set = set(statuses)
    prev_window = window.previous
    digest = Digest(start=iso(window.start), end=iso(window.end), statuses=sorted(failed_set))
    hours = max(1, -(-int(window.length.total_seconds()) // 3600))
    digest.bucket_hours = -(-hours // SPARK_BUCKETS_MAX)
    bucket = timedelta(hours=digest.bucket_hours)
    digest.hourly = [0] * -(-hours // digest.bucket_hours)
    counts: Counter[str] = Counter()
    prev_counts: Counter[str] = Counter()
    prev_failed = 0
    last: dict[str, datetime] = {}
    owners: dict[str, tuple[str, str]] = {}
    sigs: dict[str, Counter[str]] = {}
    sig_last: dict[tuple[str, str], datetime] = {}
    for item in rows:
        when = _when(item)
        if when is None:
            digest.skipped += 1
            continue
        failed = item.get("status") in failed_set
        account, helper = _text(item.get("account_id")), _text(item.get("helper_id"))
        key = group_key(account, helper)
        if window.start <= when < window.end:
            digest.total += 1
            if not failed:
                continue
            digest.failed += 1
            counts[key] += 1
            owners[key] = (account, helper)
            if key not in last or when > last[key]:
                last[key] = when
            sig = normalise(item.get("error_message"))
            sigs.setdefault(key, Counter())[sig] += 1
            if (key, sig) not in sig_last or when > sig_last[(key, sig)]:
                sig_last[(key, sig)] = when
            n = min(int((when - window.start) / bucket), len(digest.hourly) - 1)
            digest.hourly[n] += 1
        elif failed and prev_window.start <= when < prev_window.end:
            prev_failed += 1
            prev_counts[key] += 1
    stored = (previous or {}).get("groups")
    if previous is not None and isinstance(stored, Mapping):
        digest.trend_source = "stored"
        digest.previous_failed = int(previous.get("failed", 0))
        prev_lookup: Mapping[str, Any] = stored
    else:
        digest.previous_failed = prev_failed
        prev_lookup = prev_counts
    for key, count in counts.items():
        account, helper = owners[key]
        ranked = sorted(sigs[key].items(), key=lambda kv: (-kv[1], kv[0]))[:SIGNATURES_KEPT]
        digest.groups.append(Group(
            helper_id=helper, account_id=account, count=count, last_seen=iso(last[key]),
            previous=int(prev_lookup.get(key, 0)),
            signatures=[Signature(s, c, iso(sig_last[(key, s)])) for s, c in ranked]))
    # most failures first; among equals the most recently failing first
    digest.groups.sort(key=lambda g: g.key)
    digest.groups.sort(key=lambda g: (g.count, g.last_seen), reverse=True)
    return digest


def add_names(store: Store, digest: Digest, top: int) -> None:
    """Helper and account names for the top groups only (BatchGetItem, ``name`` only)."""
    shown = digest.groups[:top]
    if not shown:
        return
    helpers = reads.names(store, "helpers", (g.helper_id for g in shown if g.helper_id != MISSING),
                          digest.stats)
    accounts = reads.names(store, "accounts",
                           (g.account_id for g in shown if g.account_id != MISSING), digest.stats)
    for g in shown:
        helper, account = helpers.get(g.helper_id), accounts.get(g.account_id)
        g.helper_name = None if helper is None else mask_text(helper)
        g.account_name = None if account is None else mask_text(account)
        g.named = True


def build(store: Store, window: Window, statuses: Iterable[str], *, top: int = DEFAULT_TOP,
          previous: Mapping[str, Any] | None = None, force: reads.Strategy | None = None) -> Digest:
    """Read, group and name the digest of ``window``.

    With ``previous`` (the stored summary of the window before, same length) only the
    window is read; otherwise one read spans both windows, for the trend.
    """
    usable = previous if _matches(previous, window) else None
    lo = window.start if usable else window.previous.start
    stats = reads.ReadStats()
    plan = reads.plan_reads(store, window.end - lo, force)
    rows = reads.read_range(store, plan, lo, window.end, stats)
    digest = aggregate(rows, window, statuses, usable)
    digest.stats = stats
    add_names(store, digest, top)
    log.info("digest %s → %s: %d failed of %d, %d groups; %s", digest.start, digest.end,
             digest.failed, digest.total, len(digest.groups), stats.line())
    return digest


def _matches(previous: Mapping[str, Any] | None, window: Window) -> bool:
    if not previous or not isinstance(previous.get("groups"), Mapping):
        return False
    prev = window.previous
    return previous.get("start") == iso(prev.start) and previous.get("end") == iso(prev.end)
