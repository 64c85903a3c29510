"""Every read command through ``commands.dispatch`` against the seeded demo data (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from commands import REGISTRY, Context, dispatch
from commands.results import ErrorResult, ItemsResult, TableResult, TextResult
from dynamo import demo
from dynamo.schema import ACCESS_PATTERNS, TABLES
from dynamo.store import Store
from testkit import STAGE, engine, scan_all
from testkit.worlds import read_only_seeded_fixtures

_de = TypeDeserializer()
UID = demo.DEMO_USER_ID
ACCT = demo.DEMO_ACCOUNT_ID


# Every test here only reads: one seeded moto world for the module (testkit.worlds).
ddb, seeded = read_only_seeded_fixtures()


@pytest.fixture
def run(ctx: Context, seeded: Any) -> Any:
    def _run(text: str) -> Any:
        return dispatch(text, ctx)

    return _run


def table_items(ddb: Any, short: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": f"mfh-dev-{short}"}
    while True:
        resp = ddb.scan(**kwargs)
        out.extend({k: _de.deserialize(v) for k, v in i.items()} for i in resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def ok_items(result: Any) -> ItemsResult:
    assert isinstance(result, ItemsResult), getattr(result, "message", result)
    assert result.ok
    return result


def col(items: list[dict[str, Any]], attr: str) -> list[Any]:
    return [i[attr] for i in items]


def all_pages(ctx: Context, text: str, max_pages: int = 200) -> tuple[list[dict[str, Any]], int]:
    """Run a paged command, pressing "Next page" (ctx.start_key = next_key) to the end."""
    items: list[dict[str, Any]] = []
    ctx.start_key = None
    for pages in range(1, max_pages):
        result = ok_items(dispatch(text, ctx))
        items.extend(result.items)
        if result.next_key is None:
            ctx.start_key = None
            return items, pages
        ctx.start_key = result.next_key
    raise AssertionError("paging did not end")


def text_of(result: Any) -> str:
    assert isinstance(result, TextResult), getattr(result, "message", result)
    return result.title + "\n" + "\n".join(f"{h}\n{b}" for h, b in result.sections)


# -- help -----------------------------------------------------------------------------------
def test_help_lists_every_command(run: Any) -> None:
    body = text_of(run("help"))
    for name, cmd in REGISTRY.items():
        assert cmd.usage in body, name
    for name in ("query", "scan", "get", "describe", "executions", "auth", "api-key"):
        assert f"/ddb {name}" in body


def test_empty_text_is_help(run: Any) -> None:
    assert run("").title == run("help").title
    assert run("/ddb").title == run("help").title


def test_help_one_command(run: Any) -> None:
    result = run("help query")
    body = text_of(result)
    assert result.title == "/ddb query"
    assert REGISTRY["query"].usage in body
    assert "begins_with" in body
    assert "Examples" in body
    assert run("help QUERY").title == "/ddb query"


def test_help_unknown_command(run: Any) -> None:
    result = run("help nope")
    assert isinstance(result, ErrorResult)
    assert "nope" in result.message and "unknown subcommand" in result.message
    assert "/ddb" in result.usage


# -- tables / describe / schema / patterns ------------------------------------------------
def test_tables(run: Any, ddb: Any) -> None:
    result = run("tables")
    assert isinstance(result, TableResult)
    assert result.columns == ["table", "status", "items", "size", "GSIs"]
    rows = {r[0]: r for r in result.rows}
    assert set(rows) == {t.short for t in TABLES}
    for t in TABLES:
        assert rows[t.short][1] == "ACTIVE"
        assert rows[t.short][2] == str(len(table_items(ddb, t.short)))
        for idx in t.indexes:
            assert idx.name in rows[t.short][4]
    assert rows["executions"][2] == "320"
    assert rows["oauth-states"][4] == "-"
    # the bot's own table is named, not mistaken for a platform table
    assert any("mfh-dev-ddb-bot" in n for n in result.notes)


def test_tables_takes_no_arguments(run: Any) -> None:
    result = run("tables users")
    assert isinstance(result, ErrorResult) and result.usage == "/ddb tables"


@pytest.mark.parametrize("short", [t.short for t in TABLES])
def test_describe_declared_tables_have_no_drift(run: Any, short: str) -> None:
    result = run(f"describe {short}")
    body = text_of(result)
    assert result.title == f"mfh-dev-{short}"
    sections = dict(result.sections)
    assert sections["Drift vs declared schema"] == "none: matches the declared schema"
    table = next(t for t in TABLES if t.short == short)
    for idx in table.indexes:
        assert idx.name in sections["Global secondary indexes"]
    assert "ACTIVE" in body and "PAY_PER_REQUEST" in body
    if table.ttl_attribute:
        assert f"ENABLED on `{table.ttl_attribute}`" in body
    if table.stream_view:
        assert table.stream_view in body
    if engine.on_moto():
        assert ("*PITR*: ENABLED" in body) == table.pitr
    else:  # DynamoDB Local has no PITR (test_engine_differences.py)
        assert "*PITR*: unknown" in body
    assert ("*Deletion protection*: on" in body) == table.deletion_protection


def test_describe_full_name(run: Any) -> None:
    assert run("describe mfh-dev-users").title == "mfh-dev-users"


@pytest.fixture
def fresh_region(ddb: Any) -> Iterator[Context]:
    """The declared tables, unseeded, in a region of their own, to break on purpose.

    Depends on ``ddb`` so that it always runs inside the module's DynamoDB (moto's mock, or
    DynamoDB Local's database, which a client of its own reaches through the environment).
    """
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables

    client = dynamodb_client("eu-west-1")
    created = create_platform_tables(client, STAGE)
    assert len(created) == len(TABLES)
    yield Context(store=Store(client, STAGE), user_id="U_TESTER", stage=STAGE, region="eu-west-1")
    for t in TABLES:
        name = t.full_name(STAGE)
        # DynamoDB Local refuses UpdateTable (InternalFailure) while an index the test made
        # or deleted is still CREATING / DELETING; moto settles at once
        engine.settled(client, name)
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
        client.delete_table(TableName=name)


def drift_of(ctx: Context, short: str) -> str:
    result = dispatch(f"describe {short}", ctx)
    return dict(result.sections)["Drift vs declared schema"]


def test_describe_reports_drift(ddb: Any, fresh_region: Context) -> None:
    ctx = fresh_region
    client = ctx.store.client
    for t in TABLES:
        assert drift_of(ctx, t.short).startswith("none")

    # TTL turned off on executions
    client.update_time_to_live(TableName="mfh-dev-executions", TimeToLiveSpecification={
        "Enabled": False, "AttributeName": "ttl"})
    assert "TTL should be on `ttl`" in drift_of(ctx, "executions")

    # a declared GSI deleted
    client.update_table(TableName="mfh-dev-users", GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "EmailIndex"}}])
    users = drift_of(ctx, "users")
    assert "GSI `EmailIndex` is declared but missing" in users
    assert "CognitoUserIdIndex" not in users

    # an undeclared GSI added
    client.update_table(
        TableName="mfh-dev-helpers",
        AttributeDefinitions=[{"AttributeName": "connection_id", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "ConnectionIdIndex",
            "KeySchema": [{"AttributeName": "connection_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    assert "GSI `ConnectionIdIndex` exists but is not declared" in drift_of(ctx, "helpers")

    # PITR off where declared on (DynamoDB Local has no PITR: tests/integration/
    # test_engine_differences.py pins that describe then makes no claim about it)
    if engine.on_moto():
        client.update_continuous_backups(TableName="mfh-dev-accounts",
                                         PointInTimeRecoverySpecification={
                                             "PointInTimeRecoveryEnabled": False})
        assert "PITR is off, declared on" in drift_of(ctx, "accounts")

    # deletion protection off where declared on
    client.update_table(TableName="mfh-dev-platforms", DeletionProtectionEnabled=False)
    assert "deletion protection is off, declared on" in drift_of(ctx, "platforms")

    # TTL on where none is declared
    client.update_time_to_live(TableName="mfh-dev-connections", TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires"})
    assert "TTL is on `expires` but not declared" in drift_of(ctx, "connections")

    # untouched tables still match
    for short in ("user-accounts", "api-keys", "oauth-states", "platform-connection-auths"):
        assert drift_of(ctx, short).startswith("none"), short


def test_schema_of_a_table(run: Any) -> None:
    result = run("schema users")
    body = text_of(result)
    assert result.title == "mfh-dev-users (declared)"
    for text in ("`user_id`", "EmailIndex", "CognitoUserIdIndex", "`email` S", "phone_number",
                 "NEW_AND_OLD_IMAGES"):
        assert text in body
    auths = text_of(run("schema platform-connection-auths"))
    for secret in ("access_token", "refresh_token", "api_key", "api_secret"):
        assert secret in auths
    assert "ConnectionIdIndex" in auths
    ex = text_of(run("schema executions"))
    assert "*TTL*: ttl" in ex and "`duration_ms` N" in ex and "`input` M" in ex
    assert "`enabled` BOOL" in text_of(run("schema helpers"))
    oauth = text_of(run("schema oauth-states"))
    assert "`state_id`" in oauth and "*TTL*: expires_at" in oauth


def test_schema_patterns_and_patterns(run: Any) -> None:
    for text in ("schema patterns", "patterns"):
        result = run(text)
        assert isinstance(result, TableResult)
        assert len(result.rows) == 12
        assert [r[0] for r in result.rows] == [p[0] for p in ACCESS_PATTERNS]
        assert result.columns == ["pattern", "table", "index", "key condition", "command"]
    rows = {r[0]: r for r in run("patterns").rows}
    assert rows["Find user by email"][2] == "EmailIndex"
    assert rows["Get user by ID"][2] == "(table)"


# -- count ----------------------------------------------------------------------------------
def test_count_approximate(run: Any) -> None:
    result = run("count users")
    body = text_of(result)
    assert "12" in result.title and "about" in result.title
    assert "approximate" in body


def test_count_exact(run: Any, ddb: Any) -> None:
    result = run("count executions --exact")
    assert result.title == "mfh-dev-executions: 320 items (counted)"
    assert "+" not in result.title
    assert run("count users --exact").title == "mfh-dev-users: 12 items (counted)"


def test_count_with_filter(run: Any, ddb: Any) -> None:
    expected = sum(1 for i in table_items(ddb, "executions") if i["status"] == "failed")
    result = run('count executions --filter "status = failed"')
    assert result.title == f"mfh-dev-executions: {expected} items (counted)"


def test_count_exact_is_capped(ctx: Context, seeded: Any, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)
    ctx.settings = load_settings(ddb_bot_count_cap=5)
    result = dispatch("count executions --exact", ctx)
    assert "5+" in result.title
    assert any("cap 5" in n for n in result.notes)
    ctx.settings = load_settings(ddb_bot_count_cap=1000)
    assert dispatch("count executions --exact", ctx).title.endswith(": 320 items (counted)")


# -- get --------------------------------------------------------------------------------------
def test_get_by_hash_key(run: Any, ddb: Any) -> None:
    result = ok_items(run(f"get users {UID}"))
    assert result.single and len(result.items) == 1
    assert result.items[0]["user_id"] == UID and result.items[0]["email"] == demo.DEMO_EMAIL
    assert result.table == "users"


@pytest.mark.parametrize(
    "key",
    [
        UID,
        f"user_id={UID}",
        f"'{{\"user_id\":{{\"S\":\"{UID}\"}}}}'",
        f"'{{\"user_id\": \"{UID}\"}}'",
    ],
)
def test_get_key_forms(run: Any, key: str) -> None:
    result = ok_items(run(f"get users {key}"))
    assert col(result.items, "user_id") == [UID]
    assert ok_items(run(f"get mfh-dev-users {key}")).items == result.items


def test_get_user_accounts_pk_sk(run: Any) -> None:
    result = ok_items(run(f"get user-accounts {UID} {ACCT}"))
    assert result.items[0]["user_id"] == UID and result.items[0]["account_id"] == ACCT
    same = ok_items(run(f"get user-accounts account_id={ACCT} user_id={UID}"))
    assert same.items == result.items
    as_json = ok_items(run(
        f"""get user-accounts '{{"user_id":{{"S":"{UID}"}},"account_id":{{"S":"{ACCT}"}}}}'"""))
    assert as_json.items == result.items


def test_get_oauth_state_alias(run: Any, ddb: Any) -> None:
    state_id = table_items(ddb, "oauth-states")[0]["state_id"]
    for text in (f"get oauth-states state={state_id}", f"get oauth-states {state_id}",
                 f"get oauth-states state_id={state_id}"):
        result = ok_items(run(text))
        assert col(result.items, "state_id") == [state_id]


def test_get_share_flag(run: Any) -> None:
    assert run(f"get users {UID} --share").share is True
    assert run(f"get users {UID}").share is False
    assert run("get users user:nope --share").share is False


# -- query ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def acct_execs(ddb: Any) -> list[dict[str, Any]]:
    """The demo account's executions, oldest first (index order)."""
    items = [i for i in table_items(ddb, "executions") if i["account_id"] == ACCT]
    return sorted(items, key=lambda i: (i["created_at"], i["execution_id"]))


