"""`/ddb aws dynamodb ...`: the seed's commands pasted verbatim, against moto.

Each read is compared with the same request made directly with boto3, so "works as
pasted" means "returns what the AWS CLI would", in the same order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from commands import Context, dispatch
from commands.results import ErrorResult, ItemsResult, JsonResult
from dynamo.store import deserialize_item, serialize_item
from testkit import REGION, STAGE, scan_all

# -- the seed's commands, copied verbatim -------------------------------------------------
SEED_GET = """aws dynamodb get-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc-123"}}' --region us-west-2"""  # noqa: E501
SEED_EMAIL = """aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex --key-condition-expression "email = :e" --expression-attribute-values '{":e":{"S":"user@example.com"}}' --region us-west-2"""  # noqa: E501
SEED_HELPERS = """aws dynamodb query --table-name mfh-dev-helpers --index-name AccountIdIndex --key-condition-expression "account_id = :aid" --expression-attribute-values '{":aid":{"S":"account-123"}}' --region us-west-2"""  # noqa: E501
SEED_EXECUTIONS = """aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex --key-condition-expression "helper_id = :hid" --expression-attribute-values '{":hid":{"S":"helper-123"}}' --scan-index-forward false --limit 10 --region us-west-2"""  # noqa: E501
SEED_SCAN = """aws dynamodb scan --table-name mfh-dev-users --max-items 10 --region us-west-2"""
SEED_COUNT = """aws dynamodb describe-table --table-name mfh-dev-users --region us-west-2 --query 'Table.ItemCount'"""
SEED_UPDATE = """aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = :s, updated_at = :u" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"},":u":{"S":"2025-02-05T00:00:00Z"}}' --region us-west-2"""  # noqa: E501
SEED_DELETE = """aws dynamodb delete-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --region us-west-2"""  # noqa: E501

USERS = f"mfh-{STAGE}-users"
HELPERS = f"mfh-{STAGE}-helpers"
EXECUTIONS = f"mfh-{STAGE}-executions"


def run(ctx: Context, text: str) -> Any:
    return dispatch(f"/ddb {text}", ctx)


def put(ddb: Any, table: str, item: dict[str, Any]) -> None:
    ddb.put_item(TableName=table, Item=serialize_item(item))


def items_of(resp: dict[str, Any]) -> list[dict[str, Any]]:
    return [deserialize_item(i) for i in resp.get("Items", [])]


@pytest.fixture
def data(ddb: Any) -> Any:
    """The seed's example ids, plus neighbours that must not show up."""
    put(ddb, USERS, {"user_id": "user:abc-123", "email": "user@example.com",
                     "name": "Ada Example", "status": "active", "cognito_user_id": "abc-123"})
    for n in range(14):
        put(ddb, USERS, {"user_id": f"user:u-{n:02d}", "email": f"u{n}@example.org",
                         "status": "active" if n % 3 else "disabled"})
    for n in range(3):
        put(ddb, HELPERS, {"helper_id": f"helper-{n}", "account_id": "account-123",
                           "name": f"Helper {n}", "enabled": True,
                           "execution_count": Decimal(n)})
    put(ddb, HELPERS, {"helper_id": "helper-x", "account_id": "account-999", "name": "Other"})
    for n in range(15):
        put(ddb, EXECUTIONS, {
            "execution_id": f"exec-{n:02d}", "helper_id": "helper-123",
            "account_id": "account-123", "created_at": f"2025-02-{n + 1:02d}T10:00:00Z",
            "status": "failed" if n % 4 == 0 else "success",
            "duration_ms": Decimal(100 + n), "input": {"contact": {"id": n}},
        })
    put(ddb, EXECUTIONS, {"execution_id": "exec-other", "helper_id": "helper-999",
                          "account_id": "account-123", "created_at": "2025-02-20T00:00:00Z",
                          "status": "failed"})
    return ddb


