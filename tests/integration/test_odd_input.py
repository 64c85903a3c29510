"""Odd input gets a clear error, never "internal error (ref …)", and changes nothing.

Issue 9, items 5 and 6: deep ``--query`` nesting, start keys that are not the key, an
option given twice, control characters in written values, and type mismatches in
expressions (the case hypothesis found, and its family), against moto.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, Result
from dynamo import demo
from testkit import scan_all

USERS = "mfh-dev-users"


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _error(ctx: Any, text: str) -> str:
    result: Result = dispatch(text, ctx)
    assert isinstance(result, ErrorResult), (text, result)
    assert not result.message.startswith("internal error"), (text, result.message)
    return result.message


@pytest.fixture
def reader(services: Any, seeded: Any) -> Any:
    return services.context("U_READER", "C_OPS")


@pytest.mark.parametrize("query", [
    "[" * 3000 + "a" + "]" * 3000,            # thousands of brackets (too long)
    "[" * 1000 + "a" + "]" * 1000,            # a thousand levels inside the length limit
    "(" * 900 + "Table" + ")" * 900,
    "!" * 2000 + "Table",
    ".".join(["Table"] * 600),
])
def test_deeply_nested_query_is_a_clear_error(reader: Any, query: str) -> None:
    message = _error(reader, f"aws dynamodb describe-table --table-name {USERS} --query '{query}'")
    assert "--query" in message


def test_start_key_not_the_tables_or_indexes_key(reader: Any) -> None:
    base = f"aws dynamodb scan --table-name {USERS}"
    message = _error(reader, f"{base} --exclusive-start-key '{_j({'email': {'S': 'x'}})}'")
    assert "key attributes of `users` (`user_id`)" in message and "`email`" in message
    query = (f"aws dynamodb query --table-name {USERS} --index-name EmailIndex "
             "--key-condition-expression 'email = :e' "
             f"--expression-attribute-values '{_j({':e': {'S': demo.DEMO_EMAIL}})}'")
    message = _error(reader, f"{query} --exclusive-start-key '{_j({'user_id': {'S': 'u'}})}'")
    assert "`users` / `EmailIndex`" in message and "missing: `email`" in message
    message = _error(reader, f"{base} --exclusive-start-key '{_j({'user_id': {'N': '1'}})}'")
    assert "declared S" in message
    # the right shape still pages (its index key inside the key condition, as DynamoDB
    # requires: test_engine_differences.py)
    ok = dispatch(f"{query} --exclusive-start-key "
                  f"'{_j({'user_id': {'S': 'user:0'}, 'email': {'S': demo.DEMO_EMAIL}})}'", reader)
    assert ok.ok, ok


@pytest.mark.parametrize(("text", "option"), [
    ("scan users --limit 1 --limit 2", "--limit"),
    ("count users --exact --exact", "--exact"),
    ("count helpers --filter \"enabled = true\" --filter \"enabled = false\"", "--filter"),
    (f"query users email={demo.DEMO_EMAIL} --desc --desc", "--desc"),
    (f"executions {demo.DEMO_ACCOUNT_ID} --since 1h --since 2h", "--since"),
    (f"aws dynamodb scan --table-name {USERS} --limit 1 --limit 2", "--limit"),
])
def test_an_option_given_twice_is_named(reader: Any, text: str, option: str) -> None:
    assert f"`{option}` is given twice" in _error(reader, text)


CONTROL = [("\x1b[31mred", 1, "U+001B"), ("ok\x00", 3, "U+0000"), ("a\x7f", 2, "U+007F"),
           ("x\x9b1m", 2, "U+009B"), ("bell\x07", 5, "U+0007")]


@pytest.mark.parametrize(("value", "pos", "code"), CONTROL)
def test_control_characters_in_written_values_are_refused_with_their_position(
        services: Any, seeded: Any, value: str, pos: int, code: str) -> None:
    ctx = services.context("U_ALICE", "C_OPS")
    before = scan_all(services.client)
    key = _j({"helper_id": {"S": demo.DEMO_HELPER_ID}})
    attempts = [
        f"update helpers {demo.DEMO_HELPER_ID} set {_q('description=' + value)}",
        "put platforms " + _q(_j({"platform_id": "plat-0100", "name": "x", "slug": value})),
        "put platforms " + _q(_j({"platform_id": "plat-0100", "oauth": {"scopes": ["a", value]}})),
        (f"aws dynamodb update-item --table-name mfh-dev-helpers --key '{key}' "
         "--update-expression 'SET description = :d' "
         f"--expression-attribute-values {_q(_j({':d': {'S': value}}))}"),
        ("aws dynamodb put-item --table-name mfh-dev-platforms --item "
         + _q(_j({"platform_id": {"S": "plat-0100"}, "name": {"S": value}}))),
    ]
    for text in attempts:
        message = _error(ctx, text)
        assert f"{code}" in message and f"at position {pos}" in message, (text, message)
    assert scan_all(services.client) == before  # no item, no request, no audit record


def test_tab_newline_and_cr_are_allowed_in_values(services: Any, seeded: Any) -> None:
    ctx = services.context("U_ALICE", "C_OPS")
    result = dispatch(f"update helpers {demo.DEMO_HELPER_ID} set "
                      f"{_q('description=line one' + chr(10) + 'two' + chr(9) + 'x' + chr(13))}", ctx)
    assert result.ok, result


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)


FOUND = ("aws dynamodb scan --table-name mfh-dev-users --filter-expression "
         "'not (#f between :f and :f)' --expression-attribute-names '{\"#f\": \"cognito_user_id\"}' "
         "--expression-attribute-values '{\":f\": {\"N\": \"0\"}}'")


@pytest.mark.parametrize(("text", "message"), [
    (FOUND, "`cognito_user_id` is declared S but is compared (`between`) with 0, a N value"),
    (f"aws dynamodb scan --table-name {USERS} --filter-expression '#f between :a and :b' "
     "--expression-attribute-names '{\"#f\": \"email\"}' "
     "--expression-attribute-values '{\":a\": {\"S\": \"a\"}, \":b\": {\"N\": \"1\"}}'",
     "different types"),
    ("scan users --filter \"email between 'z' and 'a'\"", "lower bound is greater"),
    (f"aws dynamodb scan --table-name {USERS} --filter-expression 'begins_with(email, :a)' "
     "--expression-attribute-values '{\":a\": {\"N\": \"1\"}}'", "begins_with takes a string"),
    ("scan helpers --filter \"config.field < true\"", "orders strings, numbers or binary"),
    ("scan helpers --filter \"size(name) > 'x'\"", "is a number"),
    ("scan helpers --filter \"contains(enabled, true)\"", "contains needs a string"),
])
def test_type_mismatches_in_expressions_are_clear_errors(reader: Any, text: str,
                                                         message: str) -> None:
    assert message in _error(reader, text)


def test_undeclared_paths_of_another_type_match_nothing_like_dynamodb(reader: Any) -> None:
    """``config.field`` holds strings: ``< 5`` is false for every item, as in DynamoDB."""
    for text in ("scan helpers --filter \"config.field < 5\"",
                 "scan helpers --filter \"config.field between 1 and 5\"",
                 "scan helpers --filter \"size(nothing_here) > 1\""):
        result = dispatch(text, reader)
        assert result.ok and result.items == [], (text, result)  # type: ignore[attr-defined]
    result = dispatch("scan helpers --filter \"config.field = 'email' and size(name) > 1\"", reader)
    assert result.ok and result.items, result  # type: ignore[attr-defined]