def test_query_table_key(run: Any) -> None:
    result = ok_items(run(f"query user-accounts user_id={UID}"))
    assert result.index is None
    assert sorted(col(result.items, "account_id")) == ["acct-0001", "acct-0004"]


@pytest.mark.parametrize(
    ("text", "index", "expected_user"),
    [
        (f"query users email={demo.DEMO_EMAIL}", "EmailIndex", UID),
        (f"query users cognito_user_id={demo.DEMO_SUB}", "CognitoUserIdIndex", UID),
        (f"query users user_id={UID}", None, UID),
    ],
)
def test_query_picks_the_index(run: Any, text: str, index: str | None,
                               expected_user: str) -> None:
    result = ok_items(run(text))
    assert result.index == index
    assert col(result.items, "user_id") == [expected_user]


def test_query_auto_and_explicit_index_agree(run: Any, acct_execs: list[dict[str, Any]]) -> None:
    auto = ok_items(run(f"query executions account_id={ACCT} --limit 100"))
    explicit = ok_items(run(
        f"query executions --index AccountIdCreatedAtIndex account_id={ACCT} --limit 100"))
    lower = ok_items(run(
        f"query executions --index accountidcreatedatindex account_id={ACCT} --limit 100"))
    assert auto.index == explicit.index == "AccountIdCreatedAtIndex"
    assert auto.items == explicit.items == lower.items
    assert col(auto.items, "execution_id") == col(acct_execs, "execution_id")


