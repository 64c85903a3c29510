"""Quorum approvals and the audit export: DynamoDB requests per step, side by side.

Counts every DynamoDB API call (botocore's ``before-call`` event) on moto in-process:

- one approval (the default rule) — the baseline;
- a 2-of-2 quorum: the non-final approval, then the final one;
- N simultaneous "last" approvals of a 2-of-2 request (threads behind a barrier): how
  many calls all of them made together, and that exactly one ran the change;
- the audit export of R records: query pages and wall time.

    python benchmarks/quorum.py [--records 5000]

Prints a table and writes benchmarks/results/quorum.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=5000)
    args = p.parse_args()
    from moto import mock_aws

    from bot.config import load_settings
    from bot.services import Services
    from commands import dispatch
    from dynamo import audit_export, demo
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table
    from testkit.moto import serialize_moto_dynamodb
    from testkit.results import results_path

    serialize_moto_dynamodb()
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as policy:
        policy.write("tables:\n  helpers: {update: {approvals: 2}}\n")
    rows: list[dict[str, Any]] = []
    with mock_aws():
        client = dynamodb_client("us-west-2")
        create_platform_tables(client, "dev")
        create_state_table(client, "mfh-dev-ddb-bot")
        demo.seed(client, "dev", scale=1)
        services = Services.build(load_settings(ddb_bot_policy_file=policy.name), client)
        calls: Counter[str] = Counter()
        lock = threading.Lock()

        def count(event_name: str, **_kw: Any) -> None:
            with lock:
                calls[event_name.rsplit(".", 1)[-1]] += 1

        client.meta.events.register("before-call.dynamodb", count)

        def run(user: str, text: str) -> Any:
            return dispatch(text, services.context(user, "C_OPS"))

        def measure(label: str, fn: Any) -> Any:
            calls.clear()
            start = time.perf_counter()
            result = fn()
            ms = (time.perf_counter() - start) * 1000
            rows.append({"step": label, "dynamodb_calls": sum(calls.values()),
                         "by_operation": dict(sorted(calls.items())), "ms": round(ms, 1)})
            return result

        single = run("U_A", "update users " + demo.DEMO_USER_ID + " set status=x").id
        measure("1 approval (default rule) — baseline", lambda: run("U_B", f"approve {single}"))
        quorum = run("U_A", f"update helpers {demo.DEMO_HELPER_ID} set execution_count=1").id
        measure("2-of-2: first (recorded)", lambda: run("U_B", f"approve {quorum}"))
        measure("2-of-2: second (runs it)", lambda: run("U_C", f"approve {quorum}"))
        for n in (2, 4, 8):
            rid = run("U_A", f"update helpers {demo.DEMO_HELPER_ID} set execution_count={n}").id
            run("U_B", f"approve {rid}")
            barrier = threading.Barrier(n)
            results: list[Any] = [None] * n

            def click(i: int, rid: str = rid, barrier: threading.Barrier = barrier,
                      results: list[Any] = results) -> None:
                barrier.wait()
                results[i] = run(f"U_L{i}", f"approve {rid}")

            def race(n: int = n, click: Any = click) -> None:
                threads = [threading.Thread(target=click, args=(i,)) for i in range(n)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            measure(f"{n} last approvals at once", race)
            executed = sum(1 for r in results if getattr(r, "status", "") == "EXECUTED")
            rows[-1]["executed"] = executed
            assert executed == 1, results

        now = datetime.now(UTC)
        for i in range(args.records):
            services.requests.audit.record(f"U_{i % 7}", "approve", f"R{i:08d}", "update x",
                                           "PENDING", {"table": "helpers", "kind": "update"})
        out = io.StringIO()

        def read() -> list[dict[str, Any]]:
            return list(audit_export.read_records(client, "mfh-dev-ddb-bot",
                                                  now - timedelta(hours=1), now + timedelta(hours=1)))

        items = measure(f"export {args.records} records: read (moto)", read)

        def write() -> int:
            return audit_export.write_lines((audit_export.to_export(i) for i in items), out)

        n = measure(f"export {args.records} records: redact+JSON", write)
        rows[-1]["records"] = n
        rows[-1]["bytes"] = len(out.getvalue())
    os.unlink(policy.name)
    base = rows[0]["dynamodb_calls"]
    print(f"{'step':42} {'calls':>6} {'vs 1 approval':>14} {'ms':>9}  by operation")
    for r in rows:
        ops = ", ".join(f"{k} {v}" for k, v in r["by_operation"].items())
        print(f"{r['step']:42} {r['dynamodb_calls']:>6} {r['dynamodb_calls'] / base:>13.2f}x "
              f"{r['ms']:>9}  {ops}")
    with open(results_path("quorum.json"), "w") as fh:
        json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
