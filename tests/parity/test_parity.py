"""The same command through the real aws CLI and through the bot, on one moto server.

Every case is run by the CLI (one batch, module fixture) and by the bot (``/ddb <text>``);
the data must be equal: values, DynamoDB types, order, counts and continuation tokens.
``--output json`` is added on both sides unless the case asks for another output.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, JsonResult, Result, TextResult
from testkit import engine
from tests.parity.data import BIG

U = "--table-name mfh-dev-users"
E = "--table-name mfh-dev-executions"
BY_HELPER = (f"{E} --index-name HelperIdCreatedAtIndex --key-condition-expression 'helper_id = :h'"
             " --expression-attribute-values ':h={S=helper-123}'")
EMAIL = ("--index-name EmailIndex --key-condition-expression 'email = :e' "
         "--expression-attribute-values '{\":e\":{\"S\":\"user@example.com\"}}'")
SEED_EXEC = ("aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex "
             "--key-condition-expression \"helper_id = :hid\" --expression-attribute-values "
             "'{\":hid\":{\"S\":\"helper-123\"}}' --scan-index-forward false --limit 10 --region us-west-2")

# id -> command; the seed's recipes first, verbatim
CASES: dict[str, str] = {
    "seed-get-item": """aws dynamodb get-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc-123"}}' --region us-west-2""",  # noqa: E501
    "seed-query-email": """aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex --key-condition-expression "email = :e" --expression-attribute-values '{":e":{"S":"user@example.com"}}' --region us-west-2""",  # noqa: E501
    "seed-query-helpers": """aws dynamodb query --table-name mfh-dev-helpers --index-name AccountIdIndex --key-condition-expression "account_id = :aid" --expression-attribute-values '{":aid":{"S":"account-123"}}' --region us-west-2""",  # noqa: E501
    "seed-query-executions": SEED_EXEC,
    "seed-scan": "aws dynamodb scan --table-name mfh-dev-users --max-items 10 --region us-west-2",
    "seed-item-count": "aws dynamodb describe-table --table-name mfh-dev-users --region us-west-2 --query 'Table.ItemCount'",  # noqa: E501
    # --query over the typed response
    "query-emails-S": f"aws dynamodb query {U} {EMAIL} --query 'Items[].email.S'",
    "query-item0-typed": f"aws dynamodb query {U} {EMAIL} --query 'Items[0]'",
    "query-count": f"aws dynamodb query {U} {EMAIL} --query Count",
    "scan-count": f"aws dynamodb scan {U} --query Count",
    "scan-scanned": f"aws dynamodb scan {U} --query ScannedCount",
    "scan-length": f"aws dynamodb scan {U} --query 'length(Items)'",
    "scan-sort-by": f"aws dynamodb scan {U} --query 'sort_by(Items, &user_id.S)[].user_id.S'",
    "scan-big-numbers": f"aws dynamodb scan {U} --query 'Items[].score.N'",
    "scan-filter-projection": f"aws dynamodb scan {U} --query \"Items[?status.S=='disabled'].[user_id.S, score.N]\"",
    "scan-whole": f"aws dynamodb scan {U}",
    # paging with the CLI's meaning
    "scan-select-count": f"aws dynamodb scan {U} --select COUNT",
    "scan-select-count-query": f"aws dynamodb scan {U} --select COUNT --query '[Count, ScannedCount]'",
    "scan-limit": f"aws dynamodb scan {U} --limit 5",
    "scan-limit-lek": f"aws dynamodb scan {U} --limit 5 --query LastEvaluatedKey",
    "scan-max-items": f"aws dynamodb scan {U} --max-items 4",
    "scan-max-items-token": f"aws dynamodb scan {U} --max-items 4 --query NextToken",
    "scan-page-size": f"aws dynamodb scan {U} --page-size 3 --query '[Count, ScannedCount, length(Items)]'",
    "scan-page-size-max-items": f"aws dynamodb scan {U} --page-size 3 --max-items 7",
    "scan-no-paginate": f"aws dynamodb scan {U} --no-paginate --query '[Count, LastEvaluatedKey]'",
    "scan-max-items-beyond": f"aws dynamodb scan {U} --max-items 30 --query '[Count, NextToken]'",
    "scan-limit-filter": (f"aws dynamodb scan {U} --limit 10 --filter-expression '#s = :s' "
                          "--expression-attribute-names '{\"#s\":\"status\"}' "
                          "--expression-attribute-values ':s={S=disabled}'"),
    "scan-limit-filter-count": (f"aws dynamodb scan {U} --limit 10 --filter-expression '#s = :s' "
                                "--expression-attribute-names '#s=status' "
                                "--expression-attribute-values ':s={S=disabled}' --select COUNT"),
    # filters: functions, size(), sets, binary, big numbers
    "filter-size-gt": (f"aws dynamodb scan {U} --filter-expression 'size(email) > :n' "
                       "--expression-attribute-values ':n={N=15}' "
                       "--query 'Items[].user_id.S'"),
    "filter-size-between": (f"aws dynamodb scan {U} --filter-expression 'size(email) BETWEEN :a AND :b' "
                            "--expression-attribute-values ':a={N=15},:b={N=16}' --query 'Items[].email.S'"),
    "filter-contains-set": (f"aws dynamodb scan {U} --filter-expression 'contains(#t, :t)' "
                            "--expression-attribute-names '#t=tags' --expression-attribute-values ':t={S=beta}' --query 'Items[].[user_id.S, tags]'"),  # noqa: E501
    "filter-exists-blob": (f"aws dynamodb scan {U} --filter-expression 'attribute_exists(#b)' --expression-attribute-names '#b=blob' "  # noqa: E501
                           "--query 'Items[].[user_id.S, blob]'"),
    "filter-not-exists": (f"aws dynamodb scan {U} --filter-expression 'NOT attribute_exists(#t)' --expression-attribute-names '#t=tags' "  # noqa: E501
                          "--query 'length(Items)'"),
    "filter-begins-with": (f"aws dynamodb scan {U} --filter-expression 'begins_with(user_id, :p)' "
                           "--expression-attribute-values ':p={S=user:u-1}' --query 'Items[].user_id.S'"),
    "filter-big-number": (f"aws dynamodb scan {U} --filter-expression 'score = :n' "
                          f"--expression-attribute-values ':n={{N={BIG}}}' --query 'Items[].score'"),
    "filter-binary": (f"aws dynamodb scan {U} --filter-expression '#b = :b' --expression-attribute-names '#b=blob' "
                      "--expression-attribute-values ':b={B=aGVsbG8=}' --query 'Items[].user_id.S'"),
    "filter-in": (f"aws dynamodb scan {U} --filter-expression 'score IN (:a, :b)' "
                  "--expression-attribute-values '{\":a\":{\"N\":\"10\"},\":b\":{\"N\":\"30\"}}' "
                  "--query 'Items[].user_id.S'"),
    "filter-or-not": (f"aws dynamodb scan {U} --filter-expression '#s = :d OR NOT score < :n' "
                      "--expression-attribute-names '{\"#s\":\"status\"}' "
                      "--expression-attribute-values ':d={S=disabled},:n={N=200}' --query 'Items[].user_id.S'"),
    "projection": f"aws dynamodb scan {U} --projection-expression 'user_id, score' --max-items 6",
    "projection-nested": (f"aws dynamodb scan {U} --projection-expression 'prefs.theme, prefs.langs, nums' "
                          "--query 'Items[?prefs]'"),
    "select-specific": f"aws dynamodb scan {U} --select SPECIFIC_ATTRIBUTES --projection-expression user_id --query 'Items[].user_id'",  # noqa: E501
    # get-item: shorthand, every type
    "get-shorthand": f"aws dynamodb get-item {U} --key 'user_id={{S=user:abc-123}}'",
    "get-projection": (f"aws dynamodb get-item {U} --key '{{\"user_id\":{{\"S\":\"user:u-03\"}}}}' "
                       "--projection-expression 'email, #s' --expression-attribute-names '{\"#s\":\"status\"}'"),
    "get-big-number": f"aws dynamodb get-item {U} --key user_id={{S=user:abc-123}} --query 'Item.[score, ratio]'",
    "get-sets": f"aws dynamodb get-item {U} --key user_id={{S=user:abc-123}} --query 'Item.[tags, nums]'",
    "get-binary": f"aws dynamodb get-item {U} --key user_id={{S=user:abc-123}} --query 'Item.[blob, blobs]'",
    "get-nested": f"aws dynamodb get-item {U} --key user_id={{S=user:abc-123}} --query 'Item.[prefs, history, verified, nick]'",  # noqa: E501
    "get-consistent": f"aws dynamodb get-item {U} --key user_id={{S=user:u-07}} --consistent-read",
    "get-composite-shorthand": ("aws dynamodb get-item --table-name mfh-dev-user-accounts "
                                "--key 'user_id={S=user:abc-123},account_id={S=account-456}'"),
    # queries
    "query-desc-max-items": f"aws dynamodb query {BY_HELPER} --no-scan-index-forward --max-items 5",
    "query-between": (f"aws dynamodb query {E} --index-name HelperIdCreatedAtIndex --key-condition-expression "
                      "'helper_id = :h AND created_at BETWEEN :a AND :b' "
                      "--expression-attribute-values ':h={S=helper-123},:a={S=2025-02-03},:b={S=2025-02-07}' "
                      "--query 'Items[].execution_id.S'"),
    "query-begins-with": (f"aws dynamodb query {E} --index-name HelperIdCreatedAtIndex --key-condition-expression "
                          "'helper_id = :h AND begins_with(created_at, :d)' "
                          "--expression-attribute-values ':h={S=helper-123},:d={S=2025-02-1}' "
                          "--query 'Items[].created_at.S'"),
    "query-filter-names": (f"aws dynamodb query {E} --index-name HelperIdCreatedAtIndex --key-condition-expression "
                           "'helper_id = :h' --filter-expression '#s = :s' --expression-attribute-names '#s=status' "
                           "--expression-attribute-values ':h={S=helper-123},:s={S=failed}'"),
    "query-select-count": f"aws dynamodb query {BY_HELPER} --select COUNT",
    "query-jmespath-filter": f"aws dynamodb query {BY_HELPER} --query \"Items[?status.S=='failed'].execution_id.S\"",
    "query-page-size": f"aws dynamodb query {BY_HELPER} --page-size 4 --query '[length(Items), Count]'",
    "query-limit-desc": f"aws dynamodb query {BY_HELPER} --limit 3 --no-scan-index-forward",
    "query-sum-duration": f"aws dynamodb query {BY_HELPER} --query 'Items[].duration_ms.N'",
    "query-composite": ("aws dynamodb query --table-name mfh-dev-user-accounts --key-condition-expression "
                        "'user_id = :u' --expression-attribute-values ':u={S=user:abc-123}'"),
    "query-gsi-accounts": ("aws dynamodb query --table-name mfh-dev-user-accounts --index-name AccountIdIndex "
                           "--key-condition-expression 'account_id = :a' "
                           "--expression-attribute-values ':a={S=account-456}' --query 'Items[].user_id.S'"),
    # table metadata
    "describe-keys": f"aws dynamodb describe-table {U} --query Table.KeySchema",
    "describe-gsis": f"aws dynamodb describe-table {E} --query 'sort(Table.GlobalSecondaryIndexes[].IndexName)'",
    "describe-attrs": f"aws dynamodb describe-table {E} --query 'Table.AttributeDefinitions'",
    "describe-whole": f"aws dynamodb describe-table {U}",
    "scan-exclusive-start-key": (f"aws dynamodb scan {U} --limit 5 --exclusive-start-key "
                                 "'{\"user_id\":{\"S\":\"user:u-04\"}}'"),
    "scan-consumed-capacity": f"aws dynamodb scan {U} --return-consumed-capacity TOTAL --max-items 2",
    "describe-ttl": f"aws dynamodb describe-time-to-live {E}",
    "describe-backups": f"aws dynamodb describe-continuous-backups {U} --query ContinuousBackupsDescription.ContinuousBackupsStatus",  # noqa: E501
    "batch-get": ("aws dynamodb batch-get-item --request-items '{\"mfh-dev-users\":{\"Keys\":"
                  "[{\"user_id\":{\"S\":\"user:u-01\"}},{\"user_id\":{\"S\":\"user:u-02\"}}]}}' "
                  "--query 'sort(Responses.\"mfh-dev-users\"[].user_id.S)'"),
    "batch-get-projection": ("aws dynamodb batch-get-item --request-items '{\"mfh-dev-helpers\":{\"Keys\":"
                             "[{\"helper_id\":{\"S\":\"helper-1\"}}],\"ProjectionExpression\":\"#n\","
                             "\"ExpressionAttributeNames\":{\"#n\":\"name\"}}}'"),
    # --output text, as the CLI prints it
    "text-ids": f"aws dynamodb scan {U} --query 'Items[].user_id.S' --output text",
    "text-count": f"aws dynamodb scan {U} --select COUNT --output text",
    "text-get": f"aws dynamodb get-item {U} --key user_id={{S=user:u-04}} --output text",
    "text-query-count": f"aws dynamodb query {BY_HELPER} --query Count --output text",
    "text-describe": f"aws dynamodb describe-table {U} --query 'Table.[TableName, ItemCount]' --output text",
    # several pages printed one by one, the last cut by --max-items (issue 19)
    "text-pages-ids": f"aws dynamodb scan {U} --max-items 7 --page-size 4 --query 'Items[].user_id.S' --output text",
    "text-pages-items": (f"aws dynamodb scan {U} --max-items 7 --page-size 3 "
                         "--projection-expression 'user_id, score' --output text"),
    "text-pages-query": f"aws dynamodb query {BY_HELPER} --page-size 4 --query 'Items[].execution_id.S' --output text",
    # attribute_type(), parallel scan
    "filter-attribute-type-set": (f"aws dynamodb scan {U} --filter-expression 'attribute_type(#t, :t)' "
                                  "--expression-attribute-names '#t=tags' --expression-attribute-values "
                                  "':t={S=SS}' --query 'Items[].user_id.S'"),
    "filter-not-attribute-type": (f"aws dynamodb scan {U} --filter-expression 'NOT attribute_type(score, :t)' "
                                  "--expression-attribute-values ':t={S=N}' --query 'Items[].user_id.S'"),
    "scan-segment-0": f"aws dynamodb scan {U} --segment 0 --total-segments 3 --query 'Items[].user_id.S'",
    "scan-segment-2": f"aws dynamodb scan {U} --segment 2 --total-segments 3 --max-items 3 --query '[Items[].user_id.S, NextToken]'",  # noqa: E501
}
# the CLI refuses `--scan-index-forward false` (a switch takes no value); the bot keeps
# accepting the seed's form, and the CLI side runs the switch the CLI understands
CLI_TEXT = {"seed-query-executions": SEED_EXEC.replace("--scan-index-forward false",
                                                       "--no-scan-index-forward")}


