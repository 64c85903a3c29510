"""What a person's App Home shows: their approvals to give, their open requests,
recent activity, and the stage's tables. Plain data (no Slack types).

Table status costs ten DescribeTable calls, so it is cached for a minute per store:
homes are refreshed on every request change, and describing ten tables each time
would be the expensive part of a cheap page.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from commands.break_glass import LISTED, reviewable_by
from commands.registry import Context
from commands.results import RequestResult
from dynamo.audit import AuditRecord
from dynamo.schema import TABLES
from dynamo.store import Store, StoreError

log = logging.getLogger(__name__)
SHOWN = 8  # requests listed per section; the rest are counted
ACTIVITY = 10
STATUS_CACHE_SECONDS = 60


@dataclass(frozen=True)
class TableStatus:
    short: str
    full: str
    status: str
    items: int | None = None
    indexes: int = 0


@dataclass
class HomeData:
    user: str
    stage: str
    region: str
    can_read: bool = True
    can_approve: bool = True
    approval_channel: str | None = None
    to_approve: list[RequestResult] = field(default_factory=list)
    to_approve_total: int = 0
    # executed break-glass changes this person may review (commands.break_glass)
    to_review: list[RequestResult] = field(default_factory=list)
    to_review_total: int = 0
    mine: list[RequestResult] = field(default_factory=list)
    mine_total: int = 0
    # this person's own break-glass changes nobody has reviewed yet (they may not review them)
    mine_unreviewed: list[RequestResult] = field(default_factory=list)
    activity: list[AuditRecord] = field(default_factory=list)
    tables: list[TableStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_status_cache: weakref.WeakKeyDictionary[Store, tuple[float, list[TableStatus]]] = (
    weakref.WeakKeyDictionary())
_status_lock = threading.Lock()


def table_status(store: Store) -> list[TableStatus]:
    """Status and approximate item count of each of the ten tables (cached a minute)."""
    with _status_lock:
        cached = _status_cache.get(store)
        if cached and time.monotonic() - cached[0] < STATUS_CACHE_SECONDS:
            return cached[1]
    out = []
    for table in TABLES:
        full = table.full_name(store.stage)
        try:
            desc = store.describe_table(full)["Table"]
        except StoreError as exc:
            status = "MISSING" if exc.code == "ResourceNotFoundException" else "ERROR"
            out.append(TableStatus(table.short, full, status))
            continue
        out.append(TableStatus(table.short, full, str(desc.get("TableStatus", "?")),
                               int(desc.get("ItemCount", 0)),
                               len(desc.get("GlobalSecondaryIndexes", []))))
    with _status_lock:
        _status_cache[store] = (time.monotonic(), out)
    return out


def home_data(ctx: Context) -> HomeData:
    """Everything ``ctx.user_id``'s home shows, read with a few cheap queries."""
    services = ctx.services
    access = ctx.access
    settings = ctx.settings
    data = HomeData(user=ctx.user_id, stage=ctx.stage, region=ctx.region,
                    approval_channel=settings.ddb_bot_approval_channel if settings else None)
    if access is not None:
        # readers see the home; so do named approvers (they decide from it)
        named_approver = bool(settings and settings.ddb_bot_approvers) \
            and access.is_approver(ctx.user_id)
        data.can_read = access.is_reader(ctx.user_id) or named_approver
        data.can_approve = access.may_approve_some(ctx.user_id)
    if not data.can_read:
        return data
    requests = services.requests if services is not None else None
    if requests is not None:
        now = ctx.now.timestamp()
        try:
            pending = [r for r in requests.list(statuses=["PENDING"], limit=100)
                       if r.expires_at > now]
            # those this person may still approve: per the request's policy rule, not yet by them
            others = [r for r in pending if not r.asked_by(ctx.user_id)
                      and ctx.user_id not in r.approvals
                      and requests.may_decide(r, ctx.user_id, access.is_approver)] \
                if data.can_approve and access is not None else []
            mine = [r for r in pending if r.requester == ctx.user_id]
            data.to_approve = [RequestResult.of(r) for r in others[:SHOWN]]
            data.to_approve_total = len(others)
            data.mine = [RequestResult.of(r) for r in mine[:SHOWN]]
            data.mine_total = len(mine)
            unreviewed = requests.needs_review(LISTED)  # one query for both lists below
            review = reviewable_by(requests, ctx.user_id, access.is_approver,
                                   unreviewed=unreviewed) \
                if data.can_approve and access is not None else []
            data.to_review = [RequestResult.of(r) for r in review[:SHOWN]]
            data.to_review_total = len(review)
            data.mine_unreviewed = [RequestResult.of(r) for r in unreviewed
                                    if r.decided_by == ctx.user_id][:SHOWN]
            data.activity = requests.audit.recent(ACTIVITY)
        except (StoreError, ClientError, BotoCoreError) as exc:
            log.warning("home of %s: requests unavailable: %s", ctx.user_id, exc)
            data.problems.append(f"Write requests could not be read: {exc}")
    data.tables = table_status(ctx.store)
    return data
