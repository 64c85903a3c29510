"""Metrics: Prometheus series for ``GET /metrics``, the same series as CloudWatch Embedded
Metric Format lines where nothing scrapes (Lambda: ``emit_emf`` at the end of each
invocation, ``bot.emf``).

Every series is recorded here, at the few places that see everything of one kind: the
request's log line (``bot.logs``), the work queue's refusals, the write-request state
machine's log of each step (``Requests.observe``), the digest run, botocore's hooks on the
DynamoDB client (``dynamo.aws.observe_calls``) and the Slack Web API client
(``bot.messaging.client``). README, *Metrics*, lists them.

Label values are bounded sets that never carry what a person typed or an item's id: a
command label is a registered subcommand or listener id (else ``unknown`` / ``other``), a
table label is a declared table's short name (``state`` for the bot's own, else
``other``), a Slack method is a method name, outcomes and events are fixed words. Anything
else becomes ``other``, so a forged or odd request cannot grow the series.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from commands.registry import REGISTRY as COMMANDS
from dynamo.aws import READ_OPERATIONS, observe_calls
from dynamo.requests.model import Status, WriteRequest
from dynamo.schema import TABLES

if TYPE_CHECKING:
    from bot.services import Services
    from dynamo.requests import Requests

log = logging.getLogger(__name__)
prometheus_client.disable_created_metrics()  # no ``*_created`` series: nothing reads them
OTHER = "other"
SURFACES = frozenset({"command", "block_actions", "view_submission", "view_closed", "shortcut",
                      "message_action", "event"})
OUTCOMES = frozenset({"ok", "error", "refused", "internal_error", "exception", "busy",
                      "workspace_unknown", "other_workspace"}  # bot.workspace's refusals
                     | {f"request_{s.value.lower()}" for s in Status})
_SLACK_METHOD = re.compile(r"[a-z]+(?:\.[a-zA-Z]+){1,3}")
_listener_ids: set[str] = set()  # the app's registered action / callback / event ids
_tables: dict[str, str] = {}  # full table name -> label

# -- the series ----------------------------------------------------------------------------
REQUESTS = Counter("ddb_bot_requests", "Slack requests handled, by surface, command and outcome",
                   ["surface", "command", "outcome"])
ACK = Histogram("ddb_bot_ack_seconds", "Time from a request's arrival to its ack()", ["surface"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3))
ANSWER = Histogram("ddb_bot_answer_seconds",
                   "Time from a request's arrival until its work, the answer included, ended",
                   ["surface", "command"],
                   buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60))
BUSY = Counter("ddb_bot_busy_refusals", "Requests answered 'busy, try again': work queue full")
WORK_JOBS = Gauge("ddb_bot_work_queue_jobs", "Jobs admitted to the work queue (waiting or running)")
WORK_CAPACITY = Gauge("ddb_bot_work_queue_capacity", "Workers plus backlog of the work queue")
WRITE_REQUESTS = Counter(
    "ddb_bot_write_requests", "Write request events: created, approval_recorded, approved, "
    "executed, executing, stale, failed, rejected, withdrawn, expired", ["event"])
DECISION = Histogram("ddb_bot_write_request_decision_seconds",
                     "Time from a write request's creation to its decision", ["decision"],
                     buckets=(10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 86400))
BREAK_GLASS = Counter("ddb_bot_break_glass_runs", "Break-glass changes run, by outcome",
                      ["outcome"])
BREAK_GLASS_REVIEWS = Counter("ddb_bot_break_glass_reviews", "Break-glass changes reviewed")
DIGEST_RUNS = Counter("ddb_bot_digest_runs", "Digest runs, by outcome: posted, nothing_due, "
                      "elsewhere (another replica holds the window), failed", ["outcome"])
DIGEST_POSTS = Counter("ddb_bot_digest_posts", "Digests posted to Slack")
DDB_CALLS = Counter("ddb_bot_dynamodb_calls", "DynamoDB calls (after botocore's retries)",
                    ["table", "operation", "outcome"])
DDB_SECONDS = Histogram("ddb_bot_dynamodb_call_seconds", "DynamoDB call time, retries included",
                        ["operation"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DDB_THROTTLES = Counter("ddb_bot_dynamodb_throttles",
                        "Throttled DynamoDB attempts, retried or not", ["table", "operation"])
DDB_CAPACITY = Counter("ddb_bot_dynamodb_consumed_capacity_units",
                       "Capacity units DynamoDB reported consumed", ["table", "kind"])
SLACK_CALLS = Counter("ddb_bot_slack_api_calls", "Slack Web API calls (after retries), by "
                      "method and outcome: ok, error, rate_limited, unreachable",
                      ["method", "outcome"])
SLACK_RATE_LIMITED = Counter("ddb_bot_slack_api_rate_limited",
                             "Slack Web API 429 answers, retried or not", ["method"])
SLACK_SECONDS = Histogram("ddb_bot_slack_api_call_seconds", "Slack Web API call time, retries "
                          "included", ["method"],
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SIGNATURES = Counter("ddb_bot_signature_checks", "Request signatures checked, by which signing "
                     "secret verified: current, previous (a rotation), invalid", ["result"])
DEPENDENCY_UP = Gauge("ddb_bot_dependency_up", "1 if the last readiness check of a dependency "
                      "passed", ["dependency"])


# -- raw values for EMF ------------------------------------------------------------------
# Histograms keep their observations since the last ``emit_emf`` too (EMF takes values,
# not buckets), at most EMF's 100 per series: bounded even where nobody flushes.
EMF_VALUES_MAX = 100
_raw_lock = threading.Lock()
_raw: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}


def _observe(hist: Histogram, seconds: float, **labels: str) -> None:
    (hist.labels(**labels) if labels else hist).observe(seconds)
    key = (hist._name, tuple(sorted(labels.items())))
    with _raw_lock:
        values = _raw.setdefault(key, [])
        if len(values) < EMF_VALUES_MAX:
            values.append(round(seconds, 6))


def take_raw() -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float]]:
    """The histogram observations since the last call (``bot.emf``)."""
    with _raw_lock:
        taken = dict(_raw)
        _raw.clear()
    return taken


# -- bounded labels ------------------------------------------------------------------------
def surface_label(kind: str | None) -> str:
    return kind if kind in SURFACES else OTHER


def command_label(command: str | None, target: str | None) -> str:
    """The registered subcommand that ran, else the registered listener id, else a fixed word."""
    if command:
        return command if command in COMMANDS or command == "unknown" else OTHER
    if not target:
        return "none"
    if target.startswith("/"):  # a slash command that did not get to dispatch (busy)
        sub = target.partition(" ")[2]
        return sub if sub in COMMANDS else "unknown"
    return target if target in _listener_ids else OTHER


def outcome_label(outcome: str | None) -> str:
    return outcome if outcome in OUTCOMES else OTHER


def table_label(name: str) -> str:
    if name == "(several)":
        return "several"
    return _tables.get(name, OTHER)


def slack_method_label(method: str) -> str:
    return method if len(method) <= 48 and _SLACK_METHOD.fullmatch(method) else OTHER


# -- recording -----------------------------------------------------------------------------
def request_done(kind: str | None, command: str | None, target: str | None,
                 outcome: str | None, ack_ms: float | None, duration_ms: float) -> None:
    """One Slack request ended (its log line): count it, and its ack and answer times."""
    surface, name = surface_label(kind), command_label(command, target)
    REQUESTS.labels(surface=surface, command=name, outcome=outcome_label(outcome)).inc()
    if ack_ms is not None:
        _observe(ACK, ack_ms / 1000, surface=surface)
    _observe(ANSWER, duration_ms / 1000, surface=surface, command=name)


def busy() -> None:
    BUSY.inc()


def signature(result: str) -> None:
    SIGNATURES.labels(result=result if result in ("current", "previous") else "invalid").inc()


def dependency(name: str, up: bool) -> None:
    DEPENDENCY_UP.labels(dependency=name).set(1 if up else 0)


def digest_run(outcomes: Iterable[str]) -> None:
    """One digest tick's outcomes (``bot.scheduler.digest_tick``'s lines)."""
    lines = list(outcomes)
    posted = sum(1 for o in lines if o.endswith(": posted"))
    DIGEST_POSTS.inc(posted)
    if any("failed" in o for o in lines):
        outcome = "failed"
    elif posted:
        outcome = "posted"
    elif any("elsewhere" in o for o in lines):
        outcome = "elsewhere"
    else:
        outcome = "nothing_due"
    DIGEST_RUNS.labels(outcome=outcome).inc()


def request_event(actor: str, action: str, req: WriteRequest, outcome: str) -> None:
    """One logged step of a write request (``Requests.observe``): its event, and for a
    decision the time since the request was created."""
    status = outcome.lower() if outcome in {s.value for s in Status} else None
    decision: str | None = None
    if action == "request":
        WRITE_REQUESTS.labels(event="created").inc()
    elif action == "approve" and status == "pending":
        WRITE_REQUESTS.labels(event="approval_recorded").inc()
    elif action == "approve" and status:
        decision = "approved"
        WRITE_REQUESTS.labels(event="approved").inc()
        WRITE_REQUESTS.labels(event=status).inc()  # executed, executing, stale, failed
    elif action == "reject":
        decision = "withdrawn" if actor == req.requester else "rejected"
        WRITE_REQUESTS.labels(event=decision).inc()
    elif action == "expire":
        decision = "expired"
        WRITE_REQUESTS.labels(event="expired").inc()
    elif action == "break-glass":
        BREAK_GLASS.labels(outcome=status or "no_answer").inc()
    elif action == "review":
        BREAK_GLASS_REVIEWS.inc()
    if decision and req.created_at:
        _observe(DECISION, max(0.0, time.time() - req.created_at), decision=decision)


class DynamoMetrics:
    """``dynamo.aws.CallObserver``: every DynamoDB call of the bot's client."""

    def call(self, table: str, operation: str, outcome: str, seconds: float) -> None:
        DDB_CALLS.labels(table=table_label(table), operation=operation, outcome=outcome).inc()
        _observe(DDB_SECONDS, seconds, operation=operation)

    def throttled(self, table: str, operation: str) -> None:
        DDB_THROTTLES.labels(table=table_label(table), operation=operation).inc()

    def consumed(self, table: str, operation: str, units: float) -> None:
        kind = "read" if operation in READ_OPERATIONS else "write"
        DDB_CAPACITY.labels(table=table_label(table), kind=kind).inc(units)


