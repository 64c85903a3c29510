"""What one ``--query`` can cost: plain jmespath (before) beside the budgeted interpreter.

Issue 18, attack 1: each ``| [@,@]`` doubles the answer, and twenty of them took 61 s and
233 MB per command. For each shape this prints CPU seconds and peak traced memory of what
one answer does with a query: evaluate it, then build and print the answer
(``JsonResult``, which redacts a copy of the data, and ``json.dumps``):

- **before**: ``jmespath.search`` as the bot ran it until this change. The doubling
  shapes only run up to ``--before-pipes`` pipes (default 18) so that they finish: the
  time and memory double with each pipe after that (the issue's 20 pipes: 61 s, 233 MB);
- **bounded**: ``commands.awscli.jmespath_query.search`` with a fresh ``QueryBudget``, at
  the issue's 20 pipes (and 200), with the error it answers or the size of its answer.

The response queried is a typed scan page of ``--items`` demo helpers (1,000 by default,
the default ``DDB_BOT_SCAN_CAP``) as ``aws dynamodb scan`` returns it.

    python benchmarks/query_budget.py [--items 1000] [--before-pipes 18]

Prints a Markdown table (the rows in README's *Budgets*).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jmespath  # noqa: E402
from boto3.dynamodb.types import TypeSerializer  # noqa: E402

from commands.awscli.jmespath_budget import QueryBudget  # noqa: E402
from commands.awscli.jmespath_query import search  # noqa: E402
from commands.registry import CommandError  # noqa: E402
from commands.results import JsonResult  # noqa: E402
from dynamo import demo  # noqa: E402


def response(items: int) -> dict[str, Any]:
    """A typed scan response of ``items`` demo helpers, as the CLI prints it."""
    helpers = demo.generate(1)["helpers"]
    ser = TypeSerializer()
    typed = [{k: ser.serialize(v) for k, v in helpers[i % len(helpers)].items()}
             for i in range(items)]
    return json.loads(json.dumps({"Items": typed, "Count": items, "ScannedCount": items},
                                 default=str))


def pipes(base: str, step: str, n: int) -> str:
    return base + f" | {step}" * n


def answer(evaluate: Callable[[], Any]) -> str:
    """Evaluate, then build and print the answer as the bot does."""
    try:
        data = evaluate()
    except (CommandError, jmespath.exceptions.JMESPathError, TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:60]}"
    shown = json.dumps(JsonResult(title="q", data=data).data, default=str)
    return f"answers, {len(shown):,} characters"


def measure(evaluate: Callable[[], Any]) -> tuple[float, float, str]:
    """CPU seconds, peak traced MB and the outcome of one answer."""
    start = time.process_time()
    outcome = answer(evaluate)
    cpu = time.process_time() - start
    tracemalloc.start()
    answer(evaluate)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return cpu, peak, outcome


def rows(doc: dict[str, Any], before_pipes: int) -> list[tuple[str, str, str]]:
    """(shape, engine, query) to measure."""
    doubling = "Items[0].helper_id"
    out = [(f"[@,@] × {n}", "before", pipes(doubling, "[@,@]", n))
           for n in range(before_pipes - 4, before_pipes + 1, 2)]
    out += [("[@,@] × 20 (the issue)", "bounded", pipes(doubling, "[@,@]", 20)),
            ("[@,@] × 200", "bounded", pipes(doubling, "[@,@]", 200))]
    joined = "Items[0].helper_id.S"
    out += [(f"join doubling × {before_pipes + 4}", "before",
             pipes(joined, "join('', [@,@])", before_pipes + 4)),
            ("join doubling × 30", "bounded", pipes(joined, "join('', [@,@])", 30))]
    copies = ("Items | [@,@][][] | [@,@][] | @[:] | [@,@][][] | @[*] | to_string(@) | "
              "length(@)")
    loops = ("Items[].length(" + "map(&length(" * 3 + "map(&@, [@,@,@,@,@,@,@,@])"
             + "), [@,@,@,@,@,@,@,@])" * 3 + ")")
    for name, query in (("copies, then to_string", copies), ("loops within loops", loops),
                        ("typical: Items[].[id, name]", "Items[].[helper_id.S, name.S]"),
                        ("typical: sort_by + slice", "sort_by(Items, &name.S)[:10].name.S"),
                        ("whole response: Items[]", "Items[]")):
        out += [(name, "before", query), (name, "bounded", query)]
    return out


def evaluator(engine: str, query: str, doc: dict[str, Any]) -> Callable[[], Any]:
    if engine == "before":
        return lambda: jmespath.search(query, doc)
    return lambda: search(query, doc, QueryBudget())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--before-pipes", type=int, default=18)
    args = parser.parse_args()
    doc = response(args.items)
    print(f"response: {args.items:,} items, {len(json.dumps(doc)):,} characters of JSON\n")
    print("| shape | engine | CPU s | peak MB | outcome |")
    print("|---|---|---:|---:|---|")
    for shape, engine, query in rows(doc, args.before_pipes):
        cpu, peak, outcome = measure(evaluator(engine, query, doc))
        print(f"| {shape} | {engine} | {cpu:.2f} | {peak:.1f} | {outcome} |", flush=True)


if __name__ == "__main__":
    main()
