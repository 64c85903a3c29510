"""``--query`` within a budget (issue 18, attack 1 and 9): amplifying shapes stop with an
error naming the limit after bounded work; ordinary queries answer as jmespath does; every
JMESPath failure is a clear error naming the expression's problem.

Work is asserted in interpreter steps and in the size of what was built, never in time.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.awscli.jmespath_budget import (
    MAX_QUERY_SIZE,
    MAX_QUERY_STEPS,
    MAX_QUERY_TEXT,
    BudgetInterpreter,
    QueryBudget,
    QueryTooCostly,
    weight,
)
from commands.awscli.jmespath_query import check_query, search
from commands.registry import CommandError


def _item(i: int) -> dict[str, Any]:
    return {"helper_id": {"S": f"helper-{i:04d}"}, "name": {"S": f"Copy field {i}"},
            "runs": {"N": str(i * 7)}, "enabled": {"BOOL": i % 2 == 0},
            "config": {"M": {"steps": {"L": [{"S": "copy"}, {"S": "paste"}]},
                             "note": {"S": "x" * 40}}}}


DOC: dict[str, Any] = {"Items": [_item(i) for i in range(200)], "Count": 200,
                       "ScannedCount": 200}


def _pipes(base: str, step: str, n: int) -> str:
    return base + "".join(f" | {step}" for _ in range(n))


def _logical_size(value: object) -> int:
    """Characters of ``value`` as compact JSON, counting shared parts each time, without
    building the text: an independent check of what the budget counted."""
    memo: dict[int, int] = {}

    def size(v: object) -> int:
        if isinstance(v, list | dict):
            if id(v) in memo:
                return memo[id(v)]
            if isinstance(v, dict):
                n = 1 + sum(len(json.dumps(k)) + 1 + size(x) for k, x in v.items())
            else:
                n = 1 + sum(1 + size(x) for x in v)
            memo[id(v)] = n
            return n
        return len(json.dumps(v, default=str))

    return size(value)


class CountingInterpreter(BudgetInterpreter):
    """Counts node visits itself, apart from the budget's own count."""

    visits = 0

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        CountingInterpreter.visits += 1
        return super().visit(node, *args, **kwargs)


def _run(query: str, budget: QueryBudget, doc: object = DOC) -> Any:
    budget.read(doc)
    CountingInterpreter.visits = 0
    return CountingInterpreter(budget).visit(check_query(query).parsed, doc)


# -- the amplifying shapes of the issue ------------------------------------------------------
@pytest.mark.parametrize("query", [
    _pipes("Items[0].helper_id", "[@,@]", 20),       # the command: 233 MB before
    _pipes("Items[0].helper_id", "[@,@]", 200),
    _pipes("Items[0]", "{a: @, b: @}", 30),
    _pipes("Items[0]", "map(&[@,@], [@,@])", 30),
    _pipes("Items[0]", "to_array([@,@])", 30),
    _pipes("Items[0]", "[@,@]", 18) + " | to_string(@)",  # text built from the doubled value
    _pipes("Items[0]", "[@,@]", 18) + " | length(@)",     # discarded at the end: still refused
    _pipes("Items[0]", "[@,@]", 25) + " | [0]",
])
def test_amplifying_query_stops_at_the_size_limit_after_little_work(query: str) -> None:
    budget = QueryBudget()
    with pytest.raises(QueryTooCostly) as err:
        _run(query, budget)
    assert "--query is too costly" in str(err.value)
    assert f"{MAX_QUERY_SIZE:,}" in str(err.value) or f"{MAX_QUERY_TEXT:,}" in str(err.value)
    # found out while building, after a few thousand steps at most, not after a walk
    assert budget.steps < 20_000 and CountingInterpreter.visits < 20_000


@pytest.mark.parametrize("query", [
    _pipes("Items[0].helper_id", "[@,@][]", 40),     # flatten copies: the list really doubles
    _pipes("Items", "[@,@][]", 30),
])
def test_amplifying_copies_stop_at_a_limit_within_the_step_budget(query: str) -> None:
    budget = QueryBudget()
    with pytest.raises(QueryTooCostly) as err:
        _run(query, budget)
    assert "--query is too costly" in str(err.value)
    assert budget.steps <= MAX_QUERY_STEPS + MAX_QUERY_SIZE
    assert CountingInterpreter.visits <= MAX_QUERY_STEPS