# differences on purpose (README, "Differences from the aws CLI"): run by both, compared below
DIFFS: dict[str, str] = {
    "secret": ("aws dynamodb get-item --table-name mfh-dev-platform-connection-auths "
               "--key auth_id={S=auth-1}"),
    "list-tables": "aws dynamodb list-tables",
    "missing-item": f"aws dynamodb get-item {U} --key user_id={{S=user:nobody}}",
    "scan-index-forward-false": SEED_EXEC,
    "output-table": f"aws dynamodb describe-table {U} --query Table.TableName --output table",
    "list-tables-max-items": "aws dynamodb list-tables --max-items 3",
    "list-tables-text": "aws dynamodb list-tables --page-size 4 --output text",
    "describe-missing": "aws dynamodb describe-table --table-name mfh-dev-nope",
}


@pytest.fixture(scope="module")
def cli_results(cli: Any) -> dict[str, dict[str, Any]]:
    texts = {**{i: CLI_TEXT.get(i, t) for i, t in CASES.items()},
             **{f"diff:{i}": t for i, t in DIFFS.items()}}
    results = cli.run_many(list(texts.values()))
    return dict(zip(texts, results, strict=True))


def bot(services: Any, text: str) -> Result:
    if "--output" not in text:
        text += " --output json"
    return dispatch(f"/ddb {text}", services.context("U_PARITY", "C_OPS"))