# -- the seed's reads -------------------------------------------------------------------
def test_seed_get_item(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_GET)
    assert isinstance(res, ItemsResult), res
    direct = data.get_item(TableName=USERS, Key={"user_id": {"S": "user:abc-123"}})
    assert res.items == [deserialize_item(direct["Item"])]
    assert res.single and res.table == "users"


def test_seed_query_email_index(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_EMAIL)
    assert isinstance(res, ItemsResult), res
    direct = data.query(
        TableName=USERS, IndexName="EmailIndex", KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": "user@example.com"}},
    )
    assert res.items == items_of(direct)
    assert [i["user_id"] for i in res.items] == ["user:abc-123"]
    assert res.index == "EmailIndex"


def test_seed_query_helpers_by_account(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_HELPERS)
    assert isinstance(res, ItemsResult), res
    direct = data.query(
        TableName=HELPERS, IndexName="AccountIdIndex", KeyConditionExpression="account_id = :a",
        ExpressionAttributeValues={":a": {"S": "account-123"}},
    )
    assert res.items == items_of(direct)
    assert sorted(i["helper_id"] for i in res.items) == ["helper-0", "helper-1", "helper-2"]


def test_seed_query_executions_newest_first(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_EXECUTIONS)
    assert isinstance(res, ItemsResult), res
    direct = data.query(
        TableName=EXECUTIONS, IndexName="HelperIdCreatedAtIndex",
        KeyConditionExpression="helper_id = :h",
        ExpressionAttributeValues={":h": {"S": "helper-123"}}, ScanIndexForward=False, Limit=10,
    )
    assert res.items == items_of(direct)
    assert [i["execution_id"] for i in res.items] == [f"exec-{n:02d}" for n in range(14, 4, -1)]
    assert res.next_key is not None

    ctx.start_key = res.next_key
    more = run(ctx, SEED_EXECUTIONS)
    assert [i["execution_id"] for i in more.items] == [f"exec-{n:02d}" for n in range(4, -1, -1)]


def test_seed_scan_max_items_and_next_page(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_SCAN)
    assert isinstance(res, ItemsResult), res
    direct = data.scan(TableName=USERS, Limit=10)
    assert res.items == items_of(direct)
    assert len(res.items) == 10 and res.next_key is not None

    ctx.start_key = res.next_key
    rest = run(ctx, SEED_SCAN)
    everything = items_of(data.scan(TableName=USERS))
    assert res.items + rest.items == everything
    assert rest.next_key is None


def test_seed_describe_table_item_count(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_COUNT)
    assert isinstance(res, JsonResult), res
    assert res.data == data.describe_table(TableName=USERS)["Table"]["ItemCount"] == 15


def test_multi_line_paste_with_backslashes(ctx: Context, data: Any) -> None:
    text = SEED_EXECUTIONS.replace(" --expression", " \\\n  --expression").replace(
        " --scan", " \\\r\n  --scan")
    assert "\\\n" in text
    res = run(ctx, text)
    assert isinstance(res, ItemsResult), res
    assert res.items == run(ctx, SEED_EXECUTIONS).items


def test_describe_table_whole_response_is_json_safe(ctx: Context, data: Any) -> None:
    import json

    res = run(ctx, "aws dynamodb describe-table --table-name users --output json")
    assert isinstance(res, JsonResult), res
    assert res.data["Table"]["TableName"] == USERS
    assert isinstance(res.data["Table"]["CreationDateTime"], float)  # epoch seconds, as the CLI v1
    json.dumps(res.data)