def test_query_members_through_gsi(run: Any, ddb: Any) -> None:
    result = ok_items(run(f"query user-accounts account_id={ACCT}"))
    assert result.index == "AccountIdIndex"
    expected = [i for i in table_items(ddb, "user-accounts") if i["account_id"] == ACCT]
    assert sorted(col(result.items, "user_id")) == sorted(col(expected, "user_id"))


def test_query_helper_executions_by_index(run: Any, ddb: Any) -> None:
    result = ok_items(run(
        f"query executions --index HelperIdCreatedAtIndex helper_id={demo.DEMO_HELPER_ID} "
        "--limit 100"))
    expected = sorted((i for i in table_items(ddb, "executions")
                       if i["helper_id"] == demo.DEMO_HELPER_ID), key=lambda i: i["created_at"])
    assert col(result.items, "execution_id") == col(expected, "execution_id")


@pytest.mark.parametrize("op", ["=", "<", "<=", ">", ">=", "between", "begins_with"])
def test_query_sort_key_operators(run: Any, acct_execs: list[dict[str, Any]], op: str) -> None:
    times = col(acct_execs, "created_at")
    pivot, low, high = times[len(times) // 2], times[len(times) // 4], times[3 * len(times) // 4]
    prefix = pivot[:10]  # the day
    checks = {
        "=": (f"created_at = {pivot}", lambda t: t == pivot),
        "<": (f"created_at < {pivot}", lambda t: t < pivot),
        "<=": (f"created_at <= {pivot}", lambda t: t <= pivot),
        ">": (f"created_at > {pivot}", lambda t: t > pivot),
        ">=": (f"created_at >= {pivot}", lambda t: t >= pivot),
        "between": (f"created_at between {low} and {high}", lambda t: low <= t <= high),
        "begins_with": (f"created_at begins_with {prefix}", lambda t: t.startswith(prefix)),
    }
    cond, keep = checks[op]
    expected = [i for i in acct_execs if keep(i["created_at"])]
    assert expected
    result = ok_items(run(f"query executions account_id={ACCT} {cond} --limit 100"))
    assert col(result.items, "execution_id") == col(expected, "execution_id")


def test_query_sort_key_on_user_accounts(run: Any) -> None:
    one = ok_items(run(f"query user-accounts user_id={UID} account_id = {ACCT}"))
    assert col(one.items, "account_id") == [ACCT]
    both = ok_items(run(f"query user-accounts user_id={UID} account_id begins_with acct-000"))
    assert len(both.items) == 2
    assert ok_items(run(f"query user-accounts user_id={UID} account_id > acct-9")).items == []


def test_query_desc_and_limit(run: Any, ctx: Context, acct_execs: list[dict[str, Any]]) -> None:
    ids = col(acct_execs, "execution_id")
    desc = ok_items(run(f"query executions account_id={ACCT} --desc --limit 100"))
    assert col(desc.items, "execution_id") == ids[::-1]
    three = ok_items(run(f"query executions account_id={ACCT} --desc --limit 3"))
    assert col(three.items, "execution_id") == ids[::-1][:3]
    assert three.next_key is not None
    default = ok_items(run(f"query executions account_id={ACCT}"))
    assert len(default.items) == 25
    # Next page walks everything exactly once, in order
    got, pages = all_pages(ctx, f"query executions account_id={ACCT} --desc --limit 4")
    assert col(got, "execution_id") == ids[::-1]
    assert pages >= len(ids) // 4


def test_query_with_filter(run: Any, ctx: Context, acct_execs: list[dict[str, Any]]) -> None:
    expected = [i for i in acct_execs if i["status"] == "failed"]
    result = ok_items(run(f'query executions account_id={ACCT} --filter "status = failed"'))
    assert col(result.items, "execution_id") == col(expected, "execution_id")
    mixed = ok_items(run(
        f"query executions account_id={ACCT} created_at >= {acct_execs[0]['created_at']} "
        "--filter 'status in (failed, error, timeout) and duration_ms >= 0' --limit 100"))
    assert col(mixed.items, "execution_id") == [
        i["execution_id"] for i in acct_execs if i["status"] != "success"]
    got, _ = all_pages(ctx, f"query executions account_id={ACCT} --filter 'status <> success' "
                            "--limit 2")
    assert col(got, "execution_id") == [
        i["execution_id"] for i in acct_execs if i["status"] != "success"]


def test_query_oauth_alias(run: Any, ddb: Any) -> None:
    state_id = table_items(ddb, "oauth-states")[0]["state_id"]
    result = ok_items(run(f"query oauth-states state={state_id}"))
    assert col(result.items, "state_id") == [state_id]


# -- scan ------------------------------------------------------------------------------------
def test_scan_default_and_limits(run: Any) -> None:
    result = ok_items(run("scan executions"))
    assert len(result.items) == 10 and result.next_key is not None
    assert len(ok_items(run("scan executions --limit 100")).items) == 100
    assert len(ok_items(run("scan executions --limit=3")).items) == 3
    small = ok_items(run("scan platforms --limit 100"))
    assert len(small.items) == 5 and small.next_key is None


def test_scan_next_page_covers_everything_once(ctx: Context, ddb: Any, seeded: Any) -> None:
    for short, limit in (("users", 5), ("executions", 100), ("helpers", 7)):
        got, pages = all_pages(ctx, f"scan {short} --limit {limit}")
        key = next(t for t in TABLES if t.short == short).keys.hash_key
        ids = col(got, key)
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(col(table_items(ddb, short), key))
        assert pages == -(-len(ids) // limit) or pages == len(ids) // limit + 1


def test_scan_with_filter(run: Any, ctx: Context, ddb: Any) -> None:
    everything = table_items(ddb, "executions")
    failed = sorted(i["execution_id"] for i in everything if i["status"] == "failed")
    got, _ = all_pages(ctx, 'scan executions --filter "status = failed" --limit 7')
    assert sorted(col(got, "execution_id")) == failed
    disabled = ok_items(run('scan helpers --filter "enabled = false" --limit 100'))
    assert sorted(col(disabled.items, "helper_id")) == sorted(
        i["helper_id"] for i in table_items(ddb, "helpers") if i["enabled"] is False)
    # `name` is a reserved word too
    ada = ok_items(run("scan users --filter \"name = 'Ada Lovelace'\" --limit 100"))
    assert UID in col(ada.items, "user_id")
    assert all(i["name"] == "Ada Lovelace" for i in ada.items)
    nested = ok_items(run("scan accounts --filter 'settings.max_helpers = 50' --limit 100"))
    assert len(nested.items) == 8
    assert ok_items(run("scan executions --filter 'attribute_exists(nope)'")).items == []


def test_scan_with_a_small_read_cap_still_pages_through(ddb: Any, seeded: Any) -> None:
    ctx = Context(store=Store(ddb, STAGE, read_cap=30), user_id="U_TESTER", stage=STAGE)
    first = ok_items(dispatch('scan executions --filter "status = failed" --limit 50', ctx))
    assert first.scanned <= 30
    assert first.next_key is not None
    assert any("read cap" in n for n in first.notes)
    got, _ = all_pages(ctx, 'scan executions --filter "status = failed" --limit 50')
    failed = sorted(i["execution_id"] for i in table_items(ddb, "executions")
                    if i["status"] == "failed")
    assert sorted(col(got, "execution_id")) == failed


# -- access-pattern commands ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arg", "how", "index"),
    [(UID, "user_id", None), (demo.DEMO_EMAIL, "email", "EmailIndex"),
     (demo.DEMO_SUB, "Cognito sub", "CognitoUserIdIndex")],
)
def test_user_by_id_email_sub(run: Any, arg: str, how: str, index: str | None) -> None:
    result = ok_items(run(f"user {arg}"))
    assert col(result.items, "user_id") == [UID]
    assert result.single and result.index == index
    assert how in result.title


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("user nobody@example.com", "no user"), ("user user:nope", "no user"),
     ("user 00000000-0000-4000-8000-000000000000", "no user"),
     ("user bogus", "not a user id"), ("user", "missing"), ("user a b", "expected one")],
)
def test_user_errors(run: Any, text: str, fragment: str) -> None:
    result = run(text)
    assert isinstance(result, ErrorResult)
    assert fragment in result.message
    assert result.usage.startswith("/ddb user")


