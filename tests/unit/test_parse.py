"""Argument parsing: tokens, options, keys in every form, durations, limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commands.parse import (
    check_limit,
    json_object,
    load_json,
    parse_duration,
    parse_key,
    parse_options,
)
from commands.registry import CommandError, tokenize
from dynamo.schema import BY_SHORT
from dynamo.values import ValueTypeError

USERS = BY_SHORT["users"]
UA = BY_SHORT["user-accounts"]
OAUTH = BY_SHORT["oauth-states"]
USAGE = "/ddb get <table> <key>"


# -- tokenize ---------------------------------------------------------------------------
def test_tokenize_splits_like_a_shell() -> None:
    assert tokenize("get users user:abc") == ["get", "users", "user:abc"]
    assert tokenize("scan users --filter 'status = active'") == [
        "scan", "users", "--filter", "status = active"]
    assert tokenize('scan users --filter "status = active"')[-1] == "status = active"


@pytest.mark.parametrize(
    "text",
    [
        "scan users --filter “status = active”",  # Slack's curly double quotes
        "scan users --filter ‘status = active’",  # curly single quotes
        "scan users --filter “status = active\"",  # mixed
    ],
)
def test_tokenize_smart_quotes_are_plain_quotes(text: str) -> None:
    assert tokenize(text) == ["scan", "users", "--filter", "status = active"]


def test_tokenize_json_key_in_single_quotes() -> None:
    toks = tokenize("""get users '{"user_id":{"S":"user:abc"}}'""")
    assert toks == ["get", "users", '{"user_id":{"S":"user:abc"}}']


@pytest.mark.parametrize("text", ['get users "user:abc', "get users 'abc", "scan x “abc"])
def test_tokenize_unclosed_quote_is_a_command_error(text: str) -> None:
    with pytest.raises(CommandError) as err:
        tokenize(text)
    assert "quote" in str(err.value)


# -- parse_options ----------------------------------------------------------------------
FLAGS = {"--limit": int, "--filter": str, "--desc": None}


def test_options_flags_values_and_positionals() -> None:
    opts = parse_options(["users", "--desc", "--limit", "5", "x=1", "--filter", "a = 1"], FLAGS)
    assert opts.positional == ["users", "x=1"]
    assert opts.get("--desc") is True
    assert opts.get("--limit") == 5
    assert opts.get("--filter") == "a = 1"
    assert opts.get("--nope", "dflt") == "dflt"


def test_options_inline_value() -> None:
    opts = parse_options(["--limit=7", "--filter=status = a=b"], FLAGS)
    assert opts.get("--limit") == 7
    assert opts.get("--filter") == "status = a=b"  # only the first `=` splits


def test_options_absent_boolean_flag_is_unset() -> None:
    assert parse_options(["users"], FLAGS).get("--desc") is None


def test_options_unknown_option_names_it_and_lists_known() -> None:
    with pytest.raises(CommandError) as err:
        parse_options(["--bogus", "1"], FLAGS, USAGE)
    msg = str(err.value)
    assert "--bogus" in msg and "--limit" in msg
    assert err.value.usage == USAGE


def test_options_missing_value() -> None:
    with pytest.raises(CommandError) as err:
        parse_options(["users", "--limit"], FLAGS, USAGE)
    assert "--limit" in str(err.value) and "needs a value" in str(err.value)
    assert err.value.usage == USAGE


@pytest.mark.parametrize("raw", ["abc", "1.5", "", "ten"])
def test_options_non_int_limit(raw: str) -> None:
    with pytest.raises(CommandError) as err:
        parse_options(["--limit", raw], FLAGS, USAGE)
    assert "whole number" in str(err.value)


def test_options_boolean_flag_refuses_a_value() -> None:
    with pytest.raises(CommandError) as err:
        parse_options(["--desc=yes"], FLAGS)
    assert "takes no value" in str(err.value)


def test_options_bare_double_dash_is_positional() -> None:
    assert parse_options(["--"], FLAGS).positional == ["--"]


# -- parse_key ----------------------------------------------------------------------------
UID = "user:5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f"


def test_key_hash_only_positional() -> None:
    assert parse_key(USERS, [UID]) == {"user_id": UID}


def test_key_pk_sk_positional_for_user_accounts() -> None:
    assert parse_key(UA, [UID, "acct-0001"]) == {"user_id": UID, "account_id": "acct-0001"}


def test_key_attr_value_any_order() -> None:
    key = parse_key(UA, ["account_id=acct-0001", f"user_id={UID}"])
    assert key == {"user_id": UID, "account_id": "acct-0001"}
    assert parse_key(USERS, [f"user_id={UID}"]) == {"user_id": UID}


def test_key_value_may_contain_equals_sign() -> None:
    assert parse_key(USERS, ["user_id=a=b"]) == {"user_id": "a=b"}


def test_key_plain_json() -> None:
    assert parse_key(USERS, [f'{{"user_id": "{UID}"}}']) == {"user_id": UID}
    key = parse_key(UA, [f'{{"user_id": "{UID}", "account_id": "acct-0001"}}'])
    assert key == {"user_id": UID, "account_id": "acct-0001"}


def test_key_dynamodb_json() -> None:
    assert parse_key(USERS, ['{"user_id":{"S":"user:abc"}}']) == {"user_id": "user:abc"}
    key = parse_key(UA, ['{"user_id":{"S":"user:abc"},"account_id":{"S":"acct-1"}}'])
    assert key == {"user_id": "user:abc", "account_id": "acct-1"}


def test_key_oauth_states_alias() -> None:
    assert parse_key(OAUTH, ["state=abc-123"]) == {"state_id": "abc-123"}
    assert parse_key(OAUTH, ["state_id=abc-123"]) == {"state_id": "abc-123"}
    assert parse_key(OAUTH, ["abc-123"]) == {"state_id": "abc-123"}
    assert parse_key(OAUTH, ['{"state": "abc-123"}']) == {"state_id": "abc-123"}
    assert parse_key(OAUTH, ['{"state":{"S":"abc-123"}}']) == {"state_id": "abc-123"}


def test_key_alias_and_real_name_together_is_twice() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(OAUTH, ["state=a", "state_id=b"], USAGE)
    assert "twice" in str(err.value)


def test_key_missing_entirely() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, [], USAGE)
    assert "missing key" in str(err.value)
    assert "user_id" in str(err.value) and "account_id" in str(err.value)
    assert err.value.usage == USAGE


def test_key_incomplete_attr_value() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, [f"user_id={UID}"], USAGE)
    assert "incomplete key" in str(err.value) and "account_id" in str(err.value)
    assert err.value.usage == USAGE


def test_key_incomplete_positional() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, [UID], USAGE)
    assert "account_id" in str(err.value) and "1 value" in str(err.value)


def test_key_incomplete_json() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, ['{"user_id":{"S":"user:abc"}}'])
    assert "incomplete key" in str(err.value) and "account_id" in str(err.value)


def test_key_too_many_positionals() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(USERS, [UID, "extra"])
    assert "got 2 value(s)" in str(err.value)


@pytest.mark.parametrize(
    "args",
    [
        [f"user_id={UID}", "email=ada@example.com"],
        [f'{{"user_id": "{UID}", "email": "ada@example.com"}}'],
        [f'{{"user_id":{{"S":"{UID}"}},"email":{{"S":"ada@example.com"}}}}'],
    ],
)
def test_key_extra_attribute(args: list[str]) -> None:
    with pytest.raises(CommandError) as err:
        parse_key(USERS, args, USAGE)
    assert "email" in str(err.value) and "not part of" in str(err.value)


def test_key_mixed_forms_refused() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, [UID, "account_id=acct-1"])
    assert "either" in str(err.value)


@pytest.mark.parametrize(
    "text",
    ['{"user_id":{"N":"1"}}', '{"user_id": 1}', '{"user_id": true}', '{"user_id": {"a": "b"}}',
     '{"user_id":{"BOOL":true}}'],
)
def test_key_wrong_type(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        parse_key(USERS, [text])
    assert "user_id" in str(err.value) and "declared S" in str(err.value)


@pytest.mark.parametrize(
    "text", ['{"user_id":', '{user_id: "x"}', '{"user_id": "x",}', "{", '{"user_id": NaN}'])
def test_key_malformed_json(text: str) -> None:
    with pytest.raises(CommandError) as err:
        parse_key(USERS, [text], USAGE)
    assert "not valid JSON" in str(err.value)


def test_key_json_array_is_not_an_object() -> None:
    with pytest.raises(CommandError):
        parse_key(USERS, ['{"a": 1}extra'])
    with pytest.raises(CommandError) as err:
        json_object('["user:abc"]', "the key")
    assert "JSON object" in str(err.value)


@pytest.mark.parametrize(
    "text",
    ['{"user_id":{"N":"abc"}}', '{"user_id":{"N":"1e999"}}', '{"user_id":{"Q":"x"}, "b": 1}',
     '{"user_id":{"N":"123456789012345678901234567890123456789012"}}'],
)
def test_key_bad_dynamodb_json_is_a_clear_error(text: str) -> None:
    # never an exception other than our own errors
    with pytest.raises((CommandError, ValueTypeError)):
        parse_key(USERS, [text])


def test_load_json_deep_nesting_is_a_command_error() -> None:
    with pytest.raises(CommandError):
        load_json("[" * 5000, "the item")
    with pytest.raises(CommandError):
        load_json('{"a":' * 5000, "the item")


def test_load_json_numbers_are_decimal() -> None:
    assert load_json('{"a": 1.5, "b": [2]}', "x") == {"a": Decimal("1.5"), "b": [Decimal(2)]}
    assert isinstance(load_json("1.5", "x"), Decimal)


@pytest.mark.parametrize(
    "args", [["user_id="], ["user_id=  "], [""], ["  "], ['{"user_id": ""}'],
             ['{"user_id":{"S":""}}']])
def test_key_empty_value(args: list[str]) -> None:
    with pytest.raises(CommandError) as err:
        parse_key(USERS, args, USAGE)
    assert "empty" in str(err.value)


def test_key_empty_sort_value() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(UA, [f"user_id={UID}", "account_id="])
    assert "account_id" in str(err.value) and "empty" in str(err.value)


def test_key_duplicate_attribute() -> None:
    with pytest.raises(CommandError) as err:
        parse_key(USERS, ["user_id=a", "user_id=b"])
    assert "twice" in str(err.value)


# -- parse_duration -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 24H ", timedelta(hours=24)),
        ("366d", timedelta(days=366)),
    ],
)
def test_duration_ok(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["abc", "24", "h", "0h", "-1h", "1.5h", "24 hours", "", "1y"])
def test_duration_bad(text: str) -> None:
    with pytest.raises(CommandError) as err:
        parse_duration(text, "/ddb executions <account_id> [--since 24h]")
    assert "duration" in str(err.value)
    assert err.value.usage


def test_duration_longer_than_a_year() -> None:
    with pytest.raises(CommandError) as err:
        parse_duration("400d")
    assert "year" in str(err.value)


# -- check_limit -----------------------------------------------------------------------
def test_limit_default_and_bounds() -> None:
    assert check_limit(None, 10, 100) == 10
    assert check_limit(1, 10, 100) == 1
    assert check_limit(100, 10, 100) == 100


@pytest.mark.parametrize("value", [0, -1, 101, 10_000])
def test_limit_out_of_range(value: int) -> None:
    with pytest.raises(CommandError) as err:
        check_limit(value, 10, 100, USAGE)
    assert "between 1 and 100" in str(err.value) and str(value) in str(err.value)
    assert err.value.usage == USAGE