def slack_call(method: str, outcome: str, seconds: float) -> None:
    label = slack_method_label(method)
    SLACK_CALLS.labels(method=label, outcome=outcome).inc()
    _observe(SLACK_SECONDS, seconds, method=label)


def slack_rate_limited(method: str) -> None:
    SLACK_RATE_LIMITED.labels(method=slack_method_label(method)).inc()


# -- what the state table holds (read on scrape, cached) ----------------------------------
@dataclass(frozen=True)
class StateCounts:
    pending: int
    overdue: int  # pending past their expiry: the sweep is not running
    oldest_pending_s: float
    unreviewed: int  # break-glass changes nobody has reviewed yet


class StateCollector(Collector):
    """Pending write requests and unreviewed break-glass changes, read from the state table
    at most once per ``ttl`` seconds (two queries of the requests partition), so a scrape
    every few seconds costs one read a minute. A failed read leaves the gauges out."""

    READ_MAX = 500

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self.requests: Requests | None = None
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._counts: StateCounts | None = None

    def describe(self) -> list[Metric]:
        return []  # nothing read at registration

    def read(self) -> StateCounts | None:
        requests = self.requests
        if requests is None:
            return None
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._counts
            self._at = time.monotonic()
            try:
                now = time.time()
                pending = requests.list(statuses=[Status.PENDING.value], limit=self.READ_MAX)
                unreviewed = len(requests.needs_review(limit=self.READ_MAX))
                oldest = max((now - r.created_at for r in pending if r.created_at), default=0.0)
                self._counts = StateCounts(
                    pending=len(pending), overdue=sum(1 for r in pending if r.expires_at <= now),
                    oldest_pending_s=round(max(0.0, oldest), 1), unreviewed=unreviewed)
            except Exception as exc:  # the scrape still answers; the gauges are left out
                log.warning("metrics: reading the state table failed: %s", type(exc).__name__)
                self._counts = None
            return self._counts

    @staticmethod
    def rows(counts: StateCounts) -> list[tuple[str, str, float]]:
        return [
            ("ddb_bot_write_requests_pending", "Write requests waiting for approval",
             counts.pending),
            ("ddb_bot_write_requests_overdue", "Pending write requests past their expiry "
             "(the expiry sweep is not running)", counts.overdue),
            ("ddb_bot_write_request_oldest_pending_seconds", "Age of the oldest pending write "
             "request", counts.oldest_pending_s),
            ("ddb_bot_break_glass_unreviewed", "Break-glass changes not reviewed yet",
             counts.unreviewed),
        ]

    def collect(self) -> Iterator[Metric]:
        counts = self.read()
        if counts is None:
            return
        for name, doc, value in self.rows(counts):
            yield GaugeMetricFamily(name, doc, value=value)


