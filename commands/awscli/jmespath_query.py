"""``--query``: checked when the command is parsed, run within a budget on the response.

Every failure is a clear error naming the expression's problem, never "internal
error": what the parsed tree already shows (not JMESPath, an unknown function, a wrong
number of arguments, a zero slice step) is refused before anything is read; what only
the data shows (a function given the wrong type, ``<`` between a string and a number, a
number too large) when it happens; a query past its budget (``jmespath_budget``) with
the limit it passed.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
from jmespath import exceptions as jexc
from jmespath.functions import TYPES_MAP, Functions
from jmespath.parser import ParsedResult

from commands.awscli.jmespath_budget import BudgetInterpreter, Node, QueryBudget, QueryTooCostly
from commands.input_checks import check_jmespath
from commands.registry import CommandError


def check_query(text: str, flag: str = "--query") -> ParsedResult:
    """Parse ``text`` and refuse what its tree already shows is wrong."""
    check_jmespath(text, flag)
    try:
        parsed = jmespath.compile(text)
    except RecursionError:
        raise CommandError(f"{flag} nests too deeply; simplify the expression") from None
    except jexc.JMESPathError as exc:
        raise CommandError(f"{flag} `{text}` is not a valid JMESPath expression: {exc}") \
            from None
    problem = _tree_problem(parsed.parsed)
    if problem:
        raise CommandError(f"{flag} `{text}`: {problem}")
    return parsed


def _tree_problem(tree: Node) -> str | None:
    stack: list[tuple[Node, str]] = [(tree, "")]
    while stack:
        node, parent = stack.pop()
        if node["type"] == "function_expression":
            problem = _call_problem(node["value"], node["children"])
            if problem:
                return problem
        if node["type"] == "slice" and node["children"][2] == 0:
            return "a slice step cannot be 0"
        if node["type"] == "expref" and parent != "function_expression":
            # as a value it is no data at all (it would print as a Python object)
            return ("`&` (an expression reference) is only an argument of sort_by, max_by, "
                    "min_by or map")
        stack.extend((c, node["type"]) for c in node.get("children", ()) if isinstance(c, dict))
    return None


def _call_problem(name: str, args: list[Node]) -> str | None:
    spec = Functions.FUNCTION_TABLE.get(name)
    if spec is None:
        return f"unknown function {name}(); JMESPath has {', '.join(sorted(Functions.FUNCTION_TABLE))}"
    params = spec["signature"]
    given = len(args)
    if params and params[-1].get("variadic"):
        if given < len(params):
            return f"{name}() takes at least {len(params)} argument(s), not {given}"
    elif given != len(params):
        return f"{name}() takes {len(params)} argument(s), not {given}"
    for i, arg in enumerate(args):
        types = params[min(i, len(params) - 1)]["types"]
        if arg["type"] == "expref" and "expref" not in types:
            return f"argument {i + 1} of {name}() is a value, not an `&` expression reference"
    return None


def search(text: str, doc: object, budget: QueryBudget) -> Any:
    """``text`` applied to ``doc`` within ``budget``; every failure is a CommandError."""
    parsed = check_query(text)
    budget.read(doc)
    try:
        return BudgetInterpreter(budget).visit(parsed.parsed, doc)
    except QueryTooCostly:
        raise
    except CommandError as exc:
        raise CommandError(f"--query `{text}`: {exc}") from None
    except RecursionError:
        raise CommandError("--query nests too deeply; simplify the expression") from None
    except jexc.JMESPathTypeError as exc:
        raise CommandError(f"--query `{text}`: {_type_error(exc)}") from None
    except jexc.JMESPathError as exc:
        raise CommandError(f"--query `{text}` failed: {exc}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        # what jmespath itself does not check, e.g. max_by() over keys of mixed types
        raise CommandError(f"--query `{text}` cannot be evaluated on this response: {exc}") \
            from None


def _type_error(exc: jexc.JMESPathTypeError) -> str:
    shown = json.dumps(exc.current_value, default=str)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    expected = " or ".join(str(t) for t in exc.expected_types)
    actual = TYPES_MAP.get(str(exc.actual_type), exc.actual_type)
    return (f"{exc.function_name}() takes {expected} here, but got {actual} "
            f"({shown})")
