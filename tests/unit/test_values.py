"""Value typing from the declared schema (SPEC §3 and §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamo.schema import BY_SHORT
from dynamo.values import ValueTypeError, check_type, typed_value

USERS = BY_SHORT["users"]
HELPERS = BY_SHORT["helpers"]
ACCOUNTS = BY_SHORT["accounts"]
PLATFORMS = BY_SHORT["platforms"]
EXECUTIONS = BY_SHORT["executions"]
OAUTH = BY_SHORT["oauth-states"]


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return False


# -- S ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("12", "12"),  # a string attribute keeps digits as text
        ("true", "true"),
        ('"quoted"', "quoted"),  # JSON string quotes are taken off
        ('"12"', "12"),
        ("{not json", "{not json"),
        ("", ""),
        ('"', '"'),
    ],
)
def test_string_attribute(text: str, expected: str) -> None:
    value = typed_value(USERS, "email", text)
    assert value == expected and isinstance(value, str)


def test_string_timestamps_stay_strings() -> None:
    assert typed_value(EXECUTIONS, "created_at", "2025-02-05T00:00:00Z") == "2025-02-05T00:00:00Z"
    assert typed_value(EXECUTIONS, "status", "failed") == "failed"


# -- N ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", Decimal(12)), ("1.5", Decimal("1.5")), ("-3", Decimal(-3)), (" 7 ", Decimal(7)),
     ("1e3", Decimal(1000)), ("0.1", Decimal("0.1"))],
)
def test_number_attribute_is_decimal(text: str, expected: Decimal) -> None:
    value = typed_value(HELPERS, "execution_count", text)
    assert isinstance(value, Decimal) and not isinstance(value, float)
    assert value == expected


def test_number_keeps_exact_decimal_text() -> None:
    # never via float: 0.1 stays exactly 0.1
    assert str(typed_value(EXECUTIONS, "duration_ms", "0.1")) == "0.1"


def test_ttl_attributes_are_numbers() -> None:
    assert typed_value(EXECUTIONS, "ttl", "1700000000") == Decimal(1700000000)
    assert typed_value(OAUTH, "expires_at", "1700000000") == Decimal(1700000000)


@pytest.mark.parametrize("text", ["abc", "", "12abc", "one", "1,000", "true"])
def test_number_attribute_rejects_text(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(EXECUTIONS, "duration_ms", text)
    msg = str(err.value)
    assert "duration_ms" in msg and "number" in msg


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "sNaN"])
def test_number_attribute_rejects_non_finite(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(EXECUTIONS, "duration_ms", text)
    assert "duration_ms" in str(err.value)


@pytest.mark.parametrize("text", ["1e400", "1e-400", "1" * 40])
def test_number_attribute_rejects_what_dynamodb_cannot_store(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(EXECUTIONS, "duration_ms", text)
    assert "duration_ms" in str(err.value)


# -- BOOL ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("false", False), ("TRUE", True), (" False ", False)])
def test_bool_attribute(text: str, expected: bool) -> None:
    assert typed_value(HELPERS, "enabled", text) is expected


@pytest.mark.parametrize("text", ["yes", "1", "0", "", "maybe"])
def test_bool_attribute_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(HELPERS, "enabled", text)
    assert "enabled" in str(err.value) and "true or false" in str(err.value)


# -- M and L ------------------------------------------------------------------------------
def test_map_attribute() -> None:
    value = typed_value(ACCOUNTS, "settings", '{"max_helpers": 50, "ratio": 0.5, "on": true}')
    assert value == {"max_helpers": Decimal(50), "ratio": Decimal("0.5"), "on": True}
    assert not has_float(value)


@pytest.mark.parametrize("text", ["[1, 2]", "abc", '"x"', "12", "{bad json"])
def test_map_attribute_rejects_non_objects(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(ACCOUNTS, "settings", text)
    assert "settings" in str(err.value) and "JSON object" in str(err.value)


def test_list_attribute() -> None:
    value = typed_value(PLATFORMS, "capabilities", '["contacts", 2, 2.5]')
    assert value == ["contacts", Decimal(2), Decimal("2.5")]
    assert not has_float(value)


@pytest.mark.parametrize("text", ['{"a": 1}', "contacts", "12"])
def test_list_attribute_rejects_non_arrays(text: str) -> None:
    with pytest.raises(ValueTypeError) as err:
        typed_value(PLATFORMS, "capabilities", text)
    assert "capabilities" in str(err.value) and "JSON array" in str(err.value)


def test_map_with_unstorable_number_is_refused() -> None:
    with pytest.raises(ValueTypeError):
        typed_value(ACCOUNTS, "settings", '{"a": 1e400}')


# -- undeclared attributes: a JSON literal keeps its type, else a string --------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("false", False),
        ("12", Decimal(12)),
        ("-1.25", Decimal("-1.25")),
        ('"x"', "x"),
        ('"12"', "12"),
        ('{"a": 1, "b": [true]}', {"a": Decimal(1), "b": [True]}),
        ("[1, \"two\"]", [Decimal(1), "two"]),
        ("null", None),
        ("hello", "hello"),
        ("12abc", "12abc"),
        ("True", "True"),  # not a JSON literal
        ("{not: json}", "{not: json}"),
        ("NaN", "NaN"),  # not JSON, and never a float
        ("Infinity", "Infinity"),
        ("", ""),
        ("user:abc", "user:abc"),
    ],
)
def test_undeclared_attribute(text: str, expected: Any) -> None:
    for table in (USERS, None):
        value = typed_value(table, "custom_attr", text)
        assert value == expected
        assert type(value) is type(expected)
        assert not has_float(value)


def test_nested_paths_are_undeclared() -> None:
    # `settings` is a map; a path inside it has no declared type
    assert typed_value(ACCOUNTS, "settings.max_helpers", "5") == Decimal(5)
    assert typed_value(ACCOUNTS, "settings.plan", "pro") == "pro"


def test_alias_is_typed_as_its_attribute() -> None:
    assert typed_value(OAUTH, "state", "123") == "123"


def test_deeply_nested_json_literal_is_text_not_a_crash() -> None:
    text = "[" * 5000
    assert typed_value(None, "x", text) == text


@given(st.text(max_size=200))
def test_undeclared_never_float_never_crashes(text: str) -> None:
    try:
        value = typed_value(None, "x", text)
    except ValueTypeError:
        return  # e.g. a JSON number DynamoDB cannot store
    assert not has_float(value)


@given(st.text(max_size=60))
def test_declared_number_is_decimal_or_clear_error(text: str) -> None:
    try:
        value = typed_value(EXECUTIONS, "duration_ms", text)
    except ValueTypeError as exc:
        assert "duration_ms" in str(exc)
    else:
        assert isinstance(value, Decimal) and value.is_finite()


# -- check_type (already decoded values) --------------------------------------------------
def test_check_type_accepts_matching_values() -> None:
    check_type(USERS, "user_id", "user:abc")
    check_type(HELPERS, "execution_count", Decimal(1))
    check_type(HELPERS, "enabled", False)
    check_type(ACCOUNTS, "settings", {})
    check_type(PLATFORMS, "capabilities", [])
    check_type(USERS, "undeclared", 1.5)  # nothing declared, nothing to check
    check_type(USERS, "email", None)


@pytest.mark.parametrize(
    ("table", "attr", "value"),
    [
        (USERS, "user_id", Decimal(1)),
        (HELPERS, "execution_count", "12"),
        (HELPERS, "execution_count", True),  # a bool is not a number
        (HELPERS, "enabled", "true"),
        (ACCOUNTS, "settings", []),
        (PLATFORMS, "capabilities", {}),
    ],
)
def test_check_type_rejects_mismatches(table: Any, attr: str, value: Any) -> None:
    with pytest.raises(ValueTypeError) as err:
        check_type(table, attr, value)
    assert attr in str(err.value) and "declared" in str(err.value)
