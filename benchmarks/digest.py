"""Digest reads at scale (SPEC §9): items read against the items in the window.

Seeds moto's server (ThreadedMotoServer on 127.0.0.1, port 0, in a child process so the
digest's memory and CPU are measured apart from the fake DynamoDB's) with executions
spread evenly over 50 days, so a 24 h window holds 2 % of them, then builds the digest:

- planner, cold: no stored summary of the previous window, so the read spans both
  windows (the trend needs the day before);
- planner, steady state: the previous digest's stored summary gives the trend, so only
  the window is read (what a scheduled run does every day after the first);
- a forced parallel scan, for comparison.

    python benchmarks/digest.py            # 200,000 executions / 1,000 accounts
    python benchmarks/digest.py --quick    # 20,000 / 100

Prints a table and writes benchmarks/results/digest.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from dynamo import digest as dg  # noqa: E402
from dynamo import digest_reads as reads  # noqa: E402
from dynamo.schedule import Window, iso  # noqa: E402
from dynamo.store import Store, serialize_item  # noqa: E402
from dynamo.tables import create_platform_tables  # noqa: E402
from testkit.results import RESULTS  # noqa: E402

STAGE, REGION = "bench", "us-west-2"
HISTORY_DAYS = 50  # even spread: any 24 h holds 1/50 = 2 %
FAILED = ("failed", "error", "timeout")
ERRORS = ("HubSpot API returned 429 Too Many Requests for contact {n}",
          "timeout after {n}ms waiting for Keap", "contact {u} not found",
          "invalid field mapping: field_{n} does not exist")


# -- the fake DynamoDB, in its own process --------------------------------------------------
def _accelerate_moto() -> None:
    """Make moto fast enough for 200,000 items without changing what it returns or counts.

    moto sorts every item of a table on each ``all_items()`` call, and a query on a GSI
    walks all of them to find one hash key: 1,000 account queries over 200,000 items
    would take hours. Here the sorted list is cached until the table's keys change, and a
    GSI query starts from the items with its hash key only. Results, ScannedCount and
    paging are moto's own (``--no-accelerate`` runs plain moto to check).
    """
    import threading as th

    from moto.dynamodb.models.table import Table

    local = th.local()
    building = th.Lock()  # one thread builds a cache, the others wait for it
    sorted_all, put, delete, query = (Table.all_items, Table.put_item, Table.delete_item,
                                      Table.query)

    def all_items(self: Any) -> Any:
        narrowed = getattr(local, "items", None)
        if narrowed is not None:
            return narrowed
        cache = self.__dict__.setdefault("_bench_cache", {})
        if "all" not in cache:
            with building:
                if "all" not in cache:
                    cache["all"] = sorted_all(self)
        return list(cache["all"])

    def changed(fn: Any) -> Any:
        def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
            self.__dict__.pop("_bench_cache", None)
            return fn(self, *a, **kw)
        return wrapper

    def gsi_query(self: Any, *a: Any, hash_key_conditions: Any = None, **kw: Any) -> Any:
        index_name = a[7] if len(a) > 7 else kw.get("index_name")
        if index_name and hash_key_conditions and len(hash_key_conditions) == 1:
            attr, value = hash_key_conditions[0]
            cache = self.__dict__.setdefault("_bench_cache", {})
            items = all_items(self)
            with building:
                buckets = cache.get(("gsi", attr))
                if buckets is None:
                    buckets = {}
                    for item in items:
                        v = item.attrs.get(attr)
                        if v is not None:
                            buckets.setdefault(v, []).append(item)
                    cache[("gsi", attr)] = buckets
            local.items = list(buckets.get(value, []))
            try:
                return query(self, *a, hash_key_conditions=hash_key_conditions, **kw)
            finally:
                local.items = None
        return query(self, *a, hash_key_conditions=hash_key_conditions, **kw)

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.put_item = changed(put)  # type: ignore[method-assign]
    Table.delete_item = changed(delete)  # type: ignore[method-assign]
    Table.query = gsi_query  # type: ignore[method-assign]


def _serve(conn: Any, stop: Any, accelerate: bool) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    if accelerate:
        _accelerate_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    conn.send(server.get_host_and_port())
    stop.wait()
    server.stop()


def start_moto(accelerate: bool = True) -> tuple[str, Any, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    proc = ctx.Process(target=_serve, args=(child, stop, accelerate), daemon=True)
    proc.start()
    host, port = parent.recv()
    return f"http://{host}:{port}", proc, stop


# -- data -------------------------------------------------------------------------------
def generate(n_exec: int, n_acct: int, end: datetime, seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    accounts = [{"account_id": f"acct-{a:05d}", "name": f"Account {a}", "plan": "pro",
                 "status": "active", "created_at": iso(end - timedelta(days=400))}
                for a in range(n_acct)]
    helpers = [{"helper_id": f"helper-{a:05d}-{h}", "account_id": f"acct-{a:05d}",
                "name": f"Helper {h} of {a}", "helper_type": "tag_contact", "status": "active"}
               for a in range(n_acct) for h in range(5)]
    window_n = round(n_exec / HISTORY_DAYS)
    executions = []
    for e in range(n_exec):
        helper = helpers[rng.randrange(len(helpers))]
        if e < window_n:  # exactly 2 % in the last 24 h, the rest spread over 49 days before
            created = end - timedelta(seconds=rng.uniform(1, 86400 - 1))
        else:
            created = end - timedelta(days=1, seconds=rng.uniform(1, (HISTORY_DAYS - 1) * 86400 - 1))
        status = "success" if rng.random() < 0.9 else rng.choice(FAILED)
        item: dict[str, Any] = {
            "execution_id": f"exec-{e:07d}", "helper_id": helper["helper_id"],
            "account_id": helper["account_id"], "user_id": f"user:{rng.getrandbits(64):016x}",
            "connection_id": f"conn-{rng.randrange(10**5):05d}", "status": status,
            "trigger_type": "webhook", "created_at": iso(created), "started_at": iso(created),
            "completed_at": iso(created + timedelta(seconds=2)),
            "duration_ms": rng.randrange(20, 9000), "input": {"contact_id": rng.randrange(10**6)},
            "output": {"ok": status == "success"}, "ttl": int(created.timestamp()) + 90 * 86400,
        }
        if status != "success":
            item["error_message"] = rng.choice(ERRORS).format(n=rng.randrange(10**4),
                                                              u=f"{rng.getrandbits(128):032x}")
        executions.append(item)
    return {"accounts": accounts, "helpers": helpers, "executions": executions}


def seed(client: Any, data: dict[str, list[dict[str, Any]]], threads: int = 6) -> float:
    """BatchWriteItem everything from a few threads, with a progress line; returns seconds."""
    batches = [(f"mfh-{STAGE}-{short}", items[i:i + 25])
               for short, items in data.items() for i in range(0, len(items), 25)]
    total = sum(len(b) for _, b in batches)
    done = [0]
    lock = threading.Lock()
    began = time.monotonic()

    def write(batch: tuple[str, list[dict[str, Any]]]) -> None:
        name, items = batch
        request = {name: [{"PutRequest": {"Item": serialize_item(i)}} for i in items]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        with lock:
            done[0] += len(items)
            if done[0] % 5000 < 25 or done[0] == total:
                rate = done[0] / max(time.monotonic() - began, 1e-6)
                print(f"\rseeding {done[0]:,}/{total:,} items ({rate:,.0f}/s)", end="",
                      file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, batches))
    print(file=sys.stderr)
    return time.monotonic() - began


# -- runs -------------------------------------------------------------------------------
def run(store: Store, window: Window, label: str, in_window: int, **kw: Any) -> dict[str, Any]:
    tracemalloc.start()
    began = time.monotonic()
    d = dg.build(store, window, FAILED, **kw)
    wall = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    s = d.stats
    plan = s.plan
    return {
        "run": label, "plan": plan.strategy if plan else "-", "reason": plan.reason if plan else "",
        "items_in_window": in_window, "executions_read": s.executions_read,
        "ratio": round(s.executions_read / in_window, 3) if in_window else None,
        "account_ids_read": s.accounts_read, "names_read": s.names_read,
        "ratio_all_reads": round((s.executions_read + s.accounts_read + s.names_read) / in_window, 3)
        if in_window else None,
        "calls": s.executions_calls, "rcu_reported": round(s.executions_rcu + s.accounts_rcu
                                                           + s.names_rcu, 1),
        "wall_s": round(wall, 2), "peak_mib": round(peak / 2**20, 1),
        "failed": d.failed, "total": d.total, "groups": len(d.groups),
        "trend": d.trend_source,
    }


def table(rows: list[dict[str, Any]]) -> str:
    cols = [("run", "run"), ("plan", "plan"), ("items_in_window", "in window"),
            ("executions_read", "executions read"), ("ratio", "ratio"),
            ("account_ids_read", "account ids read"), ("ratio_all_reads", "ratio incl. ids+names"),
            ("wall_s", "wall s"), ("peak_mib", "peak MiB")]
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k, _ in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=200_000)
    ap.add_argument("--accounts", type=int, default=1_000)
    ap.add_argument("--quick", action="store_true", help="20,000 executions / 100 accounts")
    ap.add_argument("--threads", type=int, default=6, help="seeding threads")
    ap.add_argument("--no-accelerate", action="store_true",
                    help="plain moto (slow; to check the accelerated run reads the same)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "digest.json"))
    args = ap.parse_args()
    if args.quick:
        args.executions, args.accounts = 20_000, 100
    url, proc, stop = start_moto(accelerate=not args.no_accelerate)
    try:
        # dynamo.aws's client, with the patience a 200,000-item moto needs per call
        client = boto3.session.Session().client(
            "dynamodb", region_name=REGION, endpoint_url=url, config=Config(
                retries={"mode": "adaptive", "max_attempts": 6}, read_timeout=600,
                max_pool_connections=32))
        create_platform_tables(client, STAGE)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        window = Window(end - timedelta(days=1), end)
        data = generate(args.executions, args.accounts, end)
        lo, hi = iso(window.start), iso(window.end)
        in_window = sum(1 for e in data["executions"] if lo <= e["created_at"] < hi)
        print(f"{args.executions:,} executions, {args.accounts:,} accounts, {in_window:,} in the "
              f"24 h window", file=sys.stderr)
        seconds = seed(client, data)
        del data
        store = Store(client, STAGE)
        # build moto's caches (see _accelerate_moto) before anything is timed
        client.query(TableName=f"mfh-{STAGE}-executions", IndexName=reads.INDEX, Limit=1,
                     KeyConditionExpression="account_id = :a",
                     ExpressionAttributeValues={":a": {"S": "acct-00000"}})
        rows = [run(store, window, "planner, cold (reads both windows)", in_window)]
        # what the previous day's digest stored: its summary makes the trend free
        prev = dg.build(store, window.previous, FAILED, force="scan")
        rows.append(run(store, window, "planner, steady state (stored trend)", in_window,
                        previous=prev.summary()))
        rows.append(run(store, window, "forced parallel scan", in_window, force="scan"))
    finally:
        stop.set()
        proc.join(10)
    print()
    print(table(rows))
    result = {"executions": args.executions, "accounts": args.accounts, "window_hours": 24,
              "items_in_window": in_window, "seed_seconds": round(seconds, 1),
              "moto_accelerated": not args.no_accelerate,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                         f"{platform.python_version()}", "runs": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
