"""The filter / key-condition language and the boto3 expressions built from it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import expr
from commands.expr import BoolOp, Cmp, ExpressionError, Not
from dynamo.schema import BY_SHORT
from dynamo.store import build
from dynamo.values import ValueTypeError

EXE = BY_SHORT["executions"]
HELPERS = BY_SHORT["helpers"]
USERS = BY_SHORT["users"]
OAUTH = BY_SHORT["oauth-states"]

# What a built expression may consist of: placeholders, operators, keywords, functions.
_SAFE = re.compile(
    r"(?:\s+|#n\d+|:v\d+|\[\d+\]|<>|<=|>=|[().,=<>]"
    r"|\bAND\b|\bOR\b|\bNOT\b|\bBETWEEN\b|\bIN\b"
    r"|\bbegins_with\b|\bcontains\b|\battribute_exists\b|\battribute_not_exists\b)*"
)


def built(text: str, table: Any = EXE) -> dict[str, Any]:
    return build(filter=expr.filter_condition(text, table))


def assert_only_placeholders(expression: str) -> None:
    assert _SAFE.fullmatch(expression), f"user text leaked into {expression!r}"


# -- comparisons ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "name"),
    [("=", "eq"), ("<>", "ne"), ("!=", "ne"), ("<", "lt"), ("<=", "lte"), (">", "gt"),
     (">=", "gte")],
)
def test_comparison_operators(op: str, name: str) -> None:
    assert expr.parse(f"duration_ms {op} 100", EXE) == Cmp("duration_ms", name, (Decimal(100),))
    # no spaces needed
    assert expr.parse(f"duration_ms{op}100", EXE) == Cmp("duration_ms", name, (Decimal(100),))


def test_values_typed_from_schema() -> None:
    assert expr.parse("status = failed", EXE) == Cmp("status", "eq", ("failed",))
    assert expr.parse("enabled = false", HELPERS) == Cmp("enabled", "eq", (False,))
    assert expr.parse("execution_count >= 3", HELPERS) == Cmp(
        "execution_count", "gte", (Decimal(3),))
    # a declared string keeps digits as text
    assert expr.parse("contact_id = 123", EXE) == Cmp("contact_id", "eq", ("123",))


def test_quoted_values() -> None:
    assert expr.parse('error_message = "timeout after 5ms"', EXE) == Cmp(
        "error_message", "eq", ("timeout after 5ms",))
    assert expr.parse("error_message = 'a b'", EXE).values == ("a b",)  # type: ignore[union-attr]
    assert expr.parse(r'error_message = "say \"hi\" \\ ok"', EXE).values == (  # type: ignore[union-attr]
        'say "hi" \\ ok',)
    assert expr.parse('name = "Zoë ünïcode"', USERS).values == ("Zoë ünïcode",)  # type: ignore[union-attr]
    # a quoted number for a declared number is still a number
    assert expr.parse('duration_ms = "12"', EXE).values == (Decimal(12),)  # type: ignore[union-attr]
    # ... but for an undeclared or nested attribute a quoted value stays a string
    assert expr.parse('foo = "12"', EXE).values == ("12",)  # type: ignore[union-attr]
    assert expr.parse('config.tag = "12"', HELPERS).values == ("12",)  # type: ignore[union-attr]
    assert expr.parse("config.tag = 12", HELPERS).values == (Decimal(12),)  # type: ignore[union-attr]


def test_bad_escapes_do_not_crash() -> None:
    for text in (r'a = "\x"', r'a = "\u12"', r'a = "\N{nope}"', 'a = "\\"'):
        try:
            node = expr.parse(text, None)
        except ExpressionError:
            continue
        assert isinstance(node, Cmp)


def test_between_and_in() -> None:
    assert expr.parse("duration_ms between 10 and 20", EXE) == Cmp(
        "duration_ms", "between", (Decimal(10), Decimal(20)))
    assert expr.parse("status IN (failed, error, 'time out')", EXE) == Cmp(
        "status", "in", ("failed", "error", "time out"))
    assert expr.parse("status in (failed)", EXE) == Cmp("status", "in", ("failed",))


def test_functions() -> None:
    assert expr.parse("begins_with(created_at, 2025-01)", EXE) == Cmp(
        "created_at", "begins_with", ("2025-01",))
    assert expr.parse("contains(error_message, '429')", EXE) == Cmp(
        "error_message", "contains", ("429",))
    assert expr.parse("attribute_exists(error_message)", EXE) == Cmp("error_message", "exists")
    assert expr.parse("attribute_not_exists(error_message)", EXE) == Cmp(
        "error_message", "not_exists")
    assert expr.parse("created_at begins_with 2025", EXE) == Cmp(
        "created_at", "begins_with", ("2025",))


def test_boolean_precedence_and_parentheses() -> None:
    a, b, c = (Cmp(x, "eq", (Decimal(1),)) for x in ("a", "b", "c"))
    assert expr.parse("a = 1 or b = 1 and c = 1", None) == BoolOp("or", a, BoolOp("and", b, c))
    assert expr.parse("(a = 1 or b = 1) and c = 1", None) == BoolOp("and", BoolOp("or", a, b), c)
    assert expr.parse("a = 1 AND b = 1 Or c = 1", None) == BoolOp("or", BoolOp("and", a, b), c)
    assert expr.parse("not a = 1", None) == Not(a)
    assert expr.parse("NOT (a = 1 or b = 1)", None) == Not(BoolOp("or", a, b))
    assert expr.parse("not not a = 1", None) == Not(Not(a))


def test_paths() -> None:
    assert expr.parse("input.contact_id = 5", EXE) == Cmp("input.contact_id", "eq", (Decimal(5),))
    assert expr.parse("capabilities[0] = contacts", None) == Cmp(
        "capabilities[0]", "eq", ("contacts",))
    assert expr.parse("my-attr = x", None) == Cmp("my-attr", "eq", ("x",))
    # oauth-states' `state` is `state_id` in DynamoDB
    assert expr.parse("state = abc", OAUTH) == Cmp("state_id", "eq", ("abc",))


def test_placeholders_resolve_and_are_reported() -> None:
    used: set[str] = set()
    node = expr.parse("#s = :s and #d.#k > :n", EXE,
                      names={"#s": "status", "#d": "input", "#k": "contact_id", "#x": "unused"},
                      values={":s": "failed", ":n": Decimal(3), ":unused": "u"}, used=used)
    assert node == BoolOp("and", Cmp("status", "eq", ("failed",)),
                          Cmp("input.contact_id", "gt", (Decimal(3),)))
    assert used == {"#s", "#d", "#k", ":s", ":n"}


# -- the built expression holds only placeholders ----------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "status = failed",
        "name = Ada",
        'status = "x) OR (a"',
        "status = 'x) OR (attribute_exists(a)'",
        "status in (failed, error, timeout) and not duration_ms > 100",
        "begins_with(created_at, 2025) or contains(error_message, 'DROP TABLE')",
        "attribute_exists(error_message) and attribute_not_exists(ttl)",
        "duration_ms between 1 and 9000",
        "input.contact_id >= 10 and capabilities[2] <> x",
        "(status = failed or status = error) and helper_id = helper-0001",
    ],
)
def test_built_filter_contains_only_placeholders(text: str) -> None:
    params = built(text)
    expression = params["FilterExpression"]
    assert_only_placeholders(expression)
    for word in ("status", "name", "failed", "Ada", "x) OR (a", "created_at", "DROP",
                 "error_message", "duration_ms", "contact_id", "capabilities", "helper"):
        assert word not in expression
    for ph in params.get("ExpressionAttributeNames", {}):
        assert ph.startswith("#")
    for ph in params.get("ExpressionAttributeValues", {}):
        assert ph.startswith(":")


def test_injection_attempt_is_a_single_value() -> None:
    params = built('status = "x) OR (a"')
    assert params["ExpressionAttributeNames"] == {"#n0": "status"}
    assert params["ExpressionAttributeValues"] == {":v0": {"S": "x) OR (a"}}
    assert params["FilterExpression"] == "#n0 = :v0"


def test_reserved_word_status_goes_through_names() -> None:
    params = built("status = failed")
    assert "status" in params["ExpressionAttributeNames"].values()
    params = built("name = Ada", USERS)
    assert "name" in params["ExpressionAttributeNames"].values()


def test_values_are_serialized_typed() -> None:
    params = built("duration_ms > 100 and status = failed and output.ok = true")
    vals = params["ExpressionAttributeValues"].values()
    assert {"N": "100"} in vals and {"S": "failed"} in vals and {"BOOL": True} in vals


def test_key_condition_built_with_placeholders() -> None:
    node = expr.parse("account_id = acct-1 and created_at between 2025-01-01 and 2025-02-01", EXE)
    hash_value, rng, cond = expr.key_condition(node, "account_id", "created_at")
    assert hash_value == "acct-1"
    assert rng is not None
    params = build(key=cond)
    assert_only_placeholders(params["KeyConditionExpression"])
    assert "account_id" not in params["KeyConditionExpression"]
    assert set(params["ExpressionAttributeNames"].values()) == {"account_id", "created_at"}


@pytest.mark.parametrize(
    "text",
    ["user_id = u", "user_id = u and account_id = a", "account_id = a and user_id = u",
     "user_id = u and begins_with(account_id, acct-)", "user_id = u and account_id >= a",
     "user_id = u and account_id between a and b", "user_id = u and account_id begins_with a"],
)
def test_key_condition_accepted_shapes(text: str) -> None:
    node = expr.parse(text, BY_SHORT["user-accounts"])
    hash_value, _, _ = expr.key_condition(node, "user_id", "account_id")
    assert hash_value == "u"


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("status", "ends too early"),
        ("status =", "ends too early"),
        ("= failed", "attribute name"),
        ("status = = failed", "value"),
        ("status = failed extra", "unexpected"),
        ("status ~ failed", "comparison"),
        ("status failed", "comparison"),
        ("and", "attribute name"),
        ("status = and", "value"),
        (")", "attribute name"),
        ("status in ()", "value"),
        ("status in failed", "expected `(`"),
        ("duration_ms between 1 2", "expected `and`"),
        ("foo(bar) = 1", "comparison"),
        ('status = "unterminated', "unexpected"),
        ("a..b = 1", "not a valid attribute name"),
        ("1abc = 1", "not a valid attribute name"),
        (":v = 1", "attribute name"),
        ("'status' = x", "attribute name"),
        ("status = x; DROP TABLE users", "unexpected"),
        ("status = x) OR (1 = 1", "unexpected"),
        ("begins_with(created_at)", "expected `,`"),
        ("attribute_exists(a, b)", "expected `)`"),
        ("status ! failed", "unexpected"),
    ],
)
def test_garbage_is_an_expression_error(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as err:
        expr.parse(text, EXE)
    assert fragment in str(err.value)


@pytest.mark.parametrize("text", ["(status = failed", "((a = 1) or b = 2", "(a = 1))",
                                  "a = 1)", "not (a = 1"])
def test_unbalanced_parentheses(text: str) -> None:
    with pytest.raises(ExpressionError):
        expr.parse(text, None)


def test_unknown_placeholders() -> None:
    with pytest.raises(ExpressionError) as err:
        expr.parse("#s = x", EXE)
    assert "#s" in str(err.value) and "expression-attribute-names" in str(err.value)
    with pytest.raises(ExpressionError) as err:
        expr.parse("status = :s", EXE, values={":t": "x"})
    assert ":s" in str(err.value) and "expression-attribute-values" in str(err.value)


def test_mistyped_value_is_a_value_type_error() -> None:
    with pytest.raises(ValueTypeError) as err:
        expr.parse("duration_ms > abc", EXE)
    assert "duration_ms" in str(err.value)
    with pytest.raises(ValueTypeError):
        expr.parse("enabled = maybe", HELPERS)


def test_too_long_too_deep_too_many() -> None:
    with pytest.raises(ExpressionError) as err:
        expr.parse("a = " + "x" * 5000, None)
    assert "4096" in str(err.value)
    with pytest.raises(ExpressionError):
        expr.parse("(" * 1500 + "a = 1" + ")" * 1500, None)
    with pytest.raises(ExpressionError):
        expr.parse("not " * 900 + "a = 1", None)
    with pytest.raises(ExpressionError):
        expr.parse(" and ".join(["a=1"] * 500), None)
    with pytest.raises(ExpressionError):
        expr.parse("a in (" + ",".join(["1"] * 101) + ")", None)


def test_largest_accepted_expressions_still_build() -> None:
    # at the parser's bounds, boto3's recursive builder must still cope
    params = build(filter=expr.filter_condition(" and ".join(["a=1"] * 150), None))
    assert_only_placeholders(params["FilterExpression"])
    deep = "(" * 30 + "a = 1" + ")" * 30
    assert build(filter=expr.filter_condition(deep, None))["FilterExpression"] == "#n0 = :v0"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("user_id = u or account_id = a", "AND"),
        ("not user_id = u", "AND"),
        ("user_id = u and status = active", "not the sort key"),
        ("user_id = u and account_id > a and account_id < b", "at most one"),
        ("user_id = u and account_id <> a", "not allowed"),
        ("user_id = u and contains(account_id, a)", "not allowed"),
        ("user_id = u and attribute_exists(account_id)", "not allowed"),
        ("account_id = a", "exactly one `user_id = value`"),
        ("user_id > u", "exactly one `user_id = value`"),
        ("user_id = u and user_id = v", "exactly one"),
    ],
)
def test_key_condition_shape_errors(text: str, fragment: str) -> None:
    node = expr.parse(text, BY_SHORT["user-accounts"])
    with pytest.raises(ExpressionError) as err:
        expr.key_condition(node, "user_id", "account_id")
    assert fragment in str(err.value)


def test_key_condition_sort_on_hash_only_table() -> None:
    node = expr.parse("user_id = u and email = e", USERS)
    with pytest.raises(ExpressionError) as err:
        expr.key_condition(node, "user_id", None)
    assert "no sort key" in str(err.value)


# -- property: arbitrary text is a node or one of our errors, never anything else ----------
_VOCAB = st.sampled_from([
    "status", "duration_ms", "created_at", "enabled", "input.contact_id", "a[0]", "#s", ":v",
    "=", "<>", "!=", "<", "<=", ">", ">=", "(", ")", ",", "and", "or", "not", "between", "in",
    "begins_with", "contains", "attribute_exists", "attribute_not_exists", "'x y'", '"q\\"z"',
    '"\\x"', "12", "1.5", "-3", "1e400", "NaN", "true", "null", "[1]", '{"a":1}', "{", "[[",
    "failed", "'", '"', "!", "é", "\\",
])
_PATH = st.sampled_from(["status", "duration_ms", "enabled", "input.x", "foo", "#s", "a[1]"])
_OP = st.sampled_from(["=", "<>", "<", ">=", "begins_with"])
_VALUE = st.one_of(
    st.sampled_from(['"\\x"', '"\\u12"', "1e400", "NaN", "Infinity", "1" * 40, "[" * 3000,
                     '{"a":1e999}', "[1.5]", "true", "null", ":v", "'é'"]),
    st.text(alphabet=st.characters(blacklist_characters="()=<>!,'\" \t\n\r"),
            min_size=1, max_size=20),
)
_CMP = st.tuples(_PATH, _OP, _VALUE).map(" ".join)
_STRUCTURED = st.lists(_CMP, min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from([" and ", " or ", " and not "]).map(lambda j: j.join(parts)))
_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(_VOCAB, max_size=14).map(" ".join),
    st.lists(_VOCAB, max_size=14).map("".join),
    _STRUCTURED,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=_TEXT, table=st.sampled_from([None, EXE, HELPERS, USERS]))
def test_parse_never_raises_anything_else(text: str, table: Any) -> None:
    names = {"#s": "status"}
    values = {":v": "x"}
    try:
        node = expr.parse(text, table, names, values)
    except (ExpressionError, ValueTypeError):
        return
    assert isinstance(node, Cmp | BoolOp | Not)
    # whatever parses also builds, and the built text is placeholders only
    params = build(filter=expr.to_condition(node))
    assert_only_placeholders(params["FilterExpression"])


def test_size_is_a_function_not_an_attribute_name() -> None:
    from boto3.dynamodb.conditions import ConditionExpressionBuilder

    from commands.expr import parse, to_condition

    node = parse("size(tags) > :n AND size(email) BETWEEN :a AND :b", None, values={
        ":n": 1, ":a": 2, ":b": 9})
    assert node.left == Cmp("tags", "gt", (1,), size=True)  # type: ignore[union-attr]
    built = ConditionExpressionBuilder().build_expression(to_condition(node))
    assert built.condition_expression == "(size(#n0) > :v0 AND size(#n1) BETWEEN :v1 AND :v2)"
    assert built.attribute_name_placeholders == {"#n0": "tags", "#n1": "email"}
    with pytest.raises(ExpressionError, match="comparison after `size"):
        parse("size(tags) begins_with :n", None, values={":n": "x"})
