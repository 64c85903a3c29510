"""The digest's reads: a planner that picks the cheaper way to read a time range, and the reads.

Executions are keyed by id, so "everything in the last day" has two shapes: one query per
account on ``AccountIdCreatedAtIndex`` (reads only the range, but costs a call per account
and a scan of the accounts table for their ids) or a parallel scan with a filter (one pass
over the whole table). The planner prices both from DescribeTable's ItemCount of the two
tables and picks the one that reads fewer items. Either way only the attributes the digest
needs are projected, and every read is counted (items read, consumed capacity) so the
choice can be checked.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from dynamo.schedule import iso
from dynamo.store import Page, Store, StoreError, deserialize_item, serialize_item

log = logging.getLogger(__name__)

INDEX = "AccountIdCreatedAtIndex"
PROJECTION = ("execution_id", "account_id", "helper_id", "status", "error_message", "created_at")
# Executions expire through TTL; the planner assumes they span about this long. It only
# prices the query plan (a wrong guess costs at most one call per account, see choose()).
HISTORY = timedelta(days=30)
# A query costs a round trip and at least half a read unit even when it finds nothing:
# priced as this many items read.
QUERY_OVERHEAD_ITEMS = 1
QUERY_WORKERS = 8
SCAN_SEGMENT_ITEMS = 25_000
MAX_SEGMENTS = 8
BATCH_GET_MAX = 100
BATCH_GET_ATTEMPTS = 8

Strategy = Literal["query", "scan"]


@dataclass(frozen=True)
class Plan:
    """How the executions of a time range will be read, and why."""

    strategy: Strategy
    reason: str
    table_items: int
    accounts: int
    est_query_items: int
    est_scan_items: int
    segments: int = 1


@dataclass
class ReadStats:
    """What the digest read, by purpose; ``*_read`` is DynamoDB's ScannedCount."""

    plan: Plan | None = None
    executions_read: int = 0
    executions_rcu: float = 0.0
    executions_calls: int = 0
    accounts_read: int = 0
    accounts_rcu: float = 0.0
    names_read: int = 0
    names_rcu: float = 0.0
    seconds: float = 0.0

    def add(self, page: Page, what: str = "executions") -> None:
        setattr(self, f"{what}_read", getattr(self, f"{what}_read") + page.scanned)
        setattr(self, f"{what}_rcu", getattr(self, f"{what}_rcu") + page.consumed)
        if what == "executions":
            self.executions_calls += page.calls

    def line(self) -> str:
        """One log / dry-run line with every figure."""
        p = self.plan
        head = f"plan {p.strategy} ({p.reason})" if p else "plan -"
        return (f"{head}; executions read {self.executions_read:,} in {self.executions_calls:,} "
                f"calls ({self.executions_rcu:g} RCU); account ids read {self.accounts_read:,} "
                f"({self.accounts_rcu:g} RCU); names read {self.names_read:,} "
                f"({self.names_rcu:g} RCU); {self.seconds:.2f}s")


def choose(table_items: int, accounts: int, span: timedelta, *, history: timedelta = HISTORY,
           force: Strategy | None = None) -> Plan:
    """Pick queries or a scan by the items each would read.

    A scan reads every item. Queries read the items in the span (estimated as the span's
    share of ``history``), plus the accounts table for the ids, plus a call per account.
    """
    share = min(1.0, span / history) if history.total_seconds() > 0 else 1.0
    est_query = accounts + accounts * QUERY_OVERHEAD_ITEMS + math.ceil(table_items * share)
    est_scan = table_items
    segments = max(1, min(MAX_SEGMENTS, math.ceil(table_items / SCAN_SEGMENT_ITEMS)))
    if force:
        return Plan(force, "forced", table_items, accounts, est_query, est_scan, segments)
    if accounts and est_query < est_scan:
        reason = (f"~{est_query:,} items via {accounts:,} account queries < "
                  f"{est_scan:,} items by scan")
        return Plan("query", reason, table_items, accounts, est_query, est_scan, segments)
    reason = (f"{est_scan:,} items by scan <= ~{est_query:,} via {accounts:,} account queries"
              if accounts else "no accounts counted; a scan reads what is there")
    return Plan("scan", reason, table_items, accounts, est_query, est_scan, segments)