def test_a_doubling_string_stops_at_the_text_limit_before_it_is_built() -> None:
    query = _pipes("Items[0].helper_id.S", "join('', [@,@])", 30)
    budget = QueryBudget()
    with pytest.raises(QueryTooCostly) as err:
        _run(query, budget)
    assert "strings it builds" in str(err.value) and f"{MAX_QUERY_TEXT:,}" in str(err.value)
    # refused when counted, before it was made: the last string counted is the double of
    # one within the limit, and little work was done
    assert MAX_QUERY_TEXT < budget.text <= 2 * MAX_QUERY_TEXT
    assert budget.steps < 5_000


@pytest.mark.parametrize("query", [
    # deep == between equal values that are not the same object
    "[" + _pipes("Items[0]", "[@,@]", 12) + ", " + _pipes("Items[0]", "[@,@]", 12)
    + "] | [0] == [1]",
    # contains() walks what it searches
    "[Items[0], " + _pipes("Items[0]", "[@,@]", 12) + "] | contains([1], [0])",
    # loops within loops, each value small
    "Items[].length(" + "map(&length(" * 3 + "map(&@, [@,@,@,@,@,@,@,@])"
    + "), [@,@,@,@,@,@,@,@])" * 3 + ")",
])
def test_work_without_a_large_result_stops_at_the_step_limit(query: str) -> None:
    budget = QueryBudget()
    with pytest.raises(QueryTooCostly) as err:
        _run(query, budget)
    assert "too costly" in str(err.value)
    assert budget.steps <= MAX_QUERY_STEPS + MAX_QUERY_SIZE  # one charge past the limit at most
    assert CountingInterpreter.visits <= MAX_QUERY_STEPS


def test_the_budget_is_shared_by_every_page_of_one_answer() -> None:
    """``--output text`` runs --query once a page: the pages draw on one budget."""
    budget = QueryBudget(max_steps=5_000)
    page = {"Items": DOC["Items"][:10]}
    with pytest.raises(QueryTooCostly):
        for _ in range(100):
            search("Items[].[helper_id.S, name.S]", page, budget)
    assert budget.steps > 5_000


def test_a_response_larger_than_the_size_limit_can_still_be_copied_whole() -> None:
    """A value as large as the response read is allowed (``Items[]``, ``sort_by``): what
    is refused is growth past both the limit and the response."""
    budget = QueryBudget(max_size=1_000)
    assert search("Items[]", DOC, budget) == DOC["Items"]
    assert search("sort_by(Items, &runs.N)[].helper_id.S", DOC, QueryBudget(max_size=1_000))
    with pytest.raises(QueryTooCostly):
        search("[Items, Items]", DOC, QueryBudget(max_size=1_000))


def test_heavy_values_built_are_counted_too() -> None:
    with pytest.raises(QueryTooCostly) as err:
        search("Items[].[@, @]", DOC, QueryBudget(max_values=50))
    assert "more than 50 values" in str(err.value)


@pytest.mark.parametrize("query", [
    "Items", "Items[0]", "Items[].helper_id.S", "Items[*].config.M.steps.L[].S",
    "Items[?enabled.BOOL].name.S", "Items[?runs.N > '7'].helper_id.S",
    "Items[?to_number(runs.N) > `700`].helper_id.S", "length(Items)", "Count",
    "sort_by(Items, &name.S)[:3].name.S", "max_by(Items, &to_number(runs.N)).helper_id",
    "Items[].{id: helper_id.S, n: runs.N}", "Items[].[helper_id.S, name.S]",
    "join(', ', Items[:5].helper_id.S)", "to_string(Items[0].config)", "reverse(Items)[0]",
    "Items[::-1][0].helper_id", "Items[10:20:3].helper_id.S", "keys(Items[0])",
    "values(Items[0].config.M)", "merge(Items[0], Items[1])", "Items[0] == Items[0]",
    "contains(Items[].helper_id.S, 'helper-0003')", "Items[].config.M.*.L[]",
    "[Count, ScannedCount]", "Items[0].helper_id | [@,@] | [@,@]", "not_null(Missing, Count)",
    "sum(Items[].to_number(runs.N))", "avg(Items[].to_number(runs.N))",
    "map(&helper_id.S, Items[:3])", "Items[0].missing[0]", "Items[].config.M.steps.L[][].S",
])
def test_ordinary_queries_answer_as_jmespath_does(query: str) -> None:
    assert search(query, DOC, QueryBudget()) == jmespath.search(query, DOC)


