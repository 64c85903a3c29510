"""Realistic, deterministic demo data for all ten tables.

Generated from the declared schema's shapes with a fixed random seed, relative to
"now" so that ``--since 24h`` has something to show. The auth table carries fake
tokens, and one execution's error message carries a bearer token: both must never
appear in any output (tests check).
"""

from __future__ import annotations

import hashlib
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dynamo.store import serialize_item

# Well-known demo identifiers (README examples and tests use them).
DEMO_SUB = "5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f"
DEMO_USER_ID = f"user:{DEMO_SUB}"
DEMO_EMAIL = "ada@example.com"
DEMO_ACCOUNT_ID = "acct-0001"
DEMO_HELPER_ID = "helper-0001"
DEMO_CONNECTION_ID = "conn-0001"
DEMO_PLATFORM_SLUG = "hubspot"
DEMO_KEY_HASH = hashlib.sha256(b"demo-api-key-0001").hexdigest()
# ``python -m bot demo`` without DDB_BOT_POLICY_FILE uses this policy, so break-glass can be
# tried there: act as the on-call (``as U_ONCALL``) to run a change with --break-glass
DEMO_ONCALL = "U_ONCALL"
DEMO_POLICY = f"break_glass: [{DEMO_ONCALL}]\n"
# Secret values seeded into the demo data; no output may ever contain them.
DEMO_SECRETS = (
    "ya29.demo-access-token-0001-ZXhhbXBsZQ",
    "1//demo-refresh-token-0001-c2VjcmV0",
    "demo-api-secret-0001-s3cr3t",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8",
)