# -- more of the CLI's surface ----------------------------------------------------------------
def test_reserved_word_through_name_placeholder(ctx: Context, data: Any) -> None:
    text = (
        "aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex"
        " --key-condition-expression \"helper_id = :hid AND created_at >= :since\""
        " --filter-expression \"#s = :s\" --expression-attribute-names '{\"#s\":\"status\"}'"
        " --expression-attribute-values "
        "'{\":hid\":{\"S\":\"helper-123\"},\":since\":{\"S\":\"2025-02-03\"},\":s\":{\"S\":\"failed\"}}'"
        " --no-scan-index-forward --no-cli-pager --return-consumed-capacity TOTAL"
    )
    res = run(ctx, text)
    assert isinstance(res, ItemsResult), res
    direct = data.query(
        TableName=EXECUTIONS, IndexName="HelperIdCreatedAtIndex",
        KeyConditionExpression="helper_id = :h AND created_at >= :t",
        FilterExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":h": {"S": "helper-123"}, ":t": {"S": "2025-02-03"},
                                   ":s": {"S": "failed"}},
        ScanIndexForward=False,
    )
    assert res.items == items_of(direct)
    assert [i["execution_id"] for i in res.items] == ["exec-12", "exec-08", "exec-04"]


def test_projection_with_names_and_nested_path(ctx: Context, data: Any) -> None:
    text = (
        "aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex"
        " --key-condition-expression \"helper_id = :hid\" --projection-expression"
        " \"execution_id, #s, input.contact.id\" --expression-attribute-names '{\"#s\":\"status\"}'"
        " --expression-attribute-values '{\":hid\":{\"S\":\"helper-123\"}}' --limit 2"
    )
    res = run(ctx, text)
    assert isinstance(res, ItemsResult), res
    assert res.items == [
        {"execution_id": "exec-00", "status": "failed", "input": {"contact": {"id": 0}}},
        {"execution_id": "exec-01", "status": "success", "input": {"contact": {"id": 1}}},
    ]
    ctx.start_key = res.next_key
    assert [i["execution_id"] for i in run(ctx, text).items] == ["exec-02", "exec-03"]


def test_get_item_projection_and_query(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_GET + " --projection-expression \"email, #s\""
              " --expression-attribute-names '{\"#s\":\"status\"}' --query Item.status.S")
    assert isinstance(res, JsonResult), res
    assert res.data == "active"


def test_jmespath_over_query_items(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_EXECUTIONS + " --query 'Items[].[execution_id.S, duration_ms.N]'")
    assert isinstance(res, JsonResult), res
    assert res.data[:2] == [["exec-14", "114"], ["exec-13", "113"]]
    assert len(res.data) == 10


def test_select_count(ctx: Context, data: Any) -> None:
    res = run(ctx, SEED_HELPERS + " --select COUNT")
    assert isinstance(res, JsonResult), res
    assert res.data["Count"] == 3


def test_filtered_scan_and_consistent_read(ctx: Context, data: Any) -> None:
    res = run(ctx, "aws dynamodb scan --table-name users --filter-expression"
              " \"#st = :d\" --expression-attribute-names '{\"#st\":\"status\"}'"
              " --expression-attribute-values '{\":d\":{\"S\":\"disabled\"}}'"
              " --consistent-read --max-items 100")
    assert isinstance(res, ItemsResult), res
    direct = data.scan(TableName=USERS, FilterExpression="#st = :d",
                       ExpressionAttributeNames={"#st": "status"},
                       ExpressionAttributeValues={":d": {"S": "disabled"}})
    assert res.items == items_of(direct) and len(res.items) == 5


def test_filtered_projected_pages_continue_exactly(ctx: Context, data: Any) -> None:
    # the page ends inside a DynamoDB page, and the projection leaves out the key
    text = ("aws dynamodb scan --table-name users --filter-expression \"#s = :a\""
            " --projection-expression email --expression-attribute-names '{\"#s\":\"status\"}'"
            " --expression-attribute-values '{\":a\":{\"S\":\"active\"}}' --limit 3")
    direct = items_of(data.scan(TableName=USERS, FilterExpression="#s = :a",
                                ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":a": {"S": "active"}}))
    seen: list[dict[str, Any]] = []
    for _ in range(10):
        res = run(ctx, text)
        assert isinstance(res, ItemsResult), res
        assert all(set(i) == {"email"} for i in res.items)
        seen.extend(res.items)
        if res.next_key is None:
            break
        ctx.start_key = res.next_key
    assert seen == [{"email": i["email"]} for i in direct]