def bot_data(res: Result) -> Any:
    if isinstance(res, TextResult):
        return res.sections[0][1].removeprefix("```\n").removesuffix("```")
    assert isinstance(res, JsonResult), res
    return res.data


def cli_data(out: dict[str, Any], text: str) -> Any:
    assert out["rc"] == 0, out["err"]
    if "--output text" in text:
        return out["out"]
    return json.loads(out["out"]) if out["out"].strip() else None


def binary_by_size(value: Any) -> Any:
    """The CLI's JSON with every binary as the bot shows it, by its size only (README,
    *Differences from the aws CLI*): ``{"B": <base64>}`` → ``{"S": "<binary, N bytes>"}``."""
    def size(b64: str) -> str:
        n = len(base64.b64decode(b64))
        return f"<binary, {n} byte{'' if n == 1 else 's'}>"

    if isinstance(value, dict):
        if list(value) == ["B"] and isinstance(value["B"], str):
            return {"S": size(value["B"])}
        if list(value) == ["BS"] and isinstance(value["BS"], list):
            return {"L": [{"S": s} for s in sorted(size(v) for v in value["BS"])]}
        return {k: binary_by_size(v) for k, v in value.items()}
    if isinstance(value, list):
        return [binary_by_size(v) for v in value]
    return value


