"""Ack latency, round trip, overload and capacity of ``/ddb get`` / ``query`` (SPEC §9).

Side by side in one run, each app served the same way (bot.server's waitress server,
its own process): ddb-bot, a plain Bolt app doing the same job (ack, raw boto3, respond)
and a no-op Bolt app. DynamoDB is moto's server in another process; Slack's response_url
is a local fake that timestamps arrivals. Phases (``--phases``, default all):

- ``trip``: one request at a time, request → answer (bot vs plain);
- ``closed``: ``--concurrency`` clients, each sending as soon as its last request was
  acked (plus "get+clicks" for the bot): ack percentiles, and for every acked request
  whether it was answered within 10 s, told "busy", answered late, or never;
- ``fixed``: an open loop at ``--rate`` signed ``/ddb get`` per second: ack percentiles,
  bot vs the no-op app;
- ``capacity``: open loops at rising rates; capacity is the answers per second sustained
  while the answer p99 (request → answer at response_url) stays <= 1 s, bot vs plain,
  each rate offered to both (one after the other) before the next; strict (no "busy") and
  goodput (real answers only). ``--slack-latency-ms`` holds each answer at the fake Slack
  as long as the round trip to hooks.slack.com takes from AWS, which loopback lacks.

    python benchmarks/ack_latency.py [--duration 60] [--concurrency 20] [--rate 50]
        [--phases trip,closed,fixed,capacity] [--step 8] [--rates 10,20,...] [--repeat 1]
        [--slack-latency-ms 0]

Prints tables and writes benchmarks/results/ack_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.load import SECRET, capacity, run_load, run_rate  # noqa: E402
from testkit.fake_slack import FakeSlack  # noqa: E402

CAPACITY_RATES = [10, 20, 30, 40, 50, 60, 80, 100, 125, 150, 200]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/")
    return proc, url


PIDS: dict[int, int] = {}  # port -> pid of the app serving it


@contextmanager
def app(kind: str, env: dict[str, str]) -> Iterator[int]:
    """One app in its own process, on the bot's server; yields its port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "benchmarks", "apps.py"), kind, str(port)],
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "READY" not in line:
        raise SystemExit(f"{kind} app did not start: {line}")
    PIDS[port] = proc.pid
    try:
        yield port
    finally:
        PIDS.pop(port, None)
        proc.terminate()
        proc.wait(10)


APPS: set[str] = {"noop", "plain", "bot"}


def _each(kinds: tuple[str, ...], env: dict[str, str], fake: FakeSlack, texts: list[str],
          measure: Callable[[int], dict[str, Any]], warm: bool = True) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in (k for k in kinds if k in APPS):
        with app(kind, env) as port:
            if warm:
                run_load(port, fake, texts, 2, 4)
            out[kind] = measure(port)
        print(f"  {kind} done", file=sys.stderr, flush=True)
    return out


def table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r) + " |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60, help="seconds per closed/fixed run")
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--rate", type=float, default=50, help="requests/s of the fixed-rate phase")
    ap.add_argument("--step", type=float, default=8, help="seconds per capacity step")
    ap.add_argument("--phases", default="trip,closed,fixed,capacity")
    ap.add_argument("--rates", default=",".join(map(str, CAPACITY_RATES)),
                    help="offered rates of the capacity steps, rising")
    ap.add_argument("--slack-tls", action="store_true",
                    help="the fake Slack serves HTTPS, as hooks.slack.com does (the apps trust "
                         "its throwaway CA through SSL_CERT_FILE)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="capacity runs; in each, every rate goes to plain then to bot before "
                         "the next rate; the ratio reported is the median run's")
    ap.add_argument("--apps", default="noop,plain,bot", help="which apps to run (default all)")
    ap.add_argument("--slack-latency-ms", type=float, default=0,
                    help="hold each response_url call this long before its 200, as the round "
                         "trip to Slack would (loopback has none)")
    args = ap.parse_args()
    phases = set(args.phases.split(","))
    APPS.intersection_update(args.apps.split(","))

    moto, moto_url = start_moto()
    fake = FakeSlack(tls=args.slack_tls).start()
    fake.response_latency = args.slack_latency_ms / 1000
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "DDB_BOT_LOG_LEVEL": "WARNING"}
    env.pop("SLACK_APP_TOKEN", None)
    if fake.ca_file:
        env["SSL_CERT_FILE"] = fake.ca_file
    subprocess.run([sys.executable, "-m", "bot", "init", "--all"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "bot", "seed"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from dynamo import demo

    workloads = {"get": [f"get users {demo.DEMO_USER_ID}"],
                 "query": [f"query users email={demo.DEMO_EMAIL}"]}
    get = workloads["get"]
    res: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "args": vars(args)}
    try:
        if "trip" in phases:
            print("round trip", file=sys.stderr)
            res["round_trip"] = {w: _each(("plain", "bot"), env, fake, texts, lambda p, t=texts: run_load(
                p, fake, t, min(args.duration, 20), 1, wait_answer=True)) for w, texts in workloads.items()}
        if "closed" in phases:
            print("closed loop", file=sys.stderr)
            res["closed"] = {w: _each(("noop", "plain", "bot"), env, fake, texts, lambda p, t=texts: run_load(
                p, fake, t, args.duration, args.concurrency)) for w, texts in workloads.items()}
            res["closed"]["get+clicks"] = _each(("bot",), env, fake, get, lambda p: run_load(
                p, fake, get, args.duration, args.concurrency, clicks=True))
        if "fixed" in phases:
            print(f"fixed rate {args.rate}/s", file=sys.stderr)
            res["fixed"] = _each(("noop", "bot"), env, fake, get, lambda p: run_rate(
                p, fake, get, args.rate, args.duration))
        if "capacity" in phases:
            print("capacity", file=sys.stderr)
            rates = [float(r) for r in args.rates.split(",")]
            kinds = [k for k in ("plain", "bot") if k in APPS]
            runs = []
            for _ in range(args.repeat):
                with ExitStack() as stack:  # both apps up at once; only one is offered load
                    ports = {k: stack.enter_context(app(k, env)) for k in kinds}
                    for port in ports.values():
                        run_load(port, fake, get, 2, 4)  # warm
                    runs.append(capacity(ports, fake, get, args.step, rates,
                                         {k: PIDS[p] for k, p in ports.items()}))
                print("  paired run done", file=sys.stderr, flush=True)
            res["capacity"] = {k: [run[k] for run in runs] for k in kinds}
    finally:
        fake.stop()
        moto.terminate()
        moto.wait(10)
    report(res)
    os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "benchmarks", "results", "ack_latency.json"), "w") as f:
        json.dump(res, f, indent=2)