def test_user_accounts(run: Any) -> None:
    result = ok_items(run(f"user-accounts {UID}"))
    assert sorted(col(result.items, "account_id")) == ["acct-0001", "acct-0004"]
    assert all(i["user_id"] == UID for i in result.items)


@pytest.mark.parametrize(
    ("cmd", "short", "id_attr"),
    [("members", "user-accounts", "user_id"), ("helpers", "helpers", "helper_id"),
     ("connections", "connections", "connection_id")],
)
def test_account_lists(run: Any, ddb: Any, cmd: str, short: str, id_attr: str) -> None:
    result = ok_items(run(f"{cmd} {ACCT}"))
    expected = [i for i in table_items(ddb, short) if i["account_id"] == ACCT]
    assert expected
    assert sorted(col(result.items, id_attr)) == sorted(col(expected, id_attr))
    assert result.index == "AccountIdIndex"
    one = ok_items(run(f"{cmd} {ACCT} --limit 1"))
    assert len(one.items) == 1 and one.next_key is not None
    empty = ok_items(run(f"{cmd} acct-none"))
    assert empty.items == [] and any("nothing found" in n for n in empty.notes)


@pytest.mark.parametrize(
    ("cmd", "attr", "value"),
    [("executions", "account_id", ACCT), ("helper-executions", "helper_id", demo.DEMO_HELPER_ID)],
)
def test_executions_commands(run: Any, ctx: Context, ddb: Any, cmd: str, attr: str,
                             value: str) -> None:
    mine = sorted((i for i in table_items(ddb, "executions") if i[attr] == value),
                  key=lambda i: i["created_at"], reverse=True)
    result = ok_items(run(f"{cmd} {value}"))
    assert "newest first" in result.title
    assert col(result.items, "execution_id") == col(mine, "execution_id")[:25]
    five = ok_items(run(f"{cmd} {value} --limit 5"))
    assert col(five.items, "execution_id") == col(mine, "execution_id")[:5]
    assert five.next_key is not None

    for window, delta in (("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)),
                          ("3d", timedelta(days=3)), ("1w", timedelta(weeks=1))):
        since = (ctx.now - delta).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = ok_items(run(f"{cmd} {value} --since {window} --limit 100"))
        assert col(recent.items, "execution_id") == [
            i["execution_id"] for i in mine if i["created_at"] >= since], window
        assert f"since {window}" in recent.title

    failed = ok_items(run(f"{cmd} {value} --status failed --limit 100"))
    assert col(failed.items, "execution_id") == [
        i["execution_id"] for i in mine if i["status"] == "failed"]
    several = ok_items(run(f"{cmd} {value} --status failed,error,timeout --limit 100"))
    assert col(several.items, "execution_id") == [
        i["execution_id"] for i in mine if i["status"] != "success"]

    got, _ = all_pages(ctx, f"{cmd} {value} --limit 3")
    assert col(got, "execution_id") == col(mine, "execution_id")
    got, _ = all_pages(ctx, f"{cmd} {value} --status success --limit 2")
    assert col(got, "execution_id") == [i["execution_id"] for i in mine
                                        if i["status"] == "success"]


def test_executions_week_window(run: Any, ddb: Any) -> None:
    result = ok_items(run(f"executions {ACCT} --since 8d --limit 100"))
    mine = [i for i in table_items(ddb, "executions") if i["account_id"] == ACCT]
    assert len(result.items) == len(mine)
    none = ok_items(run(f"executions {ACCT} --since 1s"))
    assert none.items == [] and any("in that window" in n for n in none.notes)


def test_platform(run: Any) -> None:
    result = ok_items(run(f"platform {demo.DEMO_PLATFORM_SLUG}"))
    assert result.single and result.items[0]["slug"] == "hubspot"
    assert result.index == "SlugIndex"
    missing = run("platform nope")
    assert isinstance(missing, ErrorResult) and "nope" in missing.message


def test_auth_is_redacted(run: Any) -> None:
    result = ok_items(run(f"auth {demo.DEMO_CONNECTION_ID}"))
    item = result.items[0]
    assert item["connection_id"] == demo.DEMO_CONNECTION_ID
    for attr in ("access_token", "refresh_token", "api_key", "api_secret"):
        assert item[attr] == "[redacted]"
    assert item["token_type"] == "Bearer"


def test_api_key_shows_hash_prefix_only(run: Any) -> None:
    result = ok_items(run(f"api-key {demo.DEMO_KEY_HASH}"))
    item = result.items[0]
    assert item["key_id"] == "key-0001"
    assert item["key_hash"] == demo.DEMO_KEY_HASH[:8] + "…"
    assert demo.DEMO_KEY_HASH not in repr(result.items)
    missing = run(f"api-key {'0' * 64}")
    assert isinstance(missing, ErrorResult)


def test_no_demo_secret_in_any_result(run: Any, ctx: Context, ddb: Any) -> None:
    leaky = next(i for i in table_items(ddb, "executions")
                 if demo.DEMO_SECRETS[3] in i.get("error_message", ""))
    commands = [
        f"auth {demo.DEMO_CONNECTION_ID}",
        "get platform-connection-auths auth-0001",
        "get platform-connection-auths auth_id=auth-0001",
        "query platform-connection-auths connection_id=conn-0001",
        "scan platform-connection-auths --limit 100",
        "scan platform-connection-auths --filter 'attribute_exists(access_token)' --limit 100",
        f"get executions {leaky['execution_id']}",
        f"executions {leaky['account_id']} --limit 100",
        f"executions {leaky['account_id']} --status failed --limit 100",
        f"helper-executions {leaky['helper_id']} --limit 100",
        f"query executions account_id={leaky['account_id']} --limit 100",
        "scan executions --limit 100 --filter 'contains(error_message, Bearer)'",
        "scan executions --limit 100",
        "describe platform-connection-auths",
        "schema platform-connection-auths",
        f"auth {demo.DEMO_SECRETS[3]}",
        f"members {demo.DEMO_SECRETS[3]}",
        f"scan executions --filter 'error_message = {demo.DEMO_SECRETS[3]}'",
    ]
    for text in commands:
        result = dispatch(text, ctx)
        dumped = result.model_dump_json()
        for secret in demo.DEMO_SECRETS:
            assert secret not in dumped, (text, secret)
            assert secret not in repr(result.model_dump()), (text, secret)
    # and every page of a full scan of the executions table
    got, _ = all_pages(ctx, "scan executions --limit 100")
    for secret in demo.DEMO_SECRETS:
        assert secret not in repr(got)


# -- bad input: one clear error with usage, nothing written -----------------------------------
BAD_INPUT = [
    ("frobnicate users", "unknown subcommand `frobnicate`"),
    ("get nope x", "unknown table `nope`"),
    ("get mfh-prod-users user:abc", "outside"),
    ("scan mfh-prod-users", "outside"),
    ("describe mfh-staging-users", "outside"),
    ("count nope --exact", "unknown table"),
    (f"get user-accounts {UID}", "account_id"),
    (f"get user-accounts user_id={UID}", "incomplete key"),
    ("get users", "missing key"),
    ("get", "missing table"),
    ("scan executions --filter 'duration_ms > abc'", "`duration_ms` is a number"),
    ("scan helpers --filter 'enabled = maybe'", "`enabled` is true or false"),
    ("""get users '{"user_id":'""", "not valid JSON"),
    ("""get users '{"user_id":{"N":"1"}}'""", "declared S"),
    ("""get users '{"user_id":{"S":"a"},"email":{"S":"b"}}'""", "not part of"),
    ("get users user_id=", "empty"),
    ('get users "user:abc', "quote"),
    ("scan users --filter 'status = = x'", "bad --filter"),
    ("scan users --filter 'status = x) OR (1 = 1'", "bad --filter"),
    ("scan users --filter 'status = x; DROP TABLE users'", "bad --filter"),
    ("scan users --filter '#s = x'", "bad --filter"),
    ("scan users --filter ''", "bad --filter"),
    ("scan users --filter", "needs a value"),
    ("scan users --filter 'a = \"\\x\"' --limit abc", "whole number"),
    ("scan users --filter '" + "(" * 40 + "a = 1" + ")" * 40 + "'", "bad --filter"),
    ("scan users --filter 'a = NaN and b = 1e400'", "does not fit"),
    ("query users --index NopeIndex email=x", "no index `NopeIndex`"),
    ("query users --index CognitoUserIdIndex email=x", "partition key"),
    ("query users status=active", "not a partition key"),
    ("query users", "partition key"),
    ("query users email=", "needs a value"),
    (f"query executions account_id={ACCT} created_at <> 2025", "sort-key"),
    (f"query executions account_id={ACCT} status = failed", "not the sort key"),
    (f"query executions account_id={ACCT} created_at > a and created_at < b", "at most one"),
    (f"query executions account_id={ACCT} --limit 0", "between 1 and 100"),
    ("scan users --limit 0", "between 1 and 100"),
    ("scan users --limit 101", "between 1 and 100"),
    ("scan users --limit -5", "between 1 and 100"),
    ("scan users --limit abc", "whole number"),
    (f"executions {ACCT} --limit 101", "between 1 and 100"),
    (f"members {ACCT} --limit 0", "between 1 and 100"),
    ("scan users --bogus", "unknown option `--bogus`"),
    ("scan users extra", "unexpected"),
    ("get users user:nope", "no item"),
    (f"get user-accounts {UID} acct-9999", "no item"),
    (f"executions {ACCT} --since yesterday", "not a duration"),
    (f"helper-executions {demo.DEMO_HELPER_ID} --since 0h", "not a duration"),
    (f"executions {ACCT} --since 500d", "longer than a year"),
    ("executions", "expected one"),
    ("members", "missing"),
    ("platform", "missing"),
    ("describe", "missing table"),
    ("schema nope", "unknown table"),
]


# The cases SPEC §3 names; each is also checked against a full scan of every table.
CORE_BAD_INPUT = {
    "frobnicate users", "get nope x", "get mfh-prod-users user:abc",
    f"get user-accounts user_id={UID}", "scan executions --filter 'duration_ms > abc'",
    """get users '{"user_id":'""", "scan users --filter 'status = = x'",
    "scan users --filter 'status = x) OR (1 = 1'", "query users --index NopeIndex email=x",
    "scan users --limit 0", "scan users --limit 101", "scan users --limit abc",
    "get users user:nope", f"executions {ACCT} --since yesterday",
}


@pytest.fixture(scope="module")
def baseline(ddb: Any) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table before any bad input ran (this module only reads)."""
    return scan_all(ddb)


def assert_clear_error(result: Any, text: str, fragment: str) -> None:
    assert isinstance(result, ErrorResult), (text, result)
    assert result.ok is False and result.share is False
    assert fragment.lower() in result.message.lower(), result.message
    assert result.usage.startswith("/ddb"), result.usage


@pytest.mark.parametrize(("text", "fragment"), BAD_INPUT)
def test_bad_input_is_one_clear_error(run: Any, text: str, fragment: str) -> None:
    assert_clear_error(run(text), text, fragment)


@pytest.mark.parametrize(("text", "fragment"),
                         [(t, f) for t, f in BAD_INPUT if t in CORE_BAD_INPUT])
def test_bad_input_writes_nothing(ddb: Any, run: Any, baseline: Any, text: str,
                                  fragment: str) -> None:
    # `baseline` is the state before: nothing in this module writes
    assert_clear_error(run(text), text, fragment)
    assert scan_all(ddb) == baseline


def test_all_bad_input_together_writes_nothing(ddb: Any, run: Any, baseline: Any) -> None:
    assert len(CORE_BAD_INPUT & {t for t, _ in BAD_INPUT}) == len(CORE_BAD_INPUT)
    assert len(baseline["mfh-dev-executions"]) == 320
    for text, fragment in BAD_INPUT:
        assert_clear_error(run(text), text, fragment)
    assert scan_all(ddb) == baseline


def test_usage_is_the_commands_own(run: Any) -> None:
    assert run("scan users --limit 0").usage == REGISTRY["scan"].usage
    assert run("get users user:nope").usage == REGISTRY["get"].usage
    assert run(f"executions {ACCT} --since x").usage == REGISTRY["executions"].usage
    assert "subcommands:" in run("frobnicate").usage


def test_the_process_keeps_serving_after_errors(run: Any) -> None:
    for text, _ in BAD_INPUT:
        run(text)
    assert ok_items(run(f"get users {UID}")).items
    assert ok_items(run(f"scan users --filter 'email = {demo.DEMO_EMAIL}'")).items
