"""The seed's twelve access patterns as typed functions over the store.

Each names its table and index once, via the declared schema, and returns a ``Page``
(with ``last_key`` for the next page). Listing executions is newest-first, as the seed's
"created_at desc" says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from dynamo.store import Page, Store

DEFAULT_LIMIT = 25


def _lookup(
    store: Store,
    short: str,
    attr: str,
    value: str,
    index: str | None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    start_key: Mapping[str, Any] | None = None,
    desc: bool = False,
    since: datetime | None = None,
    statuses: Iterable[str] | None = None,
    sort_attr: str | None = None,
) -> Page:
    table, full = store.table(short)
    cond: ConditionBase = Key(attr).eq(value)
    if since is not None and sort_attr:
        cond = cond & Key(sort_attr).gte(iso(since))
    flt = None
    wanted = [s for s in (statuses or []) if s]
    if wanted:
        flt = Attr("status").is_in(wanted) if len(wanted) > 1 else Attr("status").eq(wanted[0])
    return store.query(
        full,
        cond,
        index=index,
        filter=flt,
        desc=desc,
        max_items=limit,
        start_key=start_key,
        key_names=table.key_names_for(index),
    )


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a Z, the platform's timestamp format."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_user(store: Store, user_id: str) -> Page:
    return store.get(store.name("users"), {"user_id": user_id})


def find_user_by_email(store: Store, email: str, **kw: Any) -> Page:
    return _lookup(store, "users", "email", email, "EmailIndex", **kw)


def find_user_by_cognito_sub(store: Store, sub: str, **kw: Any) -> Page:
    return _lookup(store, "users", "cognito_user_id", sub, "CognitoUserIdIndex", **kw)


def list_user_accounts(store: Store, user_id: str, **kw: Any) -> Page:
    return _lookup(store, "user-accounts", "user_id", user_id, None, **kw)


def list_account_members(store: Store, account_id: str, **kw: Any) -> Page:
    return _lookup(store, "user-accounts", "account_id", account_id, "AccountIdIndex", **kw)


def list_account_helpers(store: Store, account_id: str, **kw: Any) -> Page:
    return _lookup(store, "helpers", "account_id", account_id, "AccountIdIndex", **kw)


def list_account_connections(store: Store, account_id: str, **kw: Any) -> Page:
    return _lookup(store, "connections", "account_id", account_id, "AccountIdIndex", **kw)


def list_account_executions(
    store: Store,
    account_id: str,
    *,
    since: datetime | None = None,
    statuses: Iterable[str] | None = None,
    **kw: Any,
) -> Page:
    return _lookup(
        store, "executions", "account_id", account_id, "AccountIdCreatedAtIndex",
        desc=True, since=since, statuses=statuses, sort_attr="created_at", **kw,
    )


def list_helper_executions(
    store: Store,
    helper_id: str,
    *,
    since: datetime | None = None,
    statuses: Iterable[str] | None = None,
    **kw: Any,
) -> Page:
    return _lookup(
        store, "executions", "helper_id", helper_id, "HelperIdCreatedAtIndex",
        desc=True, since=since, statuses=statuses, sort_attr="created_at", **kw,
    )


def find_platform_by_slug(store: Store, slug: str, **kw: Any) -> Page:
    return _lookup(store, "platforms", "slug", slug, "SlugIndex", **kw)


def find_auth_by_connection(store: Store, connection_id: str, **kw: Any) -> Page:
    return _lookup(
        store, "platform-connection-auths", "connection_id", connection_id,
        "ConnectionIdIndex", **kw,
    )


def find_api_key_by_hash(store: Store, key_hash: str, **kw: Any) -> Page:
    return _lookup(store, "api-keys", "key_hash", key_hash, "KeyHashIndex", **kw)