def test_at_least_sixty_commands() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", list(CASES))
def test_same_data_as_the_aws_cli(case: str, services: Any, cli_results: dict[str, Any]) -> None:
    out = cli_results[case]
    if out["rc"] != 0 and "(UnknownOperationException)" in out["err"]:
        # the endpoint lacks the operation (DynamoDB Local: describe-continuous-backups);
        # the bot fails too, naming the same error (tests/integration/test_engine_differences.py)
        res = bot(services, CASES[case])
        assert isinstance(res, ErrorResult) and "UnknownOperationException" in res.message, res
        assert not engine.on_moto(), out["err"]  # moto implements every operation here
        return
    expected = binary_by_size(cli_data(out, CASES[case]))
    got = bot_data(bot(services, CASES[case]))
    assert got == expected


# -- continuation: the CLI's tokens continue in the bot and the bot's in the CLI ---------------
def test_tokens_continue_both_ways(services: Any, cli: Any, cli_results: dict[str, Any]) -> None:
    base = CASES["scan-page-size-max-items"]  # pages of 3, 7 items: the token cuts a page
    cli_first = cli_data(cli_results["scan-page-size-max-items"], base)
    token = cli_first["NextToken"]
    from botocore.paginate import TokenDecoder

    assert TokenDecoder().decode(token)["boto_truncate_amount"] == 1
    bot_second = bot_data(bot(services, f"{base} --starting-token {token}"))
    bot_token = bot_second["NextToken"]
    cli_second, cli_third = cli.run_many([f"{base} --starting-token {token}",
                                          f"{base} --starting-token {bot_token}"])
    # binaries are shown by size (the bot's rule); which page holds the item with them
    # depends on the engine's scan order
    assert bot_second == binary_by_size(cli_data(cli_second, base))
    bot_third = bot_data(bot(services, f"{base} --starting-token {bot_token}"))
    assert bot_third == binary_by_size(cli_data(cli_third, base))
    seen = [i["user_id"]["S"] for page in (cli_first, bot_second, bot_third) for i in page["Items"]]
    everything = bot_data(bot(services, f"aws dynamodb scan {U} --query 'Items[].user_id.S'"))
    assert seen == everything[:21] and len(set(seen)) == 21


