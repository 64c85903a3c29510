"""``--query`` evaluated with a budget: jmespath's own interpreter, counting as it goes.

A JMESPath value can be exponentially larger than its input: ``@ | [@,@] | [@,@] …``
doubles the printed size at every pipe while Python only stores two references to the
same list, so evaluation itself is quick and the cost falls on whatever walks the value
afterwards (redacting and printing the answer, ``to_string``, ``==``). Twenty pipes made a
233 MB answer that took a minute. Checking the answer after evaluation is too late, and
a limit on the expression's shape cannot tell (each step of such a chain is harmless).

So these are counted while evaluating, each with a limit (``QueryBudget``):

- steps: every node visited, every element a projection, flatten, slice or function
  loops over, and every element a deep ``==`` or ``contains`` walks. This bounds the
  time and the memory of everything the evaluation allocates;
- size: every value the evaluation builds (a multi-select, a projection's list, a
  flatten, a slice, a function's result) is weighed the moment it is built, as the
  characters of its JSON with a shared part counted each time it appears; no value may
  weigh more than the limit or the response it was read from, whichever is larger. This
  bounds whatever walks the answer later;
- text: the characters of the strings ``join``, ``to_string`` and ``reverse`` build, in
  all, checked before each one is built.

Weighing stays cheap however much is shared: a heavy built value remembers its weight
(``QueryBudget.known``, at most ``MAX_QUERY_VALUES`` of them), so a value that holds it
counts it without walking it again; the walking itself is counted as steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jmespath.functions import Functions, signature
from jmespath.visitor import Options, TreeInterpreter

from commands.registry import CommandError

# steps in all: nodes visited, elements looped over, walked or compared (~1 CPU-second)
MAX_QUERY_STEPS = 400_000
# characters (as JSON) of any one value a --query builds, unless the response it reads
# is larger: a few MB of answer to redact and print at most
MAX_QUERY_SIZE = 2_000_000
# characters of the strings join(), to_string() and reverse() build, in all
MAX_QUERY_TEXT = 2_000_000
# built values of _REMEMBER_FROM characters or more, in all (each is remembered)
MAX_QUERY_VALUES = 50_000
# A built value at least this heavy remembers its weight, so a value holding it counts it
# without walking it again; lighter ones are walked again, at most this many characters.
_REMEMBER_FROM = 256
# a part read from DynamoDB with more entries than this is measured by json.dumps (C
# speed) rather than walked
_WALK_UP_TO = 16
# weighing is counted in steps too: a step for _PARTS_PER_STEP entries walked, or for
# _CHARS_PER_STEP characters measured by json.dumps (each about a visit's time)
_PARTS_PER_STEP = 4
_CHARS_PER_STEP = 256
_MEASURE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)

# A JMESPath AST node as jmespath's parser builds it: {"type", "children", "value"}.
Node = dict[str, Any]
# What weighing remembers: id -> (the value, kept so the id stays its own; its weight)
Known = dict[int, tuple[object, int]]


class QueryTooCostly(CommandError):
    """``--query`` went past one of its budgets; the message names which and the limit."""


@dataclass
class QueryBudget:
    """What one command's ``--query`` may spend, over all the pages it is applied to."""

    max_steps: int = MAX_QUERY_STEPS
    max_size: int = MAX_QUERY_SIZE
    max_text: int = MAX_QUERY_TEXT
    max_values: int = MAX_QUERY_VALUES
    steps: int = 0
    text: int = 0
    known: Known = field(default_factory=dict, repr=False)
    # the response being queried, weighed only if a value passes max_size
    source: object = field(default=None, repr=False)
    _source_size: int | None = field(default=None, repr=False)

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            raise QueryTooCostly(
                f"--query is too costly: evaluating it passes {self.max_steps:,} steps "
                "(nodes visited, elements looped over or compared; the limit); "
                "narrow it or read fewer items (--max-items)")

    def steps_left(self) -> int:
        return max(self.max_steps - self.steps, 0)

    def read(self, source: object) -> None:
        """The response the next evaluation reads."""
        self.source, self._source_size = source, None

    def _source_weight(self) -> int:
        if self._source_size is None:  # a tree read from DynamoDB: its size, at C speed
            self._source_size = len(_MEASURE.encode(self.source))
        return self._source_size

    def size_limit(self) -> int:
        """``max_size``, or the weight of the response when that is larger."""
        return max(self.max_size, self._source_weight())

    def text_limit(self) -> int:
        """``max_text``, or the weight of the response when that is larger."""
        return max(self.max_text, self._source_weight())

    def check_size(self, size: int) -> None:
        if size > self.max_size and size > self.size_limit():
            raise QueryTooCostly(
                f"--query is too costly: a value it builds passes {self.max_size:,} "
                f"elements/characters (limit {self.max_size:,}, or the size of the "
                "response read); select fewer fields, read fewer items (--max-items) "
                "or drop repeated multi-selects")

    def weigh(self, value: object, cap: int | None = None) -> int:
        """``value``'s weight, its walking counted as steps; counting stops once past
        ``cap`` (by default the size limit) and returns more than ``cap`` then."""
        if isinstance(value, str):
            return len(value) + 2
        if cap is None:
            cap = max(self.max_size, self._source_size or 0)
            size, work = weight(value, cap, self.known)
            if size > cap and self._source_size is None and self.size_limit() > cap:
                # past max_size: only now is the response weighed, to see if it is larger
                cap = self.size_limit()
                size, more = weight(value, cap, self.known)
                work += more
        else:
            size, work = weight(value, cap, self.known)
        self.step(work // _PARTS_PER_STEP)
        return size

    def remember(self, value: object, size: int) -> None:
        """Note the weight of a value just built (see ``_REMEMBER_FROM``)."""
        if size >= _REMEMBER_FROM and isinstance(value, list | dict):
            if len(self.known) >= self.max_values:
                raise QueryTooCostly(
                    f"--query is too costly: it builds more than {self.max_values:,} "
                    f"values of {_REMEMBER_FROM} characters or more (the limit)")
            self.known[id(value)] = (value, size)

    def built(self, value: object) -> object:
        """Check and note the weight of a value just built by a function or a slice."""
        size = self.weigh(value)
        self.check_size(size)
        self.remember(value, size)
        return value

    def build_text(self, length: int) -> None:
        """Count a string about to be built, refusing it before it is."""
        self.text += length
        if self.text > self.max_text and self.text > self.text_limit():
            raise QueryTooCostly(
                f"--query is too costly: the strings it builds (join, to_string, reverse) "
                f"pass {self.max_text:,} characters (limit {self.max_text:,}, or the size "
                "of the response read)")


def weight(value: object, cap: int, known: Known | None = None) -> tuple[int, int]:
    """About the characters of ``value`` as JSON, a shared part counted each time it
    appears, and the work of finding out (in steps); counting stops once past ``cap``.

    ``value`` and its small parts are walked here. A part in ``known`` counts its
    remembered weight. Every built value that heavy is in ``known`` (``remember``), so
    any other large part was read from DynamoDB: a tree no larger than the read, which
    ``json.dumps`` measures at C speed with nothing shared to blow up.
    """
    if isinstance(value, str):
        return len(value) + 2, 1
    if not isinstance(value, list | dict):
        return len(str(value)), 1  # numbers, true, false, null
    total = work = 0
    stack: list[list[Any] | dict[str, Any]] = [value]
    top = True
    while stack:
        item = stack.pop()
        work += 1
        hit = known.get(id(item)) if known else None
        if hit is not None and hit[0] is item:
            total += hit[1]
        elif not top and len(item) > _WALK_UP_TO:
            size = len(_MEASURE.encode(item))
            total += size
            work += _PARTS_PER_STEP * size // _CHARS_PER_STEP
        else:
            top = False
            parts: Iterable[object]
            work += len(item)
            if isinstance(item, dict):
                total += 1 + 4 * len(item) + sum(map(len, item))
                parts = item.values()
            else:
                total += 1 + len(item)
                parts = item
            for part in parts:
                if isinstance(part, str):
                    total += len(part) + 2
                elif isinstance(part, list | dict):
                    stack.append(part)
                else:
                    total += len(str(part))
        if total > cap:
            break
    return total, work


def _is_container(value: object) -> bool:
    return isinstance(value, list | dict)


class BudgetFunctions(Functions):
    """jmespath's functions, counted: arrays and objects they check or loop over cost
    their length, ``contains`` its deep comparisons; what they build is weighed, and
    ``join`` / ``to_string`` count their string before building it."""

    def __init__(self, budget: QueryBudget) -> None:
        self.budget = budget

    def call_function(self, function_name: str, resolved_args: list[Any]) -> Any:
        for arg in resolved_args:
            if _is_container(arg):
                self.budget.step(len(arg))
        if function_name == "contains" and resolved_args:
            self.budget.step(self.budget.weigh(resolved_args[0], self.budget.steps_left()))
        result = super().call_function(function_name, resolved_args)
        if _is_container(result) and all(result is not a for a in resolved_args):
            self.budget.built(result)
        return result

    @signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        self.budget.build_text(sum(len(s) for s in array)
                               + len(separator) * max(len(array) - 1, 0))
        return separator.join(array)

    @signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        if isinstance(arg, str):
            return arg
        # the JSON is at least as long as the weight: refuse before dumping
        room = self.budget.max_text - self.budget.text
        size = self.budget.weigh(arg, room)
        if size > room:
            size = self.budget.weigh(arg, self.budget.text_limit() - self.budget.text)
        self.budget.build_text(size)
        return json.dumps(arg, separators=(",", ":"), default=str)

    @signature({"types": ["array", "string"]})
    def _func_reverse(self, arg: Any) -> Any:
        if isinstance(arg, str):
            self.budget.build_text(len(arg))
            return arg[::-1]
        return list(reversed(arg))


class BudgetInterpreter(TreeInterpreter):
    """jmespath's ``TreeInterpreter``, counting every visit and weighing what it builds."""

    def __init__(self, budget: QueryBudget) -> None:
        super().__init__(Options(custom_functions=BudgetFunctions(budget)))
        self.budget = budget

    def visit(self, node: Node, *args: Any, **kwargs: Any) -> Any:
        # Visitor.visit with the step counted inline: this runs once per node and element
        budget = self.budget
        budget.steps += 1
        if budget.steps > budget.max_steps:
            budget.step(0)  # raises, naming the limit
        method = self._method_cache.get(node["type"])
        if method is None:
            method = getattr(self, f"visit_{node['type']}", self.default_visit)
            self._method_cache[node["type"]] = method
        return method(node, *args, **kwargs)

    def _collect(self, node: Node, elements: Iterable[Any]) -> list[Any]:
        collected = []
        size = 1
        for element in elements:
            current = self.visit(node, element)
            if current is not None:
                size += self.budget.weigh(current) + 1
                self.budget.check_size(size)
                collected.append(current)
        self.budget.remember(collected, size)
        return collected

    def visit_projection(self, node: Node, value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        return self._collect(node["children"][1], base)

    def visit_value_projection(self, node: Node, value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, dict):
            return None
        return self._collect(node["children"][1], base.values())

    def visit_filter_projection(self, node: Node, value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        condition = node["children"][2]
        kept = [e for e in base if self._is_true(self.visit(condition, e))]
        return self._collect(node["children"][1], kept)

    def visit_flatten(self, node: Node, value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        merged: list[Any] = []
        size = 1
        for element in base:
            parts = element if isinstance(element, list) else [element]
            self.budget.step(len(parts))
            for part in parts:
                size += self.budget.weigh(part) + 1
                self.budget.check_size(size)
            merged.extend(parts)
        self.budget.remember(merged, size)
        return merged

    def visit_slice(self, node: Node, value: Any) -> Any:
        if not isinstance(value, list):
            return None
        if node["children"][2] == 0:
            raise CommandError("a slice step cannot be 0")
        result = value[slice(*node["children"])]
        self.budget.step(len(result))
        return self.budget.built(result)

    def visit_multi_select_list(self, node: Node, value: Any) -> Any:
        if value is None:
            return None
        collected = []
        size = 1
        for child in node["children"]:
            current = self.visit(child, value)
            size += self.budget.weigh(current) + 1
            self.budget.check_size(size)
            collected.append(current)
        self.budget.remember(collected, size)
        return collected

    def visit_multi_select_dict(self, node: Node, value: Any) -> Any:
        if value is None:
            return None
        collected = {}
        size = 1
        for child in node["children"]:
            current = self.visit(child, value)
            size += len(child["value"]) + 4 + self.budget.weigh(current)
            self.budget.check_size(size)
            collected[child["value"]] = current
        self.budget.remember(collected, size)
        return collected

    def visit_comparator(self, node: Node, value: Any) -> Any:
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        op = node["value"]
        if op in self._EQUALITY_OPS:
            if left is right and _is_container(left):
                self.budget.step(len(left))  # == compares the parts by identity first
            elif _is_container(left) and _is_container(right):
                # == walks both sides as far as they agree
                cap = self.budget.steps_left()
                self.budget.step(min(self.budget.weigh(left, cap), self.budget.weigh(right, cap)))
            return self.COMPARATOR_FUNC[op](left, right)
        if not (_orderable(left) and _orderable(right)):
            return None  # as jmespath: ordering anything else is null
        if isinstance(left, str) != isinstance(right, str):
            raise CommandError(
                f"`{_SYMBOLS[op]}` compares {_describe(left)} with {_describe(right)}; "
                "order compares numbers with numbers and strings with strings. Numbers in "
                "DynamoDB JSON are strings (`score.N`): write to_number(score.N), or quote "
                "the literal")
        return self.COMPARATOR_FUNC[op](left, right)


_SYMBOLS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _orderable(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _describe(value: object) -> str:
    shown = json.dumps(value, default=str)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"a {'string' if isinstance(value, str) else 'number'} ({shown})"
