"""The process's long-lived parts, built once from settings and shared by every surface."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.access import Access
from bot.config import Settings
from bot.logs import ContextExecutor, bind, note_busy
from commands.registry import Context
from dynamo.aws import dynamodb_client
from dynamo.paging import PageStore
from dynamo.policy import load_policy
from dynamo.requests import Requests
from dynamo.store import Store

log = logging.getLogger(__name__)
WORKERS = 16  # DDB_BOT_WORKERS' default
BUSY_TEXT = ("ddb-bot is busy right now and did not run this. Try again in a moment.")


class WorkQueue:
    """A fixed pool of workers with a bounded backlog.

    ``reserve()`` takes a place without waiting, or refuses, and then the caller answers
    "busy" at once instead of queueing an answer that would arrive after the person gave
    up. It refuses when ``workers + backlog`` jobs are already admitted, or when the time
    until it would be done — the wait for a worker (jobs ahead of it times the recent job
    duration, a moving average, shared by the workers) plus its own run — exceeds
    ``max_wait`` seconds: a count alone is either too small when jobs are quick (refusing
    work the workers would finish in time) or too large when DynamoDB is slow (promising
    answers far too late). The job's own run counts because when the workers share a slow
    DynamoDB, more workers make each job slower, not the wait shorter (the soak's
    serialised moto: counting the wait alone, answers came 8 s after the ack)."""

    def __init__(self, workers: int = WORKERS, backlog: int = 100, max_wait: float = 5.0,
                 job_s: float = 0.05) -> None:
        self.workers = workers
        self.backlog = backlog
        self.max_wait = max_wait
        self.job_s = job_s  # moving average of a job's duration, seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb-work")
        self._lock = threading.Lock()
        self._admitted = 0  # waiting or running

    @property
    def capacity(self) -> int:
        return self.workers + self.backlog

    @property
    def admitted(self) -> int:
        """Jobs waiting or running now (the metrics' ``ddb_bot_work_queue_jobs``)."""
        return self._admitted

    def expected_wait(self) -> float:
        """Seconds until a job admitted now would be done: its wait for a worker, then its run."""
        ahead = max(0, self._admitted + 1 - self.workers)
        return ahead * self.job_s / self.workers + self.job_s

    def reserve(self) -> bool:
        with self._lock:
            if self._admitted >= self.capacity or self.expected_wait() > self.max_wait:
                return False
            self._admitted += 1
            return True

    def run_reserved(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` in a place taken by :meth:`reserve`."""

        def job() -> Any:
            start = time.monotonic()
            try:
                return fn()
            finally:
                spent = time.monotonic() - start
                with self._lock:
                    self._admitted -= 1
                    self.job_s = 0.8 * self.job_s + 0.2 * spent

        try:
            return self._pool.submit(job)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no admitted job is waiting or running (tests, drain); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._admitted == 0:
                    return True
            time.sleep(0.01)
        return False

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


class AfterAck(enum.Enum):
    """How the work after ``ack()`` runs: the one place that depends on where the bot runs.

    Listeners never choose; they register through ``bot.listeners.acked`` (or call
    ``Services.after_ack``), and this decides."""

    # serve, socket: a long-lived process; the work goes to the bounded work queue (the busy
    # answer when it is full), Slack calls with a trigger_id to the prompt pool
    QUEUE = "queue"
    # AWS Lambda: the process is frozen once the handler returned, so no thread may hold
    # work. Bolt's lazy listeners run it in an asynchronous invocation of the function
    # (bot.aws_lambda); inside that invocation nothing waits, and work runs at once.
    LAZY = "lazy"


def _name(fn: Callable[..., Any]) -> str:
    """A function's name for the log (never the repr of a partial: it holds the payload)."""
    inner = getattr(fn, "func", fn)
    return str(getattr(fn, "__name__", None) or getattr(inner, "__name__", type(fn).__name__))


def _logged(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[], Any]:
    """``fn(*args)``, its failure logged with its traceback (nobody else sees it)."""
    def run() -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("work after ack failed in %s", _name(fn))
            raise

    return run


def _at_once(fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
    """Run ``fn(*args)`` here and now; its outcome as a done Future (``AfterAck.LAZY``)."""
    done: Future[Any] = Future()
    try:
        done.set_result(_logged(fn, args)())
    except Exception as exc:
        done.set_exception(exc)
    return done


def _report_schema_file(settings: Settings) -> None:
    """Log, at start, each table or GSI that ``DDB_BOT_SCHEMA_FILE`` and the bot's declared
    schema do not share (the file itself was validated with the settings)."""
    if not settings.ddb_bot_schema_file:
        return
    from dynamo.schema_file import load_schema_file

    for problem in load_schema_file(settings.ddb_bot_schema_file, settings.stage).mismatches():
        log.warning("DDB_BOT_SCHEMA_FILE: %s", problem)


@dataclass
class Services:
    settings: Settings
    client: Any
    store: Store
    pages: PageStore
    requests: Requests
    access: Access
    # Work after ack() runs here: the listener runs on the request's thread
    # (process_before_response) and Slack gets its 200 when it returns, so it only acks and
    # hands the work on. Bounded: see WorkQueue.
    work: WorkQueue = field(default_factory=WorkQueue)
    # Slack calls that cannot wait in the work queue (views.open takes a trigger_id for 3 s
    # only), run at once after the 200 on a small pool of their own (``right_after_ack``)
    prompt: ThreadPoolExecutor = field(default_factory=lambda: ContextExecutor(
        max_workers=4, thread_name_prefix="ddb-prompt"))
    # the seam: QUEUE in serve/socket (both pools above, threads started on first use),
    # LAZY on AWS Lambda (neither pool is ever used: no thread outlives the handler)
    after: AfterAck = AfterAck.QUEUE

    def after_ack(self, fn: Callable[..., Any], *args: Any,
                  busy: Callable[[], object]) -> Future[Any] | None:
        """Run ``fn`` in the work queue; a failure is logged with its traceback. When the
        queue is full, call ``busy`` here instead (it tells the person to try again),
        count it in the logs, and return None.

        ``AfterAck.LAZY``: run it at once. On Lambda the ack never gets here (the listener
        registered the work as a lazy listener, ``bot.listeners.acked``); work that queues
        more work is already in its own invocation, where nothing waits for it."""
        if self.after is AfterAck.LAZY:
            return _at_once(fn, args)
        if not self.work.reserve():
            note_busy(self.work.capacity)
            try:
                busy()
            except Exception:
                log.exception("telling the person the bot is busy failed")
            return None

        return self.work.run_reserved(bind(_logged(fn, args)))  # keeps the log context

    def right_after_ack(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn`` at once on the prompt pool, after the listener returned (so after the
        200): a Slack call with a trigger_id, which the work queue could delay past its 3 s.
        ``AfterAck.LAZY``: at once, as ``after_ack``."""
        if self.after is AfterAck.LAZY:
            return _at_once(fn, args)
        return self.prompt.submit(_logged(fn, args))  # ContextExecutor keeps the log context

    def shutdown(self) -> None:
        """Finish the work in flight (graceful stop); prompt calls may still queue work."""
        self.prompt.shutdown(wait=True)
        self.work.shutdown(wait=True)

    @classmethod
    def build(cls, settings: Settings, client: Any | None = None,
              web_client: Any | None = None, after: AfterAck = AfterAck.QUEUE) -> Services:
        # every worker may hold a DynamoDB connection, besides the prompt pool and the digest
        client = client or dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb,
                                           max_pool_connections=settings.ddb_bot_workers + 16)
        store = Store(client, settings.stage, read_cap=settings.ddb_bot_scan_cap)
        policy = load_policy(settings.ddb_bot_policy_file)  # validated with the settings
        _report_schema_file(settings)
        access = Access(settings, web_client, policy=policy)
        return cls(
            settings=settings,
            client=client,
            store=store,
            pages=PageStore(client, settings.state_table),
            requests=Requests(store, settings.state_table,
                              int(settings.ddb_bot_request_ttl.total_seconds()),
                              policy=policy, member=access.member,
                              undo_days=settings.ddb_bot_undo_days),
            access=access,
            work=WorkQueue(settings.ddb_bot_workers, settings.ddb_bot_work_queue, settings.ddb_bot_work_max_wait),
            after=after,
        )

    def context(self, user_id: str, channel_id: str | None = None, **kw: Any) -> Context:
        """A command Context for one caller; ``self`` is its ``CommandServices`` port."""
        return Context(
            store=self.store, user_id=user_id, channel_id=channel_id, stage=self.settings.stage,
            region=self.settings.aws_region, settings=self.settings, services=self, **kw,
        )
