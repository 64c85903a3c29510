"""The audit log: one record per step of every write request, secrets redacted.

Records live in the state table under one partition (``AUDIT``), sorted by time, so
``/ddb history`` is a single newest-first query.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from dynamo.redact import mask_text, redact_value
from dynamo.store import Store, serialize_item

AUDIT_PK = "AUDIT"
KEEP_SECONDS = 400 * 86400


@dataclass(frozen=True)
class AuditRecord:
    at: str
    actor: str
    action: str
    request_id: str
    summary: str
    outcome: str
    detail: dict[str, Any]


class Audit:
    def __init__(self, store: Store, state_table: str) -> None:
        self.store = store
        self.table = state_table

    def record(self, actor: str, action: str, request_id: str, summary: str, outcome: str,
               detail: dict[str, Any] | None = None) -> None:
        now = time.time()
        at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        item = {
            "pk": AUDIT_PK, "sk": f"{at}#{secrets.token_hex(4)}", "at": at, "actor": actor,
            "action": action, "request_id": request_id, "summary": mask_text(summary),
            "outcome": mask_text(outcome),
            "detail": {k: redact_value(k, v) for k, v in (detail or {}).items()},
            "ttl": int(now) + KEEP_SECONDS,
        }
        self.store.client.put_item(TableName=self.table, Item=serialize_item(item))

    def recent(self, limit: int = 20) -> list[AuditRecord]:
        page = self.store.query(self.table, Key("pk").eq(AUDIT_PK), desc=True, max_items=limit,
                                key_names=("pk", "sk"))
        return [AuditRecord(i["at"], i["actor"], i["action"], i.get("request_id", ""),
                            i.get("summary", ""), i.get("outcome", ""), i.get("detail", {}))
                for i in page.items]