def test_reading_stops_at_the_cap_and_says_so(ctx: Context, data: Any) -> None:
    ctx.store.read_cap = 6
    res = run(ctx, "aws dynamodb scan --table-name mfh-dev-users --page-size 4 --query Count")
    assert isinstance(res, JsonResult), res
    assert res.data == 8  # two pages of 4: the page that reached the cap is kept whole
    assert any("counted the first 8 items; the CLI would read on" in n for n in res.notes)
    ctx.store.read_cap = 1000
    assert run(ctx, "aws dynamodb scan --table-name mfh-dev-users --page-size 4 --query Count"
               ).data == 15


def test_secrets_stay_redacted_through_query(ctx: Context, ddb: Any) -> None:
    put(ddb, f"mfh-{STAGE}-platform-connection-auths",
        {"auth_id": "auth-1", "connection_id": "conn-1", "access_token": "tok-secret-value"})
    res = run(ctx, "aws dynamodb get-item --table-name platform-connection-auths"
              " --key '{\"auth_id\":{\"S\":\"auth-1\"}}' --query Item.access_token")
    assert isinstance(res, JsonResult), res
    assert res.data == {"S": "[redacted]"}


# -- bad input --------------------------------------------------------------------------
USAGE_MARK = "aws dynamodb <op>"