def test_the_next_token_a_person_sees_is_the_clis_and_continues_in_it(
        services: Any, cli: Any, cli_results: dict[str, Any]) -> None:
    """Issue 19: every JSON answer showed ``"NextToken": "[masked credential]"``. The token
    as rendered (console text and the Slack message) is the CLI's own, and the CLI goes on
    with the one copied from the rendered answer exactly as with its own."""
    import re

    from bot.render.blocks import render_message
    from bot.render.text import render_text

    text = CASES["scan-max-items"]
    cli_token = cli_data(cli_results["scan-max-items"], text)["NextToken"]
    result = bot(services, text)
    for rendered in (render_text(result), json.dumps(render_message(result))):
        assert "[masked credential]" not in rendered
        shown = re.findall(r'"NextToken\\?": \\?"([A-Za-z0-9+/=]+)', rendered)
        assert shown == [cli_token], rendered[-300:]
    picked = bot(services, f"{text} --query '{{next: NextToken}}'")
    assert cli_token in render_text(picked) and "[masked credential]" not in render_text(picked)
    (continued,) = cli.run_many([f"{text} --starting-token {shown[0]}"])
    assert bot_data(bot(services, f"{text} --starting-token {cli_token}")) == \
        binary_by_size(cli_data(continued, text))


def test_next_page_button_continues_with_the_cli_token(services: Any, cli_results: dict[str, Any]) -> None:
    from commands.results import ItemsResult

    ctx = services.context("U_PARITY", "C_OPS")
    text = CASES["scan-max-items"]
    first = dispatch(f"/ddb {text}", ctx)
    assert isinstance(first, ItemsResult) and len(first.items) == 4
    assert first.next_key == {"NextToken": cli_data(cli_results["scan-max-items"], text)["NextToken"]}
    ctx.start_key = first.next_key
    second = dispatch(f"/ddb {text}", ctx)
    assert isinstance(second, ItemsResult)
    everything = bot_data(bot(services, f"aws dynamodb scan {U} --query 'Items[].user_id.S'"))
    assert [i["user_id"] for i in first.items + second.items] == everything[:8]