def plan_reads(store: Store, span: timedelta, force: Strategy | None = None) -> Plan:
    """The plan for reading ``span`` of executions, from the two tables' ItemCount."""
    items = int(store.describe_table(store.name("executions"))["Table"].get("ItemCount", 0))
    accounts = int(store.describe_table(store.name("accounts"))["Table"].get("ItemCount", 0))
    return choose(items, accounts, span, force=force)


def account_ids(store: Store, stats: ReadStats) -> list[str]:
    """Every account id, scanning the accounts table for ``account_id`` only."""
    table, full = store.table("accounts")
    ids: list[str] = []
    start = None
    while True:
        page = store.scan(full, projection=("account_id",), start_key=start,
                          key_names=table.key_names_for(None), read_cap=0)
        stats.add(page, "accounts")
        ids += [str(i["account_id"]) for i in page.items if "account_id" in i]
        start = page.last_key
        if not start:
            return ids


def read_range(store: Store, plan: Plan, lo: datetime, hi: datetime, stats: ReadStats,
               workers: int = QUERY_WORKERS) -> list[dict[str, Any]]:
    """The projected executions created in [lo, hi] (bounds widened by a second; see below).

    Timestamps compare as strings in DynamoDB, and ``...:00.5Z`` sorts before ``...:00Z``;
    reading a second more on each side and filtering exactly later loses nothing.
    """
    low, high = iso(lo - timedelta(seconds=1)), iso(hi + timedelta(seconds=1))
    began = time.monotonic()
    stats.plan = plan
    full = store.name("executions")
    if plan.strategy == "query":
        ids = account_ids(store, stats)

        def one(account: str) -> Page:
            return store.query(full, Key("account_id").eq(account) & Key("created_at").between(low, high),
                               index=INDEX, projection=PROJECTION, read_cap=0)

        jobs: Iterable[Any] = ids
        fn: Any = one
    else:
        def segment(n: int) -> Page:
            return store.scan(full, filter=Attr("created_at").between(low, high),
                              projection=PROJECTION, segment=(n, plan.segments), read_cap=0)

        jobs, fn = range(plan.segments), segment
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="digest-read") as pool:
        pages = list(pool.map(fn, jobs))
    rows: list[dict[str, Any]] = []
    for page in pages:
        stats.add(page)
        rows += page.items
    stats.seconds += time.monotonic() - began
    return rows


def names(store: Store, short: str, ids: Iterable[str], stats: ReadStats) -> dict[str, str | None]:
    """``name`` of each id: None when there is no such item, "" when it has no name."""
    table, full = store.table(short)
    key = table.keys.hash_key
    wanted = sorted({i for i in ids if i})
    out: dict[str, str | None] = dict.fromkeys(wanted)
    for n in range(0, len(wanted), BATCH_GET_MAX):
        request = {full: {"Keys": [serialize_item({key: i}) for i in wanted[n:n + BATCH_GET_MAX]],
                          "ProjectionExpression": "#k, #n",
                          "ExpressionAttributeNames": {"#k": key, "#n": "name"}}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            try:
                resp = store.client.batch_get_item(RequestItems=request,
                                                   ReturnConsumedCapacity="TOTAL")
            except ClientError as exc:
                err = exc.response.get("Error", {})
                raise StoreError(f"DynamoDB batch_get_item failed: {err.get('Code')}: "
                                 f"{err.get('Message')}", err.get("Code")) from exc
            for raw in resp.get("Responses", {}).get(full, []):
                item = deserialize_item(raw)
                out[str(item[key])] = str(item.get("name", ""))
                stats.names_read += 1
            stats.names_rcu += sum(c.get("CapacityUnits", 0)
                                   for c in resp.get("ConsumedCapacity", []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            # unprocessed keys are DynamoDB asking us to slow down; botocore does not retry them
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
        else:
            log.warning("names from %s: keys still unprocessed after %d attempts", full,
                        BATCH_GET_ATTEMPTS)
    return out


def failed_of_helper(store: Store, helper_id: str, lo: datetime, hi: datetime,
                     statuses: Iterable[str], *, limit: int,
                     start_key: dict[str, Any] | None = None) -> Page:
    """One page of a helper's failed executions in [lo, hi], newest first."""
    table, full = store.table("executions")
    index = "HelperIdCreatedAtIndex"
    wanted = list(statuses)
    return store.query(
        full, Key("helper_id").eq(helper_id) & Key("created_at").between(iso(lo), iso(hi)),
        index=index, filter=Attr("status").is_in(wanted), desc=True, max_items=limit,
        start_key=start_key, key_names=table.key_names_for(index))
