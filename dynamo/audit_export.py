"""Audit export: the audit log between two times as JSON Lines, to a stream or to S3.

One object per audit record, fields in ``FIELDS`` (documented in README, "Audit
export"). Records are read page by page from the state table's ``AUDIT`` partition,
whose sort key starts with the record's time, so a window is one key-range query and
never a scan. Every record was redacted when written; it is redacted again on the way
out, so a record written before a redaction rule existed cannot leak through an export.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from dynamo.audit import AUDIT_PK
from dynamo.redact import mask_text, redact_any
from dynamo.store import deserialize_item, serialize_item
from dynamo.values import json_default

# the export's fields, in order (README documents each)
FIELDS = ("time", "actor", "action", "request_id", "table", "key", "kind", "outcome",
          "approvals", "approvals_needed", "break_glass", "reason", "error", "summary", "change")


def _at(dt: datetime) -> str:
    """The audit sort key's time format (``dynamo.audit``)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_records(client: Any, state_table: str, since: datetime,
                 until: datetime) -> Iterator[dict[str, Any]]:
    """Raw audit items with ``since <= time < until``, oldest first, page by page."""
    params: dict[str, Any] = {
        "TableName": state_table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": serialize_item({":pk": AUDIT_PK, ":lo": _at(since),
                                                     ":hi": _at(until)}),
    }
    while True:
        resp = client.query(**params)
        for raw in resp.get("Items", []):
            yield deserialize_item(raw)
        if "LastEvaluatedKey" not in resp:
            return
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def to_export(item: dict[str, Any]) -> dict[str, Any]:
    """One audit item as the export's object (``FIELDS``; absent facts are null)."""
    detail = redact_any(item.get("detail") or {})
    preview = detail.get("preview") or []
    return {
        "time": item.get("at"),
        "actor": item.get("actor"),
        "action": item.get("action"),
        "request_id": item.get("request_id") or None,
        "table": detail.get("table"),
        "key": detail.get("key"),
        "kind": detail.get("kind"),
        "outcome": mask_text(str(item.get("outcome", ""))),
        "approvals": list(detail.get("approvals") or []),
        "approvals_needed": detail.get("need"),
        "break_glass": bool(detail.get("break_glass", False)),
        # a rejection's reason, or the reason a break-glass change was run (or refused)
        "reason": detail.get("reason") or detail.get("break_glass_reason"),
        "error": detail.get("error"),
        "summary": mask_text(str(item.get("summary", ""))),
        "change": [{"attribute": a, "before": b, "after": c} for a, b, c in preview],
    }


def to_line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=json_default, ensure_ascii=False, separators=(",", ":"))


def write_lines(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """JSON Lines to ``out``; returns how many records."""
    n = 0
    for record in records:
        out.write(to_line(record) + "\n")
        n += 1
    return n


def s3_target(out: str) -> tuple[str, str] | None:
    """``s3://bucket/prefix`` → (bucket, prefix); None for a local path."""
    if not out.startswith("s3://"):
        return None
    bucket, _, prefix = out[5:].partition("/")
    if not bucket:
        raise ValueError(f"`{out}`: give a bucket, like s3://audit-bucket/ddb-bot")
    return bucket, prefix.strip("/")


def object_key(prefix: str, now: datetime) -> str:
    """``<prefix>/YYYY/MM/DD/audit-<time>-<random>.jsonl``: one new object per run."""
    now = now.astimezone(UTC)
    name = f"audit-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}.jsonl"
    return "/".join(p for p in (prefix, f"{now:%Y/%m/%d}", name) if p)


def put_s3(s3: Any, bucket: str, prefix: str, body: bytes, now: datetime) -> str:
    """Write one object (never overwriting another run's); returns its key."""
    key = object_key(prefix, now)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson",
                  ServerSideEncryption="AES256")
    return key
