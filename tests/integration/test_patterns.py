"""The twelve access patterns against the demo data, checked against direct boto3 calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from dynamo import demo
from dynamo import patterns as ap
from dynamo.store import Page, Store
from testkit.worlds import read_only_seeded_fixtures

_de = TypeDeserializer()


# Every test here only reads: one seeded moto world for the module (testkit.worlds).
ddb, seeded = read_only_seeded_fixtures()


@pytest.fixture(scope="module")
def failing_helper(ddb: Any) -> str:
    """The demo helper with the most failed/error/timeout executions."""
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {"TableName": "mfh-dev-executions"}
    while True:
        resp = ddb.scan(**kwargs)
        for raw in resp["Items"]:
            if raw["status"]["S"] != "success":
                counts[raw["helper_id"]["S"]] += 1
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    helper, n = counts.most_common(1)[0]
    assert n >= 4
    return helper


def items_of(resp_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _de.deserialize(v) for k, v in i.items()} for i in resp_items]


def direct_query(
    ddb: Any, short: str, attr: str, value: str, index: str | None = None, *,
    desc: bool = False, sort: tuple[str, str, str] | None = None,
    statuses: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every item of a query written by hand with boto3 (the reference answer)."""
    names = {"#h": attr}
    values = {":h": {"S": value}}
    cond = "#h = :h"
    if sort:
        names["#r"] = sort[0]
        values[":r"] = {"S": sort[2]}
        cond += f" AND #r {sort[1]} :r"
    kwargs: dict[str, Any] = {
        "TableName": f"mfh-dev-{short}", "KeyConditionExpression": cond,
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        "ScanIndexForward": not desc,
    }
    if index:
        kwargs["IndexName"] = index
    if statuses:
        names["#s"] = "status"
        kwargs["FilterExpression"] = "#s IN (" + ", ".join(
            f":s{i}" for i in range(len(statuses))) + ")"
        values.update({f":s{i}": {"S": s} for i, s in enumerate(statuses)})
    out: list[dict[str, Any]] = []
    while True:
        resp = ddb.query(**kwargs)
        out.extend(items_of(resp["Items"]))
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def ids(items: list[dict[str, Any]], attr: str) -> list[str]:
    return [i[attr] for i in items]