# -- property: chains of the amplifying operations -------------------------------------------
_BASES = ["@", "Items", "Items[0]", "Items[0].helper_id", "Items[0].helper_id.S",
          "Items[].name.S", "Items[*].config", "Count"]
_STEPS = ["[@,@]", "[@,@,@]", "[@,@][]", "@[]", "[@][]", "{a: @, b: @}", "{a: @, b: [@]}.*",
          "join('', [@,@])", "join(',', @)", "join('-', [to_string(@), to_string(@)])",
          "to_string(@)", "map(&[@,@], @)", "to_array(@)", "reverse(@)", "values(@)",
          "length(@)", "[@,@][][]", "[@, @] == [@, @]", "contains([@,@], @)", "@[:]",
          "sort(@)", "merge(@, @)", "not_null(@, @)", "[0]", "@[*]"]


@settings(max_examples=150)
@given(base=st.sampled_from(_BASES), steps=st.lists(st.sampled_from(_STEPS), max_size=30))
def test_any_chain_answers_or_gives_the_budget_error_with_bounded_work(
        base: str, steps: list[str]) -> None:
    query = base + "".join(f" | {s}" for s in steps)
    # a small budget keeps each example quick; the bounds scale with the limits
    budget = QueryBudget(max_steps=20_000, max_size=50_000, max_text=50_000)
    source_size = weight(DOC, 1 << 62)[0]
    try:
        result = _run(query, budget)
    except QueryTooCostly as exc:
        assert "--query is too costly" in str(exc)
    except CommandError as exc:  # a type error in the chain (join of non-strings, …)
        assert not str(exc).startswith("internal error")
    except jmespath.exceptions.JMESPathError:
        pass  # search() turns these into CommandErrors; the interpreter raises them bare
    else:
        assert _logical_size(result) <= max(budget.max_size, source_size) * 2
    assert CountingInterpreter.visits <= budget.max_steps
    assert budget.text <= 2 * max(budget.max_text, source_size)
    assert len(budget.known) <= budget.max_values


# -- every kind of JMESPath error is a clear error --------------------------------------------
@pytest.mark.parametrize(("query", "says"), [
    ("Items[?helper_id.S > `1`]", 'compares a string ("helper-0000") with a number (1)'),
    ("Items[?`2` <= name.S]", "compares a number (2) with a string"),
    ("foo(Items)", "unknown function foo()"),
    ("length(Items, Items)", "length() takes 1 argument(s), not 2"),
    ("not_null()", "not_null() takes at least 1 argument(s), not 0"),
    ("Items[::0]", "a slice step cannot be 0"),
    ("sort_by(Items, &helper_id)", "sort_by() takes string or number here, but got object"),
    ("abs(Items[0].name.S)", 'abs() takes number here, but got string ("Copy field 0")'),
    ("join(', ', Items)", "join() takes array-string here"),
    ("ceil(`1e400`)", "cannot be evaluated on this response"),
    ("max_by(Items, &(enabled.BOOL && runs.N || `1`))", "cannot be evaluated"),
    ("Items[?", "is not a valid JMESPath expression"),
    ("Items[0", "is not a valid JMESPath expression"),
    # an expression reference as data would print as a Python object
    ("[&helper_id]", "`&` (an expression reference) is only an argument of sort_by"),
    ("Items[0].{a: &name}", "`&` (an expression reference) is only an argument"),
    ("to_string(&name)", "argument 1 of to_string() is a value, not an `&` expression"),
])
def test_jmespath_errors_are_clear_and_name_the_problem(query: str, says: str) -> None:
    with pytest.raises(CommandError) as err:
        search(query, DOC, QueryBudget())
    message = str(err.value)
    assert message.startswith("--query") and says in message, message
    assert query in message


def test_errors_the_tree_shows_are_found_before_anything_is_read() -> None:
    for query in ("foo(Items)", "length(@, @)", "Items[::0]", "Items[?", "&name"):
        with pytest.raises(CommandError):
            check_query(query)
    check_query("Items[?helper_id.S > `1`]")  # a type error needs the data
