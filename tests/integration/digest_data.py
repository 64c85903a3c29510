"""A small, exact data set for digest tests: two named helpers, one unknown, fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dynamo import demo
from dynamo.schedule import Window, iso

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWdlc3QifQ.c2lnbmF0dXJlLWRpZ2VzdA"
START = datetime(2024, 5, 1, 9, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=1))
NOW = WINDOW.end + timedelta(minutes=1)  # just after the 09:00 fire
CRON = "0 9 * * *"
_n = 0


def ex(at: datetime, helper: str, account: str, status: str = "failed",
       msg: str | None = "contact 42 not found") -> dict[str, Any]:
    global _n
    _n += 1
    item: dict[str, Any] = {"execution_id": f"exec-{_n:05d}", "helper_id": helper,
                            "account_id": account, "status": status, "created_at": iso(at),
                            "trigger_type": "webhook", "user_id": "user:x"}
    if msg is not None and status != "success":
        item["error_message"] = msg
    return item


def executions(day: datetime, scale: int = 1) -> list[dict[str, Any]]:
    """One day of executions starting at ``day``: 4 + 1 + 1 failed, 5 successes (× scale)."""
    h = timedelta(hours=1)
    rows = []
    for k in range(scale):
        off = timedelta(minutes=k)
        rows += [
            ex(day + 1 * h + off, "helper-1", "acct-1", msg="contact 11 not found"),
            ex(day + 2 * h + off, "helper-1", "acct-1", msg="contact 12 not found"),
            ex(day + 3 * h + off, "helper-1", "acct-1", "timeout", msg="timeout after 30000ms"),
            ex(day + 4 * h + off, "helper-1", "acct-1", "error", msg="contact 13 not found"),
            ex(day + 5 * h + off, "helper-2", "acct-2", "error",
               msg=f"401 from API, request had Authorization: Bearer {JWT}"),
            ex(day + 6 * h + off, "helper-ghost", "acct-ghost", msg=None),
            *[ex(day + (7 + i) * h + off, "helper-2", "acct-2", "success") for i in range(5)],
        ]
    return rows


def seed(client: Any, days: int = 2, scale: int = 1) -> list[dict[str, Any]]:
    """Accounts, helpers and ``days`` days of executions ending with WINDOW; returns them."""
    rows: list[dict[str, Any]] = []
    for d in range(days):
        rows += executions(WINDOW.start - timedelta(days=d), scale)
    # the previous window has one failure fewer for helper-1
    rows = [r for r in rows if not (r["created_at"] == iso(START - timedelta(hours=23))
                                    and r["helper_id"] == "helper-1")]
    demo.write(client, "dev", {
        "accounts": [{"account_id": "acct-1", "name": "Acme"},
                     {"account_id": "acct-2", "name": "Globex"},
                     {"account_id": "acct-3", "name": "Quiet Inc"}],
        "helpers": [{"helper_id": "helper-1", "account_id": "acct-1", "name": "Tagger"},
                    {"helper_id": "helper-2", "account_id": "acct-2", "name": "Copier"}],
        "executions": rows,
    })
    return rows
