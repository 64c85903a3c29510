"""Window locks in the state table: a scheduled post happens once however many replicas run.

One item per window (pk ``LOCK#<name>``, sk = the window's end, ISO UTC). Taking it is a
conditional write that succeeds only if no one holds it, or if the holder's lease ran out
without posting (a crashed run): replicas firing together race on DynamoDB and exactly
one wins. The winner marks it ``posted`` (with the message ts) after the post succeeds;
a window left ``taken`` past its lease is picked up again by a later tick.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from dynamo.store import Store, build, serialize_item

TAKEN, POSTED = "taken", "posted"
KEEP_SECONDS = 400 * 86400  # the record of what was posted outlives any trend lookup


@dataclass(frozen=True)
class Lock:
    """A lock we hold: the window (ISO start and end) and our token."""

    start: str
    end: str
    token: str
    attempt: int


@dataclass(frozen=True)
class LockRecord:
    start: str
    end: str
    state: str
    lease_until: int
    attempts: int
    message_ts: str | None
    summary: dict[str, Any] | None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class WindowLocks:
    def __init__(self, store: Store, table: str, name: str = "digest", lease_seconds: int = 900,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.client = store.client
        self.table = table
        self.pk = f"LOCK#{name}"
        self.lease_seconds = lease_seconds
        self.clock = clock

    def _key(self, end: str) -> dict[str, Any]:
        return serialize_item({"pk": self.pk, "sk": end})

    def acquire(self, start: str, end: str) -> Lock | None:
        """Take the window's lock, or None if another run holds it or it was posted."""
        now = int(self.clock())
        token = secrets.token_hex(8)
        cond = Attr("pk").not_exists() | (Attr("state").eq(TAKEN) & Attr("lease_until").lt(now))
        params = build(filter=cond)
        params["ConditionExpression"] = params.pop("FilterExpression")
        names, values = params["ExpressionAttributeNames"], params["ExpressionAttributeValues"]
        sets = {"state": TAKEN, "token": token, "lease_until": now + self.lease_seconds,
                "window_start": start, "owner": _owner(), "taken_at": now,
                "ttl": now + KEEP_SECONDS}
        parts = []
        for i, (attr, value) in enumerate(sets.items()):
            names[f"#u{i}"], values[f":u{i}"] = attr, serialize_item({"v": value})["v"]
            parts.append(f"#u{i} = :u{i}")
        names["#att"] = "attempts"
        values[":one"] = {"N": "1"}
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=self._key(end),
                UpdateExpression=f"SET {', '.join(parts)} ADD #att :one",
                ReturnValues="UPDATED_NEW", **params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return Lock(start, end, token, int(resp["Attributes"]["attempts"]["N"]))

    def mark_posted(self, lock: Lock, channel: str, ts: str, summary: dict[str, Any]) -> bool:
        """Record the post; False if the lock was lost meanwhile (the run outlived its lease)."""
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(lock.end),
                UpdateExpression="SET #s = :posted, #c = :c, #ts = :ts, #pa = :pa, #sum = :sum "
                                 "REMOVE #lease",
                ConditionExpression="#tok = :tok",
                ExpressionAttributeNames={"#s": "state", "#c": "channel", "#ts": "message_ts",
                                          "#pa": "posted_at", "#sum": "summary",
                                          "#lease": "lease_until", "#tok": "token"},
                ExpressionAttributeValues=serialize_item({
                    ":posted": POSTED, ":c": channel, ":ts": ts, ":pa": int(self.clock()),
                    ":sum": summary, ":tok": lock.token}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, lock: Lock, error: str) -> None:
        """A run that failed: end the lease now so the next tick retries at once."""
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(lock.end),
                UpdateExpression="SET #lease = :now, #err = :err",
                ConditionExpression="#tok = :tok AND #s = :taken",
                ExpressionAttributeNames={"#lease": "lease_until", "#err": "last_error",
                                          "#tok": "token", "#s": "state"},
                ExpressionAttributeValues=serialize_item({
                    ":now": int(self.clock()) - 1, ":err": error[:500], ":tok": lock.token,
                    ":taken": TAKEN}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def get(self, end: str) -> LockRecord | None:
        page = self.store.get(self.table, {"pk": self.pk, "sk": end}, consistent=True)
        return _record(page.items[0]) if page.items else None

    def latest_end(self, before: str) -> str | None:
        """The end of the latest window locked before ``before`` (posted or not)."""
        page = self.store.query(self.table, Key("pk").eq(self.pk) & Key("sk").lt(before),
                                desc=True, max_items=1, projection=("sk",),
                                key_names=("pk", "sk"), read_cap=0)
        return str(page.items[0]["sk"]) if page.items else None

    def stale(self, since: str) -> list[LockRecord]:
        """Windows ending after ``since`` whose run took the lock and never posted in its lease."""
        now = int(self.clock())
        page = self.store.query(
            self.table, Key("pk").eq(self.pk) & Key("sk").gte(since),
            filter=Attr("state").eq(TAKEN) & Attr("lease_until").lt(now),
            key_names=("pk", "sk"), read_cap=0)
        return [_record(i) for i in page.items]


def _record(item: dict[str, Any]) -> LockRecord:
    return LockRecord(
        start=str(item.get("window_start", "")), end=str(item["sk"]),
        state=str(item.get("state", "")), lease_until=int(item.get("lease_until", 0)),
        attempts=int(item.get("attempts", 0)), message_ts=item.get("message_ts"),
        summary=item.get("summary"))