PLATFORMS = [
    ("hubspot", "HubSpot", "crm"),
    ("keap", "Keap", "crm"),
    ("salesforce", "Salesforce", "crm"),
    ("gohighlevel", "GoHighLevel", "marketing"),
    ("activecampaign", "ActiveCampaign", "marketing"),
]
FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Edsger", "Radia", "Donald"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Dijkstra"]
HELPER_TYPES = [
    ("tag_contact", "Tag contact", "contacts"),
    ("copy_field", "Copy field", "data"),
    ("format_phone", "Format phone", "data"),
    ("score_lead", "Score lead", "automation"),
    ("sync_deal", "Sync deal", "integration"),
]
ERRORS = [
    "HubSpot API returned 429 Too Many Requests for contact {n}",
    "timeout after {n}ms waiting for Keap",
    "contact {uuid} not found",
    "invalid field mapping: field_{n} does not exist",
    "auth expired for connection conn-{n:04d}",
]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(scale: int = 1, now: datetime | None = None, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """All demo items, keyed by short table name."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "users", "accounts", "user-accounts", "api-keys", "connections", "helpers",
        "executions", "platforms", "platform-connection-auths", "oauth-states")}

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def ago(max_days: float) -> datetime:
        return now - timedelta(seconds=rng.uniform(0, max_days * 86400))

    for i, (slug, name, cat) in enumerate(PLATFORMS, 1):
        out["platforms"].append({
            "platform_id": f"plat-{i:04d}", "name": name, "slug": slug, "category": cat,
            "description": f"{name} CRM integration", "status": "active", "version": Decimal(3),
            "logo_url": f"https://cdn.example.com/logos/{slug}.png",
            "documentation_url": f"https://docs.example.com/{slug}",
            "oauth": {"authorize_url": f"https://auth.example.com/{slug}", "scopes": ["contacts"]},
            "api_config": {"base_url": f"https://api.example.com/{slug}", "rate_limit": Decimal(100)},
            "capabilities": ["contacts", "tags", "deals"][: 1 + i % 3],
            "created_at": _iso(now - timedelta(days=400 + i)), "updated_at": _iso(ago(60)),
        })

    n_accounts = 8 * scale
    n_users = 12 * scale
    users = []
    for u in range(n_users):
        sub = DEMO_SUB if u == 0 else uid()
        first, last = FIRST[u % len(FIRST)], LAST[u % len(LAST)]
        email = DEMO_EMAIL if u == 0 else f"{first.lower()}.{last.lower()}{u}@example.com"
        users.append({
            "user_id": f"user:{sub}", "cognito_user_id": sub, "email": email,
            "name": f"{first} {last}", "phone_number": f"+1555{rng.randrange(10**6, 10**7)}",
            "company": f"{last} Labs", "status": "active" if u % 9 else "suspended",
            "current_account_id": f"acct-{(u % n_accounts) + 1:04d}",
            "created_at": _iso(ago(300)), "updated_at": _iso(ago(30)), "last_login_at": _iso(ago(5)),
        })
    out["users"] = users

    for a in range(1, n_accounts + 1):
        owner = users[(a - 1) % n_users]
        acct = f"acct-{a:04d}"
        out["accounts"].append({
            "account_id": acct, "owner_user_id": owner["user_id"],
            "created_by_user_id": owner["user_id"], "name": f"{owner['company']} #{a}",
            "company": owner["company"], "plan": rng.choice(["starter", "pro", "agency"]),
            "status": "active", "stripe_customer_id": f"cus_demo{a:06d}",
            "settings": {"max_helpers": Decimal(50), "max_connections": Decimal(5)},
            "usage": {"helpers": Decimal(rng.randrange(1, 20)), "executions_month": Decimal(rng.randrange(10, 9000))},
            "created_at": _iso(ago(300)), "updated_at": _iso(ago(20)),
        })
    for u, user in enumerate(users):
        for j, acct_no in enumerate({(u % n_accounts) + 1, ((u + 3) % n_accounts) + 1}):
            out["user-accounts"].append({
                "user_id": user["user_id"], "account_id": f"acct-{acct_no:04d}",
                "role": "owner" if j == 0 else "member", "status": "active",
                "permissions": {"can_manage_helpers": j == 0, "can_execute_helpers": True},
                "linked_at": _iso(ago(200)), "updated_at": _iso(ago(10)),
            })

    conn_no = helper_no = 0
    helpers: list[dict[str, Any]] = []
    for a in range(1, n_accounts + 1):
        acct = f"acct-{a:04d}"
        key_no = a
        owner = users[(a - 1) % n_users]["user_id"]
        for _ in range(2):
            conn_no += 1
            slug, pname, _cat = PLATFORMS[conn_no % len(PLATFORMS)]
            conn_id = f"conn-{conn_no:04d}"
            auth_id = f"auth-{conn_no:04d}"
            out["connections"].append({
                "connection_id": conn_id, "account_id": acct, "user_id": owner,
                "platform_id": f"plat-{(conn_no % len(PLATFORMS)) + 1:04d}",
                "name": f"{pname} ({acct})", "status": "active", "auth_type": "oauth2",
                "auth_id": auth_id, "external_user_id": str(rng.randrange(10**8)),
                "external_app_id": f"app-{rng.randrange(10**5)}", "last_connected": _iso(ago(3)),
                "created_at": _iso(ago(200)), "updated_at": _iso(ago(3)), "last_synced_at": _iso(ago(1)),
                "sync_status": "ok", "sync_record_counts": {"contacts": Decimal(rng.randrange(100, 50000))},
            })
            secret_idx = conn_no - 1
            out["platform-connection-auths"].append({
                "auth_id": auth_id, "connection_id": conn_id, "account_id": acct, "user_id": owner,
                "platform_id": f"plat-{(conn_no % len(PLATFORMS)) + 1:04d}", "auth_type": "oauth2",
                "status": "active", "version": Decimal(1),
                "access_token": DEMO_SECRETS[0] if secret_idx == 0 else f"ya29.demo-{uid()}",
                "refresh_token": DEMO_SECRETS[1] if secret_idx == 0 else f"1//demo-{uid()}",
                "token_type": "Bearer", "expires_at": _iso(now + timedelta(hours=1)),
                "api_key": f"demo-key-{uid()}",
                "api_secret": DEMO_SECRETS[2] if secret_idx == 0 else f"demo-secret-{uid()}",
                "created_at": _iso(ago(200)), "updated_at": _iso(ago(1)), "last_used_at": _iso(ago(1)),
                "refresh_attempts": Decimal(0),
            })
            for _ in range(2):
                helper_no += 1
                htype, hname, hcat = HELPER_TYPES[helper_no % len(HELPER_TYPES)]
                helper = {
                    "helper_id": f"helper-{helper_no:04d}", "account_id": acct, "created_by": owner,
                    "connection_id": conn_id, "name": f"{hname} {helper_no}",
                    "description": f"{hname} for {pname}", "helper_type": htype, "category": hcat,
                    "status": "active", "config": {"field": "email", "tag": f"tag-{helper_no}"},
                    "config_schema": {"field": {"type": "string"}}, "enabled": helper_no % 7 != 0,
                    "execution_count": Decimal(0), "last_executed_at": _iso(ago(1)),
                    "created_at": _iso(ago(150)), "updated_at": _iso(ago(10)),
                }
                helpers.append(helper)
        raw_key = f"demo-api-key-{key_no:04d}".encode()
        out["api-keys"].append({
            "key_id": f"key-{key_no:04d}", "account_id": acct, "created_by": owner,
            "name": f"Zapier key {key_no}", "key_hash": hashlib.sha256(raw_key).hexdigest(),
            "key_prefix": f"mfh_{key_no:04d}", "permissions": {"execute": True},
            "status": "active", "last_used_at": _iso(ago(2)), "created_at": _iso(ago(100)),
            "expires_at": _iso(now + timedelta(days=300)),
        })
    out["helpers"] = helpers

    statuses = ["success"] * 16 + ["failed", "failed", "error", "timeout"]
    for e in range(40 * n_accounts):
        helper = helpers[rng.randrange(len(helpers))]
        created = ago(7)
        status = rng.choice(statuses)
        n = rng.randrange(1, 999)
        item: dict[str, Any] = {
            "execution_id": f"exec-{uid()}", "helper_id": helper["helper_id"],
            "account_id": helper["account_id"], "user_id": helper["created_by"],
            "connection_id": helper["connection_id"], "contact_id": str(rng.randrange(10**6)),
            "status": status, "trigger_type": rng.choice(["webhook", "api", "schedule"]),
            "input": {"contact_id": Decimal(n)}, "output": {"ok": status == "success"},
            "duration_ms": Decimal(rng.randrange(20, 9000)), "created_at": _iso(created),
            "started_at": _iso(created), "completed_at": _iso(created + timedelta(seconds=2)),
            "ttl": int((created + timedelta(days=30)).timestamp()),
        }
        if status != "success":
            item["error_message"] = rng.choice(ERRORS).format(n=n, uuid=uid())
        if e == 0:
            item["status"] = "failed"
            item["error_message"] = f"401 from API, request had Authorization: Bearer {DEMO_SECRETS[3]}"
        out["executions"].append(item)
        helper["execution_count"] += 1

    for s in range(3 * scale):
        out["oauth-states"].append({
            "state_id": uid(), "user_id": users[s % n_users]["user_id"],
            "account_id": f"acct-{(s % n_accounts) + 1:04d}",
            "platform_id": f"plat-{(s % len(PLATFORMS)) + 1:04d}",
            "redirect_uri": "https://app.example.com/oauth/callback",
            "metadata": {"return_to": "/connections"}, "created_at": _iso(now - timedelta(minutes=5)),
            "expires_at": int((now + timedelta(minutes=10)).timestamp()),
        })
    return out


def _batches(items: list[dict[str, Any]], size: int = 25) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write(client: Any, stage: str, data: dict[str, list[dict[str, Any]]],
          progress: Callable[[int, int], None] | None = None) -> int:
    """BatchWriteItem everything (retrying unprocessed items); returns the item count."""
    total = sum(len(v) for v in data.values())
    done = 0
    for short, items in data.items():
        name = f"mfh-{stage}-{short}"
        for batch in _batches(items):
            request = {name: [{"PutRequest": {"Item": serialize_item(i)}} for i in batch]}
            while request:
                resp = client.batch_write_item(RequestItems=request)
                request = resp.get("UnprocessedItems") or {}
            done += len(batch)
            if progress:
                progress(done, total)
    return total


def seed(client: Any, stage: str, scale: int = 1, show_progress: bool = False) -> int:
    data = generate(scale)
    return write(client, stage, data, _progress_bar if show_progress else None)


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\rseeding [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
