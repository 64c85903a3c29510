"""Stored views: what a "Next page" or "Show JSON" button continues from.

A button value holds only an opaque id; the command text, its owner and the page's
start key live in the state table (TTL one day), so a page token is never a user-editable
key and never exceeds Slack's 2,000-character button value limit.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.data.store import deserialize_item, serialize_item

VIEW_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class View:
    id: str
    user_id: str
    text: str
    start_key: dict[str, Any] | None
    next_key: dict[str, Any] | None = None


class ViewStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def save(
        self,
        user_id: str,
        text: str,
        start_key: dict[str, Any] | None = None,
        next_key: dict[str, Any] | None = None,
    ) -> str:
        """Remember a page: the command, where it started and where the next one starts."""
        view_id = secrets.token_urlsafe(12)
        item: dict[str, Any] = {
            "pk": f"VIEW#{view_id}",
            "sk": "VIEW",
            "user_id": user_id,
            "text": text,
            "ttl": int(time.time()) + VIEW_TTL_SECONDS,
        }
        if start_key:
            item["start_key"] = start_key
        if next_key:
            item["next_key"] = next_key
        self.client.put_item(TableName=self.table, Item=serialize_item(item))
        return view_id

    def load(self, view_id: str) -> View | None:
        if not view_id or len(view_id) > 64:
            return None
        resp = self.client.get_item(
            TableName=self.table, Key=serialize_item({"pk": f"VIEW#{view_id}", "sk": "VIEW"})
        )
        raw = resp.get("Item")
        if not raw:
            return None
        item = deserialize_item(raw)
        if int(item.get("ttl", 0)) < time.time():
            return None
        return View(
            view_id, item["user_id"], item["text"], item.get("start_key"), item.get("next_key")
        )
