"""The parity suite's data: every DynamoDB type, big numbers, sets, binary, secrets."""

from __future__ import annotations

from typing import Any

from testkit import STAGE

T = f"mfh-{STAGE}-"
BIG = "12345678901234567890"
SECRET = "tok-secret-value"


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def users() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{
        "user_id": _s("user:abc-123"), "email": _s("user@example.com"), "name": _s("Ada Example"),
        "status": _s("active"), "cognito_user_id": _s("abc-123"), "score": {"N": BIG},
        "ratio": {"N": "0.1"}, "tags": {"SS": ["admin", "beta", "ops"]},
        "nums": {"NS": ["1", "2.5", BIG]}, "blob": {"B": b"\x00\x01hello"},
        "blobs": {"BS": [b"\x01", b"\x02\x03"]},
        "prefs": {"M": {"theme": _s("dark"), "langs": {"L": [_s("en"), {"N": "7"}]}}},
        "history": {"L": [_s("created"), {"M": {"at": _s("2025-01-01")}}]},
        "verified": {"BOOL": True}, "nick": {"NULL": True},
    }]
    for n in range(24):
        item: dict[str, Any] = {"user_id": _s(f"user:u-{n:02d}"), "email": _s(f"u{n}@example.org"),
                                "status": _s("active" if n % 3 else "disabled"),
                                "score": {"N": str(n * 10)}}
        if n % 4 == 0:
            item["tags"] = {"SS": [f"t{n}", "beta"] if n % 8 == 0 else [f"t{n}"]}
        if n == 5:
            item["blob"] = {"B": b"aGVsbG8="}
        out.append(item)
    return out


def seed(client: Any) -> None:
    for item in users():
        client.put_item(TableName=T + "users", Item=item)
    for n in range(3):
        client.put_item(TableName=T + "helpers", Item={
            "helper_id": _s(f"helper-{n}"), "account_id": _s("account-123"),
            "name": _s(f"Helper {n}"), "enabled": {"BOOL": True},
            "execution_count": {"N": str(n)}})
    client.put_item(TableName=T + "helpers", Item={
        "helper_id": _s("helper-x"), "account_id": _s("account-999"), "name": _s("Other")})
    for n in range(15):
        client.put_item(TableName=T + "executions", Item={
            "execution_id": _s(f"exec-{n:02d}"), "helper_id": _s("helper-123"),
            "account_id": _s("account-123"), "created_at": _s(f"2025-02-{n + 1:02d}T10:00:00Z"),
            "status": _s("failed" if n % 4 == 0 else "success"),
            "duration_ms": {"N": str(100 + n)}, "input": {"M": {"contact": {"M": {"id": {"N": str(n)}}}}}})
    for acct in ("account-123", "account-456"):
        client.put_item(TableName=T + "user-accounts", Item={
            "user_id": _s("user:abc-123"), "account_id": _s(acct), "role": _s("owner")})
    client.put_item(TableName=T + "platform-connection-auths", Item={
        "auth_id": _s("auth-1"), "connection_id": _s("conn-1"), "access_token": _s(SECRET)})