BAD = {
    "unknown op": ("aws dynamodb transact-get-items --table-name users", "unknown operation"),
    "not dynamodb": ("aws s3 ls", "only `aws dynamodb"),
    "unknown flag": (SEED_SCAN + " --segmnt 1", "unknown flag `--segmnt`"),
    "malformed key json": (
        """aws dynamodb get-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc-123"}'""",
        "not valid JSON",
    ),
    "key missing attribute": (
        """aws dynamodb get-item --table-name mfh-dev-user-accounts --key '{"user_id":{"S":"user:abc-123"}}'""",
        "missing `account_id`",
    ),
    "key condition on non-key": (
        """aws dynamodb query --table-name mfh-dev-users --key-condition-expression "#s = :s" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"}}'""",  # noqa: E501
        "user_id = value",
    ),
    "undefined value": (
        """aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex --key-condition-expression "email = :x" --expression-attribute-values '{":e":{"S":"user@example.com"}}'""",  # noqa: E501
        "`:x` is not defined",
    ),
    "unused value": (
        """aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex --key-condition-expression "email = :e" --expression-attribute-values '{":e":{"S":"user@example.com"},":z":{"S":"x"}}'""",  # noqa: E501
        "`:z`",
    ),
    "unused name": (SEED_EMAIL + """ --expression-attribute-names '{"#n":"name"}'""", "`#n`"),
    "wrong region": (SEED_GET.replace("us-west-2", "eu-west-1"), "eu-west-1"),
    "table outside stage": (SEED_GET.replace("mfh-dev-users", "mfh-prod-users"), "outside"),
    "foreign table": (SEED_GET.replace("mfh-dev-users", "payroll"), "unknown table"),
    "unknown index": (SEED_EMAIL.replace("EmailIndex", "PhoneIndex"), "no index `PhoneIndex`"),
    "injection in key condition": (
        """aws dynamodb query --table-name mfh-dev-users --key-condition-expression "user_id = :u OR attribute_exists(x)" --expression-attribute-values '{":u":{"S":"user:abc-123"}}'""",  # noqa: E501
        "only join comparisons with AND",
    ),
    "literal instead of placeholder": (
        """aws dynamodb query --table-name mfh-dev-users --key-condition-expression "user_id = user_id" """,
        ":placeholders",
    ),
    "wrong value type for key": (
        SEED_EMAIL.replace('{"S":"user@example.com"}', '{"N":"5"}'), "declared S",
    ),
    "bad jmespath": (SEED_COUNT.replace("'Table.ItemCount'", "'Table.['"), "JMESPath"),
    "consistent read on gsi": (SEED_EMAIL + " --consistent-read", "global secondary index"),
    "empty filter": (SEED_SCAN + ' --filter-expression ""', "empty"),
    "zero limit": (SEED_SCAN.replace("--max-items 10", "--limit 0"), "at least 1"),
    "stray positional": (SEED_SCAN + " extra", "unexpected `extra`"),
    "missing item": (SEED_GET.replace("abc-123", "nobody"), "no item with key"),
    "limit with max-items": (SEED_SCAN + " --limit 3", "cannot be combined with --max-items"),
    "no-paginate with starting-token": (
        SEED_SCAN.replace("--max-items 10", "--no-paginate --starting-token abc"),
        "cannot be combined with --starting-token"),
    "bad starting token": (SEED_SCAN + " --starting-token not-a-token", "--starting-token"),
    "bad output": (SEED_SCAN + " --output yaml", "--output `yaml`"),
    "bad shorthand key": (
        "aws dynamodb get-item --table-name users --key 'user_id={S=abc'", "not valid JSON or shorthand"),
    "untyped expression value": (
        SEED_EMAIL.replace('{":e":{"S":"user@example.com"}}', '{":e":"user@example.com"}'),
        "each value needs a type"),
    "size in key condition": (
        """aws dynamodb query --table-name users --key-condition-expression "size(user_id) = :n" --expression-attribute-values ':n={N=3}'""",  # noqa: E501
        "key condition"),
    "file value": ("aws dynamodb get-item --table-name users --key file://key.json", "cannot read files"),
    "batch-get other stage": (
        """aws dynamodb batch-get-item --request-items '{"mfh-prod-users":{"Keys":[{"user_id":{"S":"x"}}]}}'""",
        "outside"),
    "batch-get bad key": (
        """aws dynamodb batch-get-item --request-items '{"mfh-dev-users":{"Keys":[{"email":{"S":"x"}}]}}'""",
        "not part of"),
    "list-tables with table": ("aws dynamodb list-tables --table-name users", "unknown flag `--table-name`"),
    "filter on queried key": (
        SEED_EMAIL.replace("--region", """--filter-expression "email = :e" --region"""),
        "is a key here",
    ),
    # DynamoDB's legacy parameters: the error names the expression to write instead
    "legacy attributes-to-get": (SEED_SCAN + " --attributes-to-get email", "--projection-expression"),
    "legacy key-conditions": (
        """aws dynamodb query --table-name users --key-conditions '{"user_id":{"AttributeValueList":[{"S":"x"}],"ComparisonOperator":"EQ"}}'""",  # noqa: E501
        "`--key-conditions` is a legacy DynamoDB parameter the bot does not take; write it as "
        "--key-condition-expression"),
    "legacy scan-filter": (
        SEED_SCAN + """ --scan-filter '{"status":{"AttributeValueList":[{"S":"a"}],"ComparisonOperator":"EQ"}}'""",
        "write it as --filter-expression"),
    "legacy query-filter": (SEED_EMAIL + " --query-filter '{}'", "write it as --filter-expression"),
    "legacy conditional-operator": (SEED_SCAN + " --conditional-operator OR", "AND / OR inside"),
    "legacy expected": (SEED_DELETE + """ --expected '{"status":{"Exists":true}}'""",
                        "write it as --condition-expression"),
    "legacy attribute-updates": (
        SEED_DELETE.replace("delete-item", "update-item")
        + """ --attribute-updates '{"status":{"Value":{"S":"x"},"Action":"PUT"}}'""",
        "write it as --update-expression"),
    # a parallel scan: both flags, 0 <= segment < total <= 1,000,000
    "segment without total": (SEED_SCAN + " --segment 0", "--segment needs --total-segments"),
    "total without segment": (SEED_SCAN + " --total-segments 4",
                              "--total-segments needs --segment"),
    "segment beyond total": (SEED_SCAN + " --segment 4 --total-segments 4",
                             "--segment must be from 0 to --total-segments - 1 (3)"),
    "negative segment": (SEED_SCAN + " --segment -1 --total-segments 4", "not -1"),
    "zero total segments": (SEED_SCAN + " --segment 0 --total-segments 0",
                            "--total-segments must be from 1 to 1,000,000"),
    "too many segments": (SEED_SCAN + " --segment 0 --total-segments 1000001", "not 1000001"),
    "segment on query": (SEED_EMAIL + " --segment 0 --total-segments 2", "unknown flag `--segment`"),
    "attribute_type not a type": (
        SEED_SCAN + " --filter-expression 'attribute_type(email, :t)' --expression-attribute-values ':t={S=STRING}'",
        "takes a type name"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_clear_error(ctx: Context, data: Any, case: str) -> None:
    text, expected = BAD[case]
    res = run(ctx, text)
    assert isinstance(res, ErrorResult), (case, res)
    assert expected in res.message, (case, res.message)
    assert USAGE_MARK in res.usage


def test_nothing_is_written(ctx: Context, data: Any) -> None:
    before = scan_all(data)
    for text, _ in BAD.values():
        run(ctx, text)
    for text in (SEED_GET, SEED_EMAIL, SEED_HELPERS, SEED_EXECUTIONS, SEED_SCAN, SEED_COUNT):
        assert run(ctx, text).ok
    assert scan_all(data) == before


def test_context_region_is_used(store: Any, data: Any) -> None:
    ctx = Context(store=store, user_id="U_TESTER", stage=STAGE, region="eu-central-1")
    res = run(ctx, SEED_GET)
    assert isinstance(res, ErrorResult) and "eu-central-1" in res.message
    assert REGION in res.message


def test_size_and_binary_in_filters(ctx: Context, ddb: Any) -> None:
    # (every item has an email: moto fails size() of a missing attribute, DynamoDB does not)
    ddb.put_item(TableName=USERS, Item={"user_id": {"S": "u1"}, "blob": {"B": b"hi"}, "email": {"S": "a@b"},
                                        "tags": {"SS": ["a", "b", "c"]}})
    ddb.put_item(TableName=USERS, Item={"user_id": {"S": "u2"}, "tags": {"SS": ["a"]}, "email": {"S": "c@d"}})
    res = run(ctx, "aws dynamodb scan --table-name users --filter-expression 'size(email) > :n"
              " OR #b = :b' --expression-attribute-names '#b=blob' --expression-attribute-values"
              " ':n={N=100},:b={B=hi}' --query 'Items[].[user_id.S, blob]'")
    assert isinstance(res, JsonResult), res
    assert res.data == [["u1", {"S": "<binary, 2 bytes>"}]]  # a binary: its size only


def test_every_page_is_read_without_max_items(ctx: Context, data: Any) -> None:
    res = run(ctx, "aws dynamodb scan --table-name users --page-size 4")
    assert isinstance(res, ItemsResult), res
    assert len(res.items) == 15 and res.next_key is None and res.scanned == 15


def test_attribute_type_filters_by_the_stored_type(ctx: Context, ddb: Any) -> None:
    put(ddb, USERS, {"user_id": "u-set", "tags": {"a", "b"}, "email": "a@b"})
    put(ddb, USERS, {"user_id": "u-list", "tags": ["a", "b"], "email": "c@d"})
    put(ddb, USERS, {"user_id": "u-none", "email": "e@f"})
    for kind, want in (("SS", ["u-set"]), ("L", ["u-list"])):
        res = run(ctx, "aws dynamodb scan --table-name users --filter-expression "
                  f"'attribute_type(#t, :t)' --expression-attribute-names '#t=tags' "
                  f"--expression-attribute-values ':t={{S={kind}}}' --query 'Items[].user_id.S'")
        assert isinstance(res, JsonResult), res
        assert res.data == want
    # and as a write's condition (what the approved request will send)
    from boto3.dynamodb.conditions import ConditionExpressionBuilder

    from commands.awscli import parse_call
    from commands.registry import tokenize

    call = parse_call(tokenize("aws dynamodb delete-item --table-name users --key "
                               "user_id={S=u-set} --condition-expression 'attribute_type(tags, "
                               ":t)' --expression-attribute-values ':t={S=SS}'"), ctx)
    built = ConditionExpressionBuilder().build_expression(call.condition)
    assert built.condition_expression == "attribute_type(#n0, :v0)"
    assert built.attribute_name_placeholders == {"#n0": "tags"}
    assert built.attribute_value_placeholders == {":v0": "SS"}


def test_parallel_scan_segments_cover_the_table_once(ctx: Context, data: Any) -> None:
    seen: list[str] = []
    for segment in range(3):
        res = run(ctx, f"aws dynamodb scan --table-name users --segment {segment} "
                  "--total-segments 3 --query 'Items[].user_id.S'")
        assert isinstance(res, JsonResult), res
        seen += res.data
    everything = run(ctx, "aws dynamodb scan --table-name users --query 'Items[].user_id.S'")
    assert sorted(seen) == sorted(everything.data) and len(seen) == 15


def test_list_tables_max_items_counts_only_this_stages_tables(ctx: Context, ddb: Any) -> None:
    # tables that are not the bot's business, listed among ours: moto lists in creation
    # order (DynamoDB by name), so one of ours (no indexes) is made again after them
    for name in ("mfh-dev-aaa-other", "mfh-dev-ddb-bot-x", "mfh-prod-users"):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    last = f"mfh-{STAGE}-oauth-states"
    desc = ddb.describe_table(TableName=last)["Table"]
    ddb.delete_table(TableName=last)
    ddb.create_table(TableName=last, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=desc["AttributeDefinitions"], KeySchema=desc["KeySchema"])
    listed = ddb.list_tables()["TableNames"]
    ours = [n for n in listed if n.startswith(f"mfh-{STAGE}-") and n not in (
        "mfh-dev-aaa-other", "mfh-dev-ddb-bot-x", "mfh-dev-ddb-bot")]
    # on either engine's order, tables that are not ours sit before the last of ours
    assert any(listed.index(other) < listed.index(ours[-1]) for other in (
        "mfh-dev-aaa-other", "mfh-dev-ddb-bot-x", "mfh-prod-users"))
    whole = run(ctx, "aws dynamodb list-tables")
    assert isinstance(whole, JsonResult) and len(whole.data["TableNames"]) == 10
    names: list[str] = []
    token = None
    for _ in range(4):
        text = "aws dynamodb list-tables --max-items 3 --page-size 2"
        res = run(ctx, text + (f" --starting-token {token}" if token else ""))
        assert isinstance(res, JsonResult), res
        page = res.data["TableNames"]
        assert len(page) == (3 if len(names) < 9 else 1)
        names += page
        token = res.data.get("NextToken")
        if len(names) < 10:
            assert token, res.data
    assert names == whole.data["TableNames"] and token is None


def test_a_missing_table_of_this_stage_is_not_found(ctx: Context, ddb: Any) -> None:
    res = run(ctx, "aws dynamodb describe-table --table-name mfh-dev-nope")
    assert isinstance(res, ErrorResult)
    assert ("ResourceNotFoundException: Requested resource not found: Table: mfh-dev-nope "
            "not found") in res.message
    assert "outside" not in res.message
    # the bot's own table exists under the prefix and stays refused
    res = run(ctx, "aws dynamodb scan --table-name mfh-dev-ddb-bot")
    assert isinstance(res, ErrorResult) and "outside" in res.message
