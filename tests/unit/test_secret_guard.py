"""The secret guard and the expression type checks, on parsed expressions (no DynamoDB)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import ConditionExpressionBuilder

from commands import expr
from commands.expr_types import check_types
from commands.registry import CommandError
from commands.secret_guard import (
    SecretRefused,
    check_condition,
    check_expression,
    check_index,
    check_key_attribute,
    check_paths,
    check_start_key,
)
from dynamo.schema import BY_SHORT

AUTH = BY_SHORT["platform-connection-auths"]
KEYS = BY_SHORT["api-keys"]
HELPERS = BY_SHORT["helpers"]
USERS = BY_SHORT["users"]


def _refused(text: str, table=AUTH, names=None, values=None, **kw) -> str:  # type: ignore[no-untyped-def]
    node = expr.parse(text, table, names, values)
    with pytest.raises(SecretRefused) as info:
        check_condition(node, table, "--filter", **kw)
    return str(info.value)


@pytest.mark.parametrize(("text", "attr"), [
    ("begins_with(access_token, 'ya29')", "access_token"),
    ("refresh_token > 'm'", "refresh_token"),
    ("contains(api_secret, 'x')", "api_secret"),
    ("api_key between 'a' and 'b'", "api_key"),
    ("api_key in ('a', 'b')", "api_key"),
    ("not (access_token = 'x')", "access_token"),
    ("status = 'active' or begins_with(access_token, 'y')", "access_token"),
    ("size(access_token) > 3", "access_token"),
    ("attribute_exists(access_token[0])", "access_token"),
    ("attribute_exists(access_token.inner)", "access_token"),
    ("config.api_key = 'x'", "api_key"),
    ("creds[0].refresh_token = 'x'", "refresh_token"),
    ("key_hash = 'abc'", "key_hash"),
    ("begins_with(key_hash, 'ab')", "key_hash"),
])
def test_expressions_testing_a_secret_are_refused_naming_it(text: str, attr: str) -> None:
    message = _refused(text)
    assert f"`{attr}`" in message and "Nothing was read" in message


def test_aliases_are_resolved_before_checking() -> None:
    message = _refused("begins_with(#a, :p)", names={"#a": "access_token"},
                       values={":p": "ya29"})
    assert "`access_token`" in message
    message = _refused("#c.#k = :v", table=HELPERS, names={"#c": "config", "#k": "api_key"},
                       values={":v": "x"})
    assert "`api_key`" in message


def test_a_compared_map_holding_a_secret_key_is_refused() -> None:
    message = _refused("config = :m", table=HELPERS,
                       values={":m": {"field": "email", "nested": {"api_secret": "guess"}}})
    assert "`api_secret`" in message


def test_presence_of_a_secret_itself_is_allowed() -> None:
    for text in ("attribute_exists(access_token)", "attribute_not_exists(api_secret)",
                 "attribute_exists(config.api_key)", "attribute_not_exists(key_hash)"):
        check_condition(expr.parse(text, AUTH), AUTH, "--filter")


def test_whole_key_hash_equality_only_as_the_partition_key_of_its_index() -> None:
    node = expr.parse("key_hash = 'abc'", KEYS)
    check_expression(node, KEYS, "--key-condition-expression", key_index="KeyHashIndex",
                     key_condition=True)
    with pytest.raises(SecretRefused):  # the same text as a filter
        check_expression(node, KEYS, "--filter-expression", key_index="KeyHashIndex")
    with pytest.raises(SecretRefused):  # not reached through AND only
        check_expression(expr.parse("not (key_hash = 'abc')", KEYS), KEYS, "k",
                         key_index="KeyHashIndex", key_condition=True)
    with pytest.raises(SecretRefused):  # the table's partition key is key_id, not key_hash
        check_expression(node, KEYS, "k", key_index=None, key_condition=True)


def test_indexes_keyed_by_guarded_attributes() -> None:
    check_index(KEYS, "KeyHashIndex", "query", "--index-name")
    with pytest.raises(SecretRefused, match="`key_hash`"):
        check_index(KEYS, "KeyHashIndex", "scan", "--index-name")
    check_index(KEYS, "AccountIdIndex", "scan", "--index-name")
    check_key_attribute(KEYS, "key_hash", "query")
    with pytest.raises(SecretRefused, match="`access_token`"):
        check_key_attribute(AUTH, "access_token", "query")


def test_projections_and_start_keys() -> None:
    check_paths([("auth_id",), ("config", "field", 0)], AUTH, "--projection-expression")
    with pytest.raises(SecretRefused, match="`api_key`"):
        check_paths([("config", "api_key")], HELPERS, "--projection-expression")
    assert check_start_key(AUTH, None, {"auth_id": "a"}) == {"auth_id": "a"}
    with pytest.raises(SecretRefused, match="`access_token`"):
        check_start_key(AUTH, None, {"auth_id": "a", "access_token": "y"})
    with pytest.raises(CommandError, match="not key attributes: `email`; missing: `user_id`"):
        check_start_key(USERS, None, {"email": "x"})
    with pytest.raises(CommandError, match="`users` / `EmailIndex`"):
        check_start_key(USERS, "EmailIndex", {"user_id": "x"})
    assert check_start_key(USERS, "EmailIndex", {"user_id": "u", "email": "e"})
    with pytest.raises(CommandError, match="declared S"):
        check_start_key(USERS, None, {"user_id": Decimal(1)})


# -- type mismatches (issue 9, item 6) ------------------------------------------------------
@pytest.mark.parametrize(("text", "values", "message"), [
    ("not (#f between :f and :f)", {":f": Decimal(0)}, "declared S but is compared (`between`) with 0"),
    ("#f = :f", {":f": True}, "declared S"),
    ("#f between :a and :b", {":a": "a", ":b": Decimal(1)}, "different types (S and N)"),
    ("#f between :a and :b", {":a": "z", ":b": "a"}, "lower bound is greater"),
    ("begins_with(#f, :a)", {":a": Decimal(1)}, "begins_with takes a string"),
    ("#f < :a", {":a": True}, "orders strings, numbers or binary"),
    ("contains(#f, :a)", {":a": Decimal(1)}, "can never match"),
])
def test_type_mismatches_are_clear_errors(text: str, values: dict, message: str) -> None:  # type: ignore[type-arg]
    node = expr.parse(text, USERS, {"#f": "cognito_user_id"}, values)
    with pytest.raises(expr.ExpressionError, match=re.escape(message)):
        check_types(node, USERS, "--filter-expression")


def test_matching_types_and_undeclared_paths_pass() -> None:
    for text in ("status = 'active'", "config.field < 5", "size(name) between 1 and 9",
                 "created_at between '2026-01-01' and '2026-02-01'", "name = :n"):
        check_types(expr.parse(text, USERS, values={":n": None}), USERS, "--filter")
    numeric = BY_SHORT["executions"]
    check_types(expr.parse("duration_ms >= 10", numeric), numeric, "--filter")


def test_size_is_parsed_and_compares_numbers() -> None:
    node = expr.parse("size(name) > 3 and size(tags) between 1 and 5", HELPERS)
    built = ConditionExpressionBuilder().build_expression(expr.to_condition(node))
    assert built.condition_expression == \
        "(size(#n0) > :v0 AND size(#n1) BETWEEN :v1 AND :v2)", built
    assert built.attribute_name_placeholders == {"#n0": "name", "#n1": "tags"}
    ne = ConditionExpressionBuilder().build_expression(expr.to_condition(
        expr.parse("size(name) <> 3 or size(name) in (1, 2)", HELPERS)))
    assert ne.condition_expression == "(size(#n0) <> :v0 OR size(#n1) IN (:v1, :v2))"
    assert expr.parse("size = 'x'", HELPERS) == expr.Cmp("size", "eq", ("x",))  # a name still
    with pytest.raises(expr.ExpressionError, match="is a number"):
        expr.parse("size(name) > 'abc'", HELPERS)
    with pytest.raises(expr.ExpressionError, match="not allowed in a key condition"):
        expr.key_condition(expr.parse("user_id = 'u' and size(x) > 1", USERS), "user_id", None)


# -- secrets by name (issue 18): any table, any depth, any case or separator --------------------
PLATFORMS = BY_SHORT["platforms"]


@pytest.mark.parametrize(("text", "table", "attr"), [
    ("begins_with(oauth.client_secret, 'Zq8')", PLATFORMS, "client_secret"),
    ("password > 'm'", PLATFORMS, "password"),
    ("contains(config.apiKey, 'x')", HELPERS, "apiKey"),
    ("config.Private-Key = 'x'", HELPERS, "Private-Key"),
    ("size(config.hooks[2].CLIENT_SECRET) > 3", HELPERS, "CLIENT_SECRET"),
    ("not (config.passwd between 'a' and 'm')", HELPERS, "passwd"),
    ("attribute_exists(config.credentials[0])", HELPERS, "credentials"),
    ("status = 'a' or begins_with(tokens, 'a')", USERS, "tokens"),
])
def test_names_that_say_secret_are_refused_in_every_table(text: str, table, attr: str) -> None:  # type: ignore[no-untyped-def]
    names = {"#k": "Private-Key"} if "Private-Key" in text else None
    message = _refused(text.replace("Private-Key", "#k"), table, names=names)
    assert f"`{attr}`" in message and "secret by its name" in message


def test_names_that_describe_a_secret_or_page_are_not_guarded() -> None:
    for text in ("token_type = 'Bearer'", "begins_with(oauth.token_url, 'https')",
                 "api_key_id = 'k'", "NextToken = 'x'", "max_tokens > 3"):
        check_condition(expr.parse(text, HELPERS, None, None), HELPERS, "--filter")


def test_secret_names_in_projections_start_keys_and_compared_maps() -> None:
    with pytest.raises(SecretRefused, match="`clientSecret`"):
        check_paths([["oauth", "clientSecret"]], PLATFORMS, "--projection-expression")
    with pytest.raises(SecretRefused, match="`password`"):
        check_start_key(PLATFORMS, None, {"platform_id": "p", "password": "x"})
    with pytest.raises(SecretRefused, match="`api-key`"):
        check_start_key(PLATFORMS, None, {"platform_id": {"nested": {"api-key": "x"}}})
    node = expr.parse("config = :m", HELPERS, None, {":m": {"pwd": "guess"}})
    with pytest.raises(SecretRefused, match="`pwd`"):
        check_condition(node, HELPERS, "--filter")