def walk(fn: Callable[..., Page], limit: int, **kw: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow last_key -> start_key until the end; returns (items, pages)."""
    out: list[dict[str, Any]] = []
    start = None
    for pages in range(1, 500):
        page = fn(limit=limit, start_key=start, **kw)
        assert len(page.items) <= limit
        out.extend(page.items)
        if page.last_key is None:
            return out, pages
        start = page.last_key
    raise AssertionError("pagination did not end")


# -- single-item and small lookups ------------------------------------------------------
def test_get_user(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.get_user(store, demo.DEMO_USER_ID)
    direct = ddb.get_item(TableName="mfh-dev-users",
                          Key={"user_id": {"S": demo.DEMO_USER_ID}})["Item"]
    assert page.items == items_of([direct])
    assert page.items[0]["email"] == demo.DEMO_EMAIL
    assert page.last_key is None
    assert ap.get_user(store, "user:nobody").items == []


def test_find_user_by_email(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.find_user_by_email(store, demo.DEMO_EMAIL)
    assert page.items == direct_query(ddb, "users", "email", demo.DEMO_EMAIL, "EmailIndex")
    assert ids(page.items, "user_id") == [demo.DEMO_USER_ID]
    assert ap.find_user_by_email(store, "nobody@example.com").items == []


def test_find_user_by_cognito_sub(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.find_user_by_cognito_sub(store, demo.DEMO_SUB)
    assert page.items == direct_query(ddb, "users", "cognito_user_id", demo.DEMO_SUB,
                                      "CognitoUserIdIndex")
    assert ids(page.items, "user_id") == [demo.DEMO_USER_ID]


def test_list_user_accounts(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.list_user_accounts(store, demo.DEMO_USER_ID)
    expected = direct_query(ddb, "user-accounts", "user_id", demo.DEMO_USER_ID)
    assert page.items == expected
    assert len(expected) == 2
    assert demo.DEMO_ACCOUNT_ID in ids(page.items, "account_id")
    assert page.last_key is None


def test_list_account_members(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.list_account_members(store, demo.DEMO_ACCOUNT_ID)
    expected = direct_query(ddb, "user-accounts", "account_id", demo.DEMO_ACCOUNT_ID,
                            "AccountIdIndex")
    assert page.items == expected and len(expected) >= 2
    assert demo.DEMO_USER_ID in ids(page.items, "user_id")


def test_list_account_helpers(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.list_account_helpers(store, demo.DEMO_ACCOUNT_ID)
    expected = direct_query(ddb, "helpers", "account_id", demo.DEMO_ACCOUNT_ID, "AccountIdIndex")
    assert page.items == expected and len(expected) == 4
    assert demo.DEMO_HELPER_ID in ids(page.items, "helper_id")


def test_list_account_connections(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.list_account_connections(store, demo.DEMO_ACCOUNT_ID)
    expected = direct_query(ddb, "connections", "account_id", demo.DEMO_ACCOUNT_ID,
                            "AccountIdIndex")
    assert page.items == expected and len(expected) == 2
    assert demo.DEMO_CONNECTION_ID in ids(page.items, "connection_id")


def test_find_platform_by_slug(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.find_platform_by_slug(store, demo.DEMO_PLATFORM_SLUG)
    assert page.items == direct_query(ddb, "platforms", "slug", demo.DEMO_PLATFORM_SLUG,
                                      "SlugIndex")
    assert len(page.items) == 1 and page.items[0]["name"] == "HubSpot"
    assert ap.find_platform_by_slug(store, "nope").items == []


def test_find_auth_by_connection(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.find_auth_by_connection(store, demo.DEMO_CONNECTION_ID)
    assert page.items == direct_query(ddb, "platform-connection-auths", "connection_id",
                                      demo.DEMO_CONNECTION_ID, "ConnectionIdIndex")
    assert len(page.items) == 1
    # the data layer returns the stored item; redaction happens when a result is built
    assert page.items[0]["access_token"] == demo.DEMO_SECRETS[0]


def test_find_api_key_by_hash(store: Store, seeded: Any, ddb: Any) -> None:
    page = ap.find_api_key_by_hash(store, demo.DEMO_KEY_HASH)
    assert page.items == direct_query(ddb, "api-keys", "key_hash", demo.DEMO_KEY_HASH,
                                      "KeyHashIndex")
    assert ids(page.items, "key_id") == ["key-0001"]
    assert ap.find_api_key_by_hash(store, "0" * 64).items == []


# -- executions: newest first, windows, filters, pages ------------------------------------
EXEC_FNS = [
    (ap.list_account_executions, "account_id", demo.DEMO_ACCOUNT_ID, "AccountIdCreatedAtIndex"),
    (ap.list_helper_executions, "helper_id", demo.DEMO_HELPER_ID, "HelperIdCreatedAtIndex"),
]


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
def test_executions_newest_first(store: Store, seeded: Any, ddb: Any, fn: Any, attr: str,
                                 value: str, index: str) -> None:
    page = fn(store, value, limit=None)
    expected = direct_query(ddb, "executions", attr, value, index, desc=True)
    assert len(expected) > 3
    assert ids(page.items, "execution_id") == ids(expected, "execution_id")
    assert page.items == expected
    created = ids(page.items, "created_at")
    assert created == sorted(created, reverse=True)
    assert all(i[attr] == value for i in page.items)
    assert page.last_key is None


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
def test_executions_default_limit(store: Store, seeded: Any, fn: Any, attr: str, value: str,
                                  index: str) -> None:
    page = fn(store, value)
    assert len(page.items) <= ap.DEFAULT_LIMIT


def test_account_executions_default_limit_truncates_with_next_key(store: Store,
                                                                  seeded: Any) -> None:
    everything = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID, limit=None).items
    assert len(everything) > ap.DEFAULT_LIMIT
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID)
    assert len(page.items) == ap.DEFAULT_LIMIT
    assert page.last_key is not None
    assert page.items == everything[: ap.DEFAULT_LIMIT]


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_executions_pages_cover_everything_once(store: Store, seeded: Any, ddb: Any, fn: Any,
                                                attr: str, value: str, index: str,
                                                limit: int) -> None:
    expected = ids(direct_query(ddb, "executions", attr, value, index, desc=True),
                   "execution_id")
    got, pages = walk(lambda **kw: fn(store, value, **kw), limit)
    assert ids(got, "execution_id") == expected
    assert pages >= len(expected) // limit


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.parametrize("statuses", [["failed", "error", "timeout"], ["success"]])
def test_filtered_pages_cover_everything_once(store: Store, seeded: Any, ddb: Any, fn: Any,
                                              attr: str, value: str, index: str, limit: int,
                                              statuses: list[str], failing_helper: str) -> None:
    # a status filter makes the store read whole pages and stop inside one
    if attr == "helper_id":
        value = failing_helper
    expected = ids(direct_query(ddb, "executions", attr, value, index, desc=True,
                                statuses=statuses), "execution_id")
    assert len(expected) > limit
    got, _ = walk(lambda **kw: fn(store, value, statuses=statuses, **kw), limit)
    assert ids(got, "execution_id") == expected
    assert len(set(ids(got, "execution_id"))) == len(got)
    assert all(i["status"] in statuses for i in got)


def test_filtered_page_stops_mid_page(store: Store, seeded: Any) -> None:
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID, statuses=["success"], limit=2)
    assert len(page.items) == 2
    assert page.last_key is not None
    # the next key points at the last item kept, in the index's key terms
    last = page.items[-1]
    assert page.last_key == {"execution_id": last["execution_id"],
                             "account_id": last["account_id"], "created_at": last["created_at"]}


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
def test_status_filter_reserved_word(store: Store, seeded: Any, ddb: Any, fn: Any, attr: str,
                                     value: str, index: str) -> None:
    # `status` is a DynamoDB reserved word: it must go through a name placeholder
    for statuses in (["failed"], ["failed", "error"], ["success"]):
        page = fn(store, value, statuses=statuses, limit=None)
        expected = direct_query(ddb, "executions", attr, value, index, desc=True,
                                statuses=statuses)
        assert page.items == expected
        assert all(i["status"] in statuses for i in page.items)


def test_status_filter_all_failed_statuses_demo_account(store: Store, seeded: Any) -> None:
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID,
                                      statuses=["failed", "error", "timeout"], limit=None)
    assert page.items
    # empty strings in the status list are ignored, not a filter on ""
    same = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID,
                                      statuses=["failed", "", "error", "timeout"], limit=None)
    assert same.items == page.items


@pytest.mark.parametrize(("fn", "attr", "value", "index"), EXEC_FNS)
@pytest.mark.parametrize("hours", [6, 24, 72])
def test_since_window(store: Store, seeded: Any, ddb: Any, fn: Any, attr: str, value: str,
                      index: str, hours: int) -> None:
    since = datetime.now(UTC) - timedelta(hours=hours)
    page = fn(store, value, since=since, limit=None)
    expected = direct_query(ddb, "executions", attr, value, index, desc=True,
                            sort=("created_at", ">=", ap.iso(since)))
    assert page.items == expected
    assert all(i["created_at"] >= ap.iso(since) for i in page.items)
    everything = fn(store, value, limit=None).items
    in_window = [i for i in everything if i["created_at"] >= ap.iso(since)]
    assert page.items == in_window


def test_since_and_status_together(store: Store, seeded: Any, ddb: Any) -> None:
    since = datetime.now(UTC) - timedelta(days=3)
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID, since=since,
                                      statuses=["success"], limit=None)
    everything = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID, limit=None).items
    expected = [i for i in everything
                if i["created_at"] >= ap.iso(since) and i["status"] == "success"]
    assert page.items == expected and expected


def test_since_in_the_future_is_empty(store: Store, seeded: Any) -> None:
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID,
                                      since=datetime.now(UTC) + timedelta(days=1))
    assert page.items == [] and page.last_key is None


def test_iso_is_utc_with_z() -> None:
    from zoneinfo import ZoneInfo

    dt = datetime(2025, 2, 5, 1, 2, 3, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ap.iso(dt) == "2025-02-05T00:02:03Z"


# -- pages of the small lists ------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "short", "attr", "value", "index", "id_attr"),
    [
        (ap.list_account_members, "user-accounts", "account_id", demo.DEMO_ACCOUNT_ID,
         "AccountIdIndex", "user_id"),
        (ap.list_account_helpers, "helpers", "account_id", demo.DEMO_ACCOUNT_ID,
         "AccountIdIndex", "helper_id"),
        (ap.list_user_accounts, "user-accounts", "user_id", demo.DEMO_USER_ID, None,
         "account_id"),
    ],
)
def test_small_lists_page_one_by_one(store: Store, seeded: Any, ddb: Any, fn: Any, short: str,
                                     attr: str, value: str, index: str | None,
                                     id_attr: str) -> None:
    expected = ids(direct_query(ddb, short, attr, value, index), id_attr)
    got, pages = walk(lambda **kw: fn(store, value, **kw), 1)
    assert ids(got, id_attr) == expected
    assert pages >= len(expected)


def test_page_costs_are_reported(store: Store, seeded: Any) -> None:
    page = ap.list_account_executions(store, demo.DEMO_ACCOUNT_ID, limit=5)
    assert page.calls >= 1
    assert page.scanned >= 5
    assert page.consumed >= 0
