"""Every user-supplied computation has a budget (issue 18, attack 1 and 9; done items 1, 8).

Through ``dispatch`` against moto, as a reader or requester would type them: the
amplifying ``--query`` of the issue, JMESPath errors of every kind, and values, shorthand,
expressions and tokens past DynamoDB's own limits. Each is a clear error naming the limit
or the problem, never "internal error (ref …)", and a write attempt leaves every table
as it was.
"""

from __future__ import annotations

import base64
import json
import shlex
from typing import Any

import pytest

from commands import dispatch
from commands.awscli.jmespath_budget import MAX_QUERY_SIZE, MAX_QUERY_STEPS, QueryBudget
from commands.results import ErrorResult, JsonResult, Result, TextResult
from dynamo import demo
from testkit import scan_all

HELPERS = "mfh-dev-helpers"
USERS = "mfh-dev-users"
DOUBLING = "Items[0].helper_id" + " | [@,@]" * 20  # the issue's command: 61 s, 233 MB before


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _error(ctx: Any, text: str) -> str:
    result: Result = dispatch(text, ctx)
    assert isinstance(result, ErrorResult), (text[:200], result)
    assert not result.message.startswith("internal error"), (text[:200], result.message)
    return result.message


@pytest.fixture
def reader(services: Any, seeded: Any) -> Any:
    return services.context("U_READER", "C_OPS")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[QueryBudget]:
    """Every budget the commands make, to see how much they spent."""
    from commands.awscli import reads

    made: list[QueryBudget] = []

    def budget() -> QueryBudget:
        made.append(QueryBudget())
        return made[-1]

    monkeypatch.setattr(reads, "QueryBudget", budget)
    return made


# -- --query ----------------------------------------------------------------------------------
@pytest.mark.parametrize("output", ["", " --output json", " --output text"])
def test_the_issues_doubling_query_is_refused_naming_the_limit(
        reader: Any, counted: list[QueryBudget], output: str) -> None:
    message = _error(reader, f"aws dynamodb scan --table-name {HELPERS} --max-items 1 "
                             f"--query '{DOUBLING}'{output}")
    assert "--query is too costly" in message and f"{MAX_QUERY_SIZE:,}" in message
    assert counted and counted[0].steps < 5_000  # found while building, not by printing


def test_text_output_queries_every_page_on_one_budget(reader: Any,
                                                      counted: list[QueryBudget]) -> None:
    """``--output text`` runs --query once a page; 1-item pages share the command's budget."""
    query = "Items[0]" + " | [@,@]" * 12
    message = _error(reader, f"aws dynamodb scan --table-name {HELPERS} --page-size 1 "
                             f"--output text --query '{query}'")
    assert "--query is too costly" in message
    assert len(counted) == 1


def test_a_doubling_string_built_with_join_is_refused(reader: Any) -> None:
    query = "Items[0].helper_id.S" + " | join(`\"\"`, [@,@])" * 24
    message = _error(reader, f"aws dynamodb scan --table-name {HELPERS} --max-items 1 "
                             f"--query {shlex.quote(query)}")
    assert "strings it builds (join, to_string, reverse)" in message


def test_loops_within_loops_stop_at_the_step_limit(reader: Any) -> None:
    loops = ("Items[].length(" + "map(&length(" * 3 + "map(&@, [@,@,@,@,@,@,@,@])"
             + "), [@,@,@,@,@,@,@,@])" * 3 + ")")
    message = _error(reader, f"aws dynamodb scan --table-name {HELPERS} --query '{loops}'")
    assert f"{MAX_QUERY_STEPS:,} steps" in message


def test_ordinary_queries_still_answer(reader: Any) -> None:
    result = dispatch(f"aws dynamodb scan --table-name {HELPERS} --query "
                      "'sort_by(Items, &helper_id.S)[].[helper_id.S, name.S] | [:2]'", reader)
    assert isinstance(result, JsonResult) and result.data[0][0] == demo.DEMO_HELPER_ID
    text = dispatch(f"aws dynamodb scan --table-name {HELPERS} --page-size 2 --output text "
                    "--query 'Items[].helper_id.S'", reader)
    assert isinstance(text, TextResult) and demo.DEMO_HELPER_ID in text.sections[0][1]