# -- the shorthand parser the bot carries is awscli's ----------------------------------------
SHORTHANDS = [
    ("GetItem", "Key", "user_id={S=user:abc-123}"),
    ("GetItem", "Key", "user_id={S=a},account_id={S=b}"),
    ("Query", "ExpressionAttributeValues", ":e={S=x},:n={N=12345678901234567890}"),
    ("Query", "ExpressionAttributeValues", ":b={BOOL=true},:z={NULL=true},:f={BOOL=false}"),
    ("Query", "ExpressionAttributeValues", ":s={SS=[a,b,c]},:one={SS=a},:ns={NS=[1,2.5]}"),
    ("Query", "ExpressionAttributeValues", ":l={L=[{S=a},{N=1},{L=[{BOOL=true}]}]}"),
    ("Query", "ExpressionAttributeValues", ":m={M={a={S=x},b={M={c={NULL=true}}}}}"),
    ("Query", "ExpressionAttributeValues", ":b={B=aGk=},:bs={BS=[aGk=,aGVsbG8=]}"),
    ("PutItem", "Item", "id={S='quoted, value'},x={S=\"dq \\\" inside\"},y={S=a\\,b}"),
    ("PutItem", "Item", "id = {S = spaced} , n={N= 5 }"),
    ("PutItem", "Item", "id={S=ünïcode ✓},n={N=-1.5E+3}"),
]


@pytest.mark.parametrize(("op", "member", "text"), SHORTHANDS)
def test_shorthand_parses_as_awscli(client: Any, op: str, member: str, text: str) -> None:
    from awscli.shorthand import BackCompatVisitor
    from awscli.shorthand import ShorthandParser as CliParser

    from commands.awscli import shorthand

    shape = client.meta.service_model.operation_model(op).input_shape.members[member]
    expected = CliParser().parse(text)
    BackCompatVisitor().visit(expected, shape)
    assert shorthand.parse(text, shape) == expected


def test_bad_shorthand_is_a_clear_error_as_in_the_cli(services: Any) -> None:
    res = dispatch(f"/ddb aws dynamodb get-item {U} --key 'user_id={{S=abc'", services.context("U_P"))
    assert not res.ok and "--key: not valid JSON or shorthand" in res.message  # type: ignore[attr-defined]
    res = dispatch(f"/ddb aws dynamodb get-item {U} --key 'user_id@=file.json'", services.context("U_P"))
    assert not res.ok and "a file" in res.message  # type: ignore[attr-defined]


# -- differences on purpose: each shown by its command ----------------------------------------
def test_secrets_are_redacted_where_the_cli_shows_them(services: Any, cli_results: dict[str, Any]) -> None:
    from tests.parity.data import SECRET

    cli_doc = cli_data(cli_results["diff:secret"], DIFFS["secret"])
    bot_doc = bot_data(bot(services, DIFFS["secret"]))
    assert cli_doc["Item"]["access_token"] == {"S": SECRET}
    assert bot_doc["Item"]["access_token"] == {"S": "[redacted]"}
    cli_doc["Item"]["access_token"] = {"S": "[redacted]"}
    assert bot_doc == cli_doc


def test_list_tables_shows_only_the_stages_tables(services: Any, cli_results: dict[str, Any]) -> None:
    cli_names = cli_data(cli_results["diff:list-tables"], DIFFS["list-tables"])["TableNames"]
    bot_names = bot_data(bot(services, DIFFS["list-tables"]))["TableNames"]
    assert "mfh-dev-ddb-bot" in cli_names and "mfh-dev-ddb-bot" not in bot_names
    assert bot_names == [n for n in cli_names if n != "mfh-dev-ddb-bot"] and len(bot_names) == 10