STATE = StateCollector()
# a registry of its own: /metrics exposes it beside the default one, while EMF flushes on a
# Slack request's path leave it out (its reads would delay that invocation's answer)
STATE_REGISTRY = CollectorRegistry(auto_describe=False)
STATE_REGISTRY.register(STATE)


# -- wiring --------------------------------------------------------------------------------
def instrument(services: Services, listener_ids: Iterable[str] = ()) -> None:
    """Record the metrics of ``services`` (its DynamoDB client, requests and work queue) and
    accept ``listener_ids`` (the app's registered surfaces) as command labels. Safe to call
    for several apps in one process: the series are the process's."""
    s = services.settings
    _tables.update({t.full_name(s.stage): t.short for t in TABLES})
    _tables[s.state_table] = "state"
    _listener_ids.update(i for i in listener_ids if isinstance(i, str) and len(i) <= 80)
    observe_calls(services.client, DynamoMetrics())
    services.requests.observe = request_event
    work = services.work
    WORK_JOBS.set_function(lambda: work.admitted)
    WORK_CAPACITY.set(work.capacity)
    STATE.requests = services.requests


def series_names() -> set[str]:
    """Every ``ddb_bot_*`` sample name the exposition may hold (``_total``, ``_bucket``, ...)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                "gauge": ("",)}
    names = {name for name, _doc, _value in StateCollector.rows(StateCounts(0, 0, 0.0, 0))}
    for metric in globals().values():
        if isinstance(metric, Counter | Gauge | Histogram):
            names.update(metric._name + x for x in suffixes[metric._type])
    return names


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every series (and the process's own)."""
    return (prometheus_client.generate_latest(REGISTRY)
            + prometheus_client.generate_latest(STATE_REGISTRY)), CONTENT_TYPE_LATEST


def emit_emf(write: Callable[[str], object] | None = None, namespace: str = "ddb-bot",
             state: bool = False) -> int:
    """Write the series as CloudWatch EMF lines (see ``bot.emf``); returns how many.

    For Lambda, where nothing scrapes ``/metrics``: call it once at the end of each
    invocation; stdout is the function's log stream, from which CloudWatch extracts them.
    ``state`` adds the state table's gauges (pending, overdue, unreviewed: two queries at
    most once a minute), for a scheduled invocation rather than a Slack request's."""
    from bot.emf import emit

    return emit(write, namespace, state)