@pytest.mark.parametrize(("query", "says"), [
    ("Items[?helper_id.S > `1`]", 'compares a string ("helper-'),      # attack 9
    ("Items[?to_number(helper_id.S) > `1`]", ""),                       # null > 1: no error
    ("sort_by(Items, &helper_id)", "sort_by() takes string or number here, but got object"),
    ("abs(Items[0].helper_id.S)", "abs() takes number here, but got string"),
    ("foo(Items)", "unknown function foo()"),
    ("length(Items, Items)", "length() takes 1 argument(s), not 2"),
    ("Items[::0]", "a slice step cannot be 0"),
    ("Items[?", "is not a valid JMESPath expression"),
    ("ceil(`1e400`)", "cannot be evaluated on this response"),
])
def test_every_jmespath_error_is_a_clear_error(reader: Any, query: str, says: str) -> None:
    text = f"aws dynamodb scan --table-name {HELPERS} --max-items 3 --query '{query}'"
    if not says:
        assert dispatch(text, reader).ok
        return
    message = _error(reader, text)
    assert message.startswith("--query") and says in message and query in message, message


# -- values, shorthand, expressions, tokens ---------------------------------------------------
def _deep_typed(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "x"}
    for _ in range(levels):
        value = {"L": [value]}
    return value


def _deep_plain(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def _deep_shorthand(levels: int) -> str:
    return "{L=[" * levels + "{S=x}" + "]}" * levels


DEEP_WRITES = [
    # /ddb put with plain JSON 400 levels deep (RecursionError in boto3's serializer before)
    "put helpers " + shlex.quote(_j({"helper_id": "helper-0100", "extra": _deep_plain(400)})),
    "put helpers " + shlex.quote(_j({"helper_id": "helper-0100", "extra": _deep_plain(32)})),
    # /ddb update … set with a JSON literal (RecursionError at 500 levels before)
    f"update helpers {demo.DEMO_HELPER_ID} set " + shlex.quote(f"extra={_j(_deep_plain(500))}"),
    f"update helpers {demo.DEMO_HELPER_ID} set " + shlex.quote(f"extra={_j(_deep_plain(40))}"),
    ("aws dynamodb put-item --table-name mfh-dev-helpers --item "
     + shlex.quote(_j({"helper_id": {"S": "helper-0100"}, "config": _deep_typed(40)}))),
    ("aws dynamodb put-item --table-name mfh-dev-helpers --item "
     + shlex.quote("helper_id={S=helper-0100},config=" + _deep_shorthand(40))),
    ("aws dynamodb put-item --table-name mfh-dev-helpers --item "  # 600 levels: recursion before
     + shlex.quote("helper_id={S=helper-0100},config=" + _deep_shorthand(600))),
    (f"aws dynamodb update-item --table-name mfh-dev-helpers --key "
     f"'{_j({'helper_id': {'S': demo.DEMO_HELPER_ID}})}' --update-expression 'SET config = :c' "
     "--expression-attribute-values " + shlex.quote(_j({":c": _deep_typed(300)}))),
]


def test_values_nested_deeper_than_dynamodb_allows_are_refused(services: Any,
                                                               seeded: Any) -> None:
    ctx = services.context("U_ALICE", "C_OPS")
    before = scan_all(services.client)
    for text in DEEP_WRITES:
        message = _error(ctx, text)
        assert "32 levels" in message or "66 levels" in message, (text[:80], message)
    assert scan_all(services.client) == before  # no item, no request, no audit record


def test_nesting_up_to_what_a_request_can_carry_is_accepted(services: Any, seeded: Any) -> None:
    """DynamoDB stores 31 lists inside an attribute; the request that carries the value
    for approval nests it one level deeper, so 30 is requestable and 31 is refused
    clearly, with nothing requested (DynamoDB Local refuses the 31-deep request item;
    moto does not check nesting, so the bot checks it itself)."""
    ctx = services.context("U_ALICE", "C_OPS")
    value = _j({"helper_id": "helper-0100", "extra": _deep_plain(30)})
    assert dispatch("put helpers " + shlex.quote(value), ctx).ok
    before = scan_all(services.client)
    value = _j({"helper_id": "helper-0101", "extra": _deep_plain(31)})
    result = dispatch("put helpers " + shlex.quote(value), ctx)
    assert not result.ok
    assert "nests maps and lists too deeply to request" in result.message, result.message
    assert scan_all(services.client) == before


def test_filter_values_nested_too_deep_are_refused(reader: Any) -> None:
    for levels in (32, 500):
        message = _error(reader, "scan helpers --filter "
                                 + shlex.quote(f"config.x = {_j(_deep_plain(levels))}"))
        assert "deeper than 32 levels" in message, message


def test_a_value_longer_than_an_item_can_be_is_refused(services: Any, seeded: Any) -> None:
    from commands.awscli.call import input_shape
    from commands.awscli.values import attribute_map
    from commands.registry import CommandError

    ctx = services.context("U_ALICE", "C_OPS")
    before = scan_all(services.client)
    big = "x" * (400 * 1024)
    text = ("aws dynamodb put-item --table-name mfh-dev-helpers --item "
            + shlex.quote(_j({"helper_id": {"S": "helper-0100"}, "name": {"S": big}})))
    assert "400 KB, DynamoDB's item size limit" in _error(ctx, text)
    assert scan_all(services.client) == before
    # the same limit for shorthand (checked on the flag's value: the whole command would
    # take seconds in the shell-like tokenizer, which is not what is tested here)
    with pytest.raises(CommandError, match="400 KB, DynamoDB's item size limit"):
        attribute_map(f"helper_id={{S=helper-0100}},name={{S={big}}}", "--item",
                      input_shape(ctx, "put-item", "Item"))


def test_long_expressions_are_refused_before_any_work(services: Any, seeded: Any) -> None:
    ctx = services.context("U_ALICE", "C_OPS")
    before = scan_all(services.client)
    paths = ",".join(f"a{i}" for i in range(2000))  # ~2M pair comparisons, 4K+ attributes
    message = _error(ctx, f"aws dynamodb scan --table-name {USERS} --projection-expression "
                          f"'{paths}'")
    assert "--projection-expression is longer than 4096 characters" in message
    sets = ", ".join(f"a{i} = :v" for i in range(1000))
    message = _error(ctx, f"aws dynamodb update-item --table-name {HELPERS} --key "
                          f"'{_j({'helper_id': {'S': demo.DEMO_HELPER_ID}})}' "
                          f"--update-expression 'SET {sets}' "
                          "--expression-attribute-values ':v={S=x}'")
    assert "--update-expression is longer than 4096 characters" in message
    assert scan_all(services.client) == before


def test_a_deep_or_huge_starting_token_is_not_a_next_token(reader: Any) -> None:
    deep = base64.b64encode(('{"ExclusiveStartKey":' + "[" * 5000 + "]" * 5000 + "}")
                            .encode()).decode()
    base = f"aws dynamodb scan --table-name {USERS} --starting-token"
    assert "is not a NextToken" in _error(reader, f"{base} {deep}")
    assert "is longer than 32,768 characters" in _error(reader, f"{base} {'A' * 40_000}")


def test_many_unused_placeholders_are_named_briefly(reader: Any) -> None:
    names = ",".join(f"#a{i}=email" for i in range(5000))
    message = _error(reader, f"aws dynamodb scan --table-name {USERS} "
                             f"--expression-attribute-names '{names}' "
                             "--filter-expression 'attribute_exists(#a0)'")
    assert "and 4,989 more given" in message and len(message) < 400


def test_shorthand_errors_show_the_place_not_the_whole_text(reader: Any) -> None:
    values = ":a={L=[" + ",".join(["{S=x}"] * 5000) + "]"  # one bracket short
    message = _error(reader, f"aws dynamodb scan --table-name {USERS} "
                             f"--expression-attribute-values '{values}' "
                             "--filter-expression 'email = :a'")
    assert "⟵" in message and len(message) < 400