def test_list_tables_max_items_counts_this_stages_tables(services: Any, cli_results: dict[str, Any]) -> None:
    """The stage's filter runs before the cut: N names, and the token continues after them."""
    cli_names = cli_data(cli_results["diff:list-tables"], DIFFS["list-tables"])["TableNames"]
    ours = [n for n in cli_names if n != "mfh-dev-ddb-bot"]
    cut = DIFFS["list-tables-max-items"]
    assert cli_data(cli_results["diff:list-tables-max-items"], cut)["TableNames"] == cli_names[:3]
    # 3, and a cut that holds the bot's own table (DynamoDB lists by name, moto by creation)
    for n in sorted({3, min(cli_names.index("mfh-dev-ddb-bot") + 1, len(ours) - 1)}):
        text = f"aws dynamodb list-tables --max-items {n}"
        first = bot_data(bot(services, text))
        assert first["TableNames"] == ours[:n] and first["NextToken"]
        second = bot_data(bot(services, f"{text} --starting-token {first['NextToken']}"))
        assert second["TableNames"] == ours[n:2 * n]
        assert ("NextToken" in second) == (2 * n < len(ours))


def test_list_tables_text_prints_each_page_once(services: Any, cli_results: dict[str, Any]) -> None:
    text = DIFFS["list-tables-text"]
    cli_lines = cli_results["diff:list-tables-text"]["out"].splitlines()
    bot_lines = bot_data(bot(services, text)).splitlines()
    assert [ln for ln in cli_lines if "mfh-dev-ddb-bot" not in ln] == bot_lines
    assert len(bot_lines) == 10 and all(ln.startswith("TABLENAMES\t") for ln in bot_lines)


def test_a_missing_table_of_the_stage_is_not_found_as_in_the_cli(
        services: Any, cli_results: dict[str, Any]) -> None:
    out = cli_results["diff:describe-missing"]
    assert out["rc"] != 0 and "ResourceNotFoundException" in out["err"]
    res = bot(services, DIFFS["describe-missing"])
    assert not res.ok and "ResourceNotFoundException" in res.message  # type: ignore[attr-defined]
    assert "Table: mfh-dev-nope not found" in res.message  # type: ignore[attr-defined]


def test_missing_item_is_said_in_words(services: Any, cli_results: dict[str, Any]) -> None:
    assert cli_results["diff:missing-item"]["out"] == ""  # the CLI prints nothing
    res = bot(services, DIFFS["missing-item"])
    assert not res.ok and "no item with key" in res.message  # type: ignore[attr-defined]


def test_seed_scan_index_forward_false_is_accepted(services: Any, cli_results: dict[str, Any]) -> None:
    assert cli_results["diff:scan-index-forward-false"]["rc"] != 0  # the CLI: Unknown options: false
    assert bot_data(bot(services, SEED_EXEC)) == cli_data(
        cli_results["seed-query-executions"], CASES["seed-query-executions"])


def test_output_table_is_json_with_a_note(services: Any, cli_results: dict[str, Any]) -> None:
    assert "|DescribeTable|" in cli_results["diff:output-table"]["out"]  # a drawn table
    res = bot(services, DIFFS["output-table"])
    assert isinstance(res, JsonResult) and res.data == "mfh-dev-users"
    assert any("--output table" in n for n in res.notes)


def test_other_tables_are_refused(services: Any) -> None:
    for text in ("aws dynamodb scan --table-name mfh-prod-users",
                 "aws dynamodb scan --table-name mfh-dev-ddb-bot",
                 "aws dynamodb batch-get-item --request-items "
                 "'{\"payroll\":{\"Keys\":[{\"id\":{\"S\":\"1\"}}]}}'"):
        res = bot(services, text)
        assert not res.ok, text


def test_writes_become_requests_and_write_nothing(services: Any, client: Any) -> None:
    from commands.results import RequestResult
    from testkit import scan_all

    before = scan_all(client)
    text = ("aws dynamodb update-item --table-name mfh-dev-users --key user_id={S=user:u-01} "
            "--update-expression 'SET #s = :s' --expression-attribute-names '#s=status' "
            "--expression-attribute-values ':s={S=disabled}'")
    res = dispatch(f"/ddb {text}", services.context("U_PARITY", "C_OPS"))
    assert isinstance(res, RequestResult), res
    assert res.status == "PENDING" and ("status", "active", "disabled") in [tuple(p) for p in res.preview]
    after = scan_all(client)
    assert after["mfh-dev-users"] == before["mfh-dev-users"]


def test_the_aws_executable_prints_what_the_driver_printed(cli: Any, cli_results: dict[str, Any]) -> None:
    """One command through the installed ``aws`` entry point: the batch driver is the same CLI."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert aws is not None, "awscli is installed by the test extra"
    text = CASES["seed-get-item"]
    proc = subprocess.run([aws, *cli.argv(text)], capture_output=True, text=True, env=cli.env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == cli_data(cli_results["seed-get-item"], text)