def report(res: dict[str, Any]) -> None:
    if "closed" in res:
        print("Closed loop (acks and what became of each acked request):")
        table(("workload", "app", "requests", "req/s", "errors", "ack p50 ms", "ack p99 ms",
               "ack max ms", "answered <= 10 s", "busy", "late", "unanswered", "answer p99 ms"),
              [(w, k, r["requests"], r["rps"], r["errors"], r["ack_p50_ms"], r["ack_p99_ms"],
                r["ack_max_ms"], r["answered_in_10s"], r["busy"], r["late"], r["unanswered"],
                r["trip_p99_ms"]) for w, by in res["closed"].items() for k, r in by.items()])
        for w in ("get", "query"):
            by = res["closed"][w]
            if {"bot", "plain"} <= set(by):
                print(f"{w}: ack p99 bot/plain = {by['bot']['ack_p99_ms'] / by['plain']['ack_p99_ms']:.2f}x "
                      "(target <= 1.0)")
        print()
    if "fixed" in res:
        by = res["fixed"]
        print("Fixed rate (open loop):")
        table(("app", "offered/s", "requests", "errors", "ack p50 ms", "ack p99 ms", "ack max ms",
               "send lag p99 ms"),
              [(k, r["offered_rps"], r["requests"], r["errors"], r["ack_p50_ms"], r["ack_p99_ms"],
                r["ack_max_ms"], r["send_lag_p99_ms"]) for k, r in by.items()])
        if {"bot", "noop"} <= set(by):
            print(f"ack p99 bot/no-op = {by['bot']['ack_p99_ms'] / by['noop']['ack_p99_ms']:.2f}x "
                  "(target <= 1.1)\n")
    if "capacity" in res:
        print("Capacity (answers/s while answer p99 <= 1 s), steps:")
        by = res["capacity"]
        table(("run", "app", "offered/s", "answered", "busy", "unanswered", "errors", "answer p50 ms",
               "answer p99 ms", "ack p99 ms", "send lag p99 ms", "app CPU ms/request", "app RSS MB"),
              [(n + 1, k, s["offered_rps"], s["answered"], s["busy"], s["unanswered"], s["errors"],
                s["trip_p50_ms"], s["trip_p99_ms"], s["ack_p99_ms"], s["send_lag_p99_ms"],
                s.get("app_cpu_ms", float("nan")), s.get("app_rss_mb", float("nan")))
               for k, runs in by.items() for n, c in enumerate(runs) for s in c["steps"]])
        table(("run", "app", "capacity (strict) answers/s", "goodput capacity answers/s"),
              [(n + 1, k, c["capacity_answers_per_s"], c["goodput_answers_per_s"])
               for k, runs in by.items() for n, c in enumerate(runs)])
        if {"bot", "plain"} <= set(by):
            for key, name in (("capacity_answers_per_s", "strict"), ("goodput_answers_per_s", "goodput")):
                ratios = sorted(b[key] / p[key] if p[key] else float("inf")
                                for b, p in zip(by["bot"], by["plain"], strict=True))
                print(f"capacity ({name}) bot/plain per run: " + ", ".join(f"{r:.2f}x" for r in ratios)
                      + f"; median {ratios[len(ratios) // 2]:.2f}x (target >= 1.0)")
        print()
    if "round_trip" in res:
        print("Round trip, one request at a time (request sent -> answer at response_url):")
        table(("workload", "app", "requests", "trip p50 ms", "trip p99 ms"),
              [(w, k, r["requests"], r["trip_p50_ms"], r["trip_p99_ms"])
               for w, by in res["round_trip"].items() for k, r in by.items()])


if __name__ == "__main__":
    main()
