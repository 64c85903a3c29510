"""The process's long-lived parts, built once from settings and shared by every surface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.access import Access
from bot.config import Settings
from bot.data.aws import dynamodb_client
from bot.data.requests import Requests
from bot.data.store import Store
from bot.data.views import ViewStore


@dataclass
class Services:
    settings: Settings
    client: Any
    store: Store
    views: ViewStore
    requests: Requests
    access: Access

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
        )

    def context(self, user_id: str, channel_id: str | None = None, **kw: Any) -> Any:
        """A command Context for one caller."""
        from commands.registry import Context

        return Context(
            store=self.store, user_id=user_id, channel_id=channel_id, stage=self.settings.stage,
            region=self.settings.aws_region, settings=self.settings, services=self, **kw,
        )
