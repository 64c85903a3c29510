"""The process's long-lived parts, built once from settings and shared by every surface."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.access import Access
from bot.config import Settings
from bot.logs import bind
from dynamo.aws import dynamodb_client
from dynamo.paging import PageStore
from dynamo.policy import load_policy
from dynamo.requests import Requests
from dynamo.store import Store

log = logging.getLogger(__name__)
WORKERS = 6


@dataclass
class Services:
    settings: Settings
    client: Any
    store: Store
    pages: PageStore
    requests: Requests
    access: Access
    # Work after ack() runs here, not in Bolt's listener pool: Bolt answers an HTTP
    # request only once a pool thread has picked up its listener, so DynamoDB work in
    # that pool would delay the next acks behind it.
    work: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=WORKERS, thread_name_prefix="ddb-work"))

    def after_ack(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn`` in the work pool; a failure is logged with its traceback."""

        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("work after ack failed in %s", getattr(fn, "__name__", fn))
                raise

        return self.work.submit(bind(run))  # keeps the request's log context

    def shutdown(self) -> None:
        """Finish the work in flight (graceful stop)."""
        self.work.shutdown(wait=True)

    @classmethod
    def build(cls, settings: Settings, client: Any | None = None,
              web_client: Any | None = None) -> Services:
        client = client or dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
        store = Store(client, settings.stage, read_cap=settings.ddb_bot_scan_cap)
        policy = load_policy(settings.ddb_bot_policy_file)  # validated with the settings
        access = Access(settings, web_client, policy=policy)
        return cls(
            settings=settings,
            client=client,
            store=store,
            pages=PageStore(client, settings.state_table),
            requests=Requests(store, settings.state_table,
                              int(settings.ddb_bot_request_ttl.total_seconds()),
                              policy=policy, member=access.member),
            access=access,
        )

    def context(self, user_id: str, channel_id: str | None = None, **kw: Any) -> Any:
        """A command Context for one caller."""
        from commands.registry import Context

        return Context(
            store=self.store, user_id=user_id, channel_id=channel_id, stage=self.settings.stage,
            region=self.settings.aws_region, settings=self.settings, services=self, **kw,
        )
