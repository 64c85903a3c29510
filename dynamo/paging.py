"""Paging state: what a "Next page" or "Show JSON" button continues from.

A page state is the command text, its owner and the page's start keys. Small states travel in
the button value itself (Slack signs every interaction payload, so a value can only be
one we sent), which saves a DynamoDB write on every read; a state too large for Slack's
2,000-character value limit is stored in the state table (TTL one day) and the button
carries only its id.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from dynamo.store import deserialize_item, serialize_item

VIEW_TTL_SECONDS = 24 * 3600
INLINE_MAX = 1900
INLINE = "i:"


@dataclass(frozen=True)
class PageState:
    id: str
    user_id: str
    text: str
    start_key: dict[str, Any] | None
    next_key: dict[str, Any] | None = None


class PageStore:
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
        inline = {"u": user_id, "t": text, "x": int(time.time()) + VIEW_TTL_SECONDS}
        if start_key:
            inline["s"] = serialize_item(start_key)
        if next_key:
            inline["n"] = serialize_item(next_key)
        token = INLINE + json.dumps(inline, separators=(",", ":"))
        if len(token) <= INLINE_MAX:
            return token
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

    def load(self, view_id: str) -> PageState | None:
        if view_id.startswith(INLINE):
            return _inline(view_id)
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
        return PageState(
            view_id, item["user_id"], item["text"], item.get("start_key"), item.get("next_key")
        )


def _inline(token: str) -> PageState | None:
    try:
        data = json.loads(token[len(INLINE):])
        if int(data["x"]) < time.time():
            return None
        return PageState(token, str(data["u"]), str(data["t"]),
                    deserialize_item(data["s"]) if data.get("s") else None,
                    deserialize_item(data["n"]) if data.get("n") else None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
