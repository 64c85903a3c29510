"""The process's long-lived parts, built once from settings and shared by every surface."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.access import Access
from bot.config import Settings
from bot.data.aws import dynamodb_client
from bot.data.requests import Requests
from bot.data.store import Store
from bot.data.views import ViewStore
from bot.logs import bind, note_busy

log = logging.getLogger(__name__)
WORKERS = 6
BUSY_TEXT = ("ddb-bot is busy right now and did not run this. Try again in a moment.")


class WorkQueue:
    """A fixed pool of workers with a bounded backlog.

    ``reserve()`` takes one of ``workers + backlog`` slots without waiting; when none is
    free the caller answers "busy" at once instead of queueing an answer that would arrive
    long after the person gave up. A slot is given back when its job ends."""

    def __init__(self, workers: int = WORKERS, backlog: int = 24) -> None:
        self.workers = workers
        self.backlog = backlog
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb-work")
        self._slots = threading.BoundedSemaphore(workers + backlog)

    def reserve(self) -> bool:
        return self._slots.acquire(blocking=False)

    def run_reserved(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` in a slot taken by :meth:`reserve`."""
        try:
            future = self._pool.submit(fn)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


@dataclass
class Services:
    settings: Settings
    client: Any
    store: Store
    views: ViewStore
    requests: Requests
    access: Access
    # Work after ack() runs here, not in Bolt's listener pool: Bolt answers an HTTP
    # request only once a pool thread has picked up its listener, so DynamoDB work in
    # that pool would delay the next acks behind it. Bounded: see WorkQueue.
    work: WorkQueue = field(default_factory=WorkQueue)

    def after_ack(self, fn: Callable[..., Any], *args: Any,
                  busy: Callable[[], object]) -> Future[Any] | None:
        """Run ``fn`` in the work queue; a failure is logged with its traceback. When the
        queue is full, call ``busy`` here instead (it tells the person to try again),
        count it in the logs, and return None."""
        if not self.work.reserve():
            note_busy(self.work.workers + self.work.backlog)
            try:
                busy()
            except Exception:
                log.exception("telling the person the bot is busy failed")
            return None

        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("work after ack failed in %s", getattr(fn, "__name__", fn))
                raise

        return self.work.run_reserved(bind(run))  # keeps the request's log context

    def shutdown(self) -> None:
        """Finish the work in flight (graceful stop)."""
        self.work.shutdown(wait=True)

    @classmethod
    def build(cls, settings: Settings, client: Any | None = None,
              web_client: Any | None = None) -> Services:
        client = client or dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
        store = Store(client, settings.stage, read_cap=settings.ddb_bot_scan_cap)
        return cls(
            settings=settings,
            client=client,
            store=store,
            views=ViewStore(client, settings.state_table),
            requests=Requests(store, settings.state_table,
                              int(settings.ddb_bot_request_ttl.total_seconds())),
            access=Access(settings, web_client),
            work=WorkQueue(WORKERS, settings.ddb_bot_work_queue),
        )

    def context(self, user_id: str, channel_id: str | None = None, **kw: Any) -> Any:
        """A command Context for one caller."""
        from commands.registry import Context

        return Context(
            store=self.store, user_id=user_id, channel_id=channel_id, stage=self.settings.stage,
            region=self.settings.aws_region, settings=self.settings, services=self, **kw,
        )
