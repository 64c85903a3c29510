"""Ack latency and round trip of ``/ddb get`` / ``query`` under concurrent load (SPEC §9).

Side by side in one run, each served the same way (bot.server's threading adapter, its
own process): ddb-bot, a plain Bolt app doing the same job (ack, raw boto3, respond) and
a no-op Bolt app. DynamoDB is moto's server in another process; Slack's response_url is
a local fake that timestamps arrivals. 20 client threads send signed slash commands (and,
for the bot, a share of "Show JSON" clicks) for ``--duration`` seconds per app.

    python benchmarks/ack_latency.py [--duration 60] [--concurrency 20]

Prints a table and writes benchmarks/results/ack_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from slack_sdk.signature import SignatureVerifier  # noqa: E402

from tests.fake_slack import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"


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


def start_app(kind: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "benchmarks", "apps.py"), kind, str(port)],
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "READY" not in line:
        raise SystemExit(f"{kind} app did not start: {line}")
    return proc, port


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run_load(port: int, fake: FakeSlack, texts: list[str], duration: float, concurrency: int,
             clicks: bool = False, wait_answer: bool = False) -> dict[str, Any]:
    verifier = SignatureVerifier(SECRET)
    acks: list[float] = []
    sent: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration
    counter = iter(range(10**9))
    view_values: list[str] = []

    def post(body: str) -> float:
        ts = str(int(time.time()))
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events", data=body.encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Slack-Request-Timestamp": ts,
                     "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)})
        t0 = time.monotonic()
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
            if resp.status != 200:
                raise OSError(resp.status)
        return t0

    def worker(w: int) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            n = next(counter)
            rid = f"q{n}"
            try:
                if clicks and view_values and n % 5 == 4:
                    payload = {"type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
                               "user": {"id": "U_BENCH", "team_id": "T1"}, "channel": {"id": "C1"},
                               "container": {"type": "message", "message_ts": "1.2"},
                               "response_url": fake.response_url(rid), "trigger_id": "t",
                               "actions": [{"type": "button", "action_id": "ddb_show_json",
                                            "block_id": "b", "value": view_values[-1]}]}
                    body = urlencode({"payload": json.dumps(payload)})
                else:
                    body = urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U_BENCH",
                                      "command": "/ddb", "text": texts[n % len(texts)],
                                      "response_url": fake.response_url(rid), "trigger_id": "t",
                                      "api_app_id": "A1", "token": "x"})
                t0 = post(body)
                dt = time.monotonic() - t0
                with lock:
                    acks.append(dt)
                    sent[rid] = t0
                while wait_answer and not fake.find(f"/response/{rid}"):
                    time.sleep(0.0005)
            except OSError:
                with lock:
                    errors += 1

    def harvest() -> None:
        while time.monotonic() < stop + 1:
            for call in fake.find("/response/"):
                for block in call.body.get("blocks", []) if clicks else []:
                    for el in block.get("elements", []) if block.get("type") == "actions" else []:
                        if el.get("action_id") == "ddb_show_json" and not view_values:
                            view_values.append(el["value"])
            time.sleep(0.2)

    fake.clear()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    h = threading.Thread(target=harvest)
    t_start = time.monotonic()
    for t in threads:
        t.start()
    h.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(fake.find("/response/")) < len(sent):
        time.sleep(0.1)
    h.join()
    arrivals = {c.path.rsplit("/", 1)[1]: c["at"] for c in fake.find("/response/")}
    trips = [arrivals[r] - t0 for r, t0 in sent.items() if r in arrivals]
    answered = sum(1 for r in sent if r in arrivals)
    return {
        "requests": len(acks), "errors": errors, "rps": len(acks) / elapsed,
        "ack_p50_ms": pct(acks, 0.5) * 1000, "ack_p99_ms": pct(acks, 0.99) * 1000,
        "ack_max_ms": max(acks, default=float("nan")) * 1000,
        "answered": answered,
        "trip_p50_ms": pct(trips, 0.5) * 1000, "trip_p99_ms": pct(trips, 0.99) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()

    moto, moto_url = start_moto()
    fake = FakeSlack().start()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "DDB_BOT_LOG_LEVEL": "WARNING"}
    env.pop("SLACK_APP_TOKEN", None)
    subprocess.run([sys.executable, "-m", "bot", "init", "--all"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "bot", "seed"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from dynamo import demo

    workloads = {
        "get": [f"get users {demo.DEMO_USER_ID}"],
        "query": [f"query users email={demo.DEMO_EMAIL}"],
    }
    rows = []
    trips = []
    try:
        for workload, texts in workloads.items():
            for kind in ("plain", "bot"):
                proc, port = start_app(kind, env)
                try:
                    run_load(port, fake, texts, 2, 1, wait_answer=True)
                    stats = run_load(port, fake, texts, min(args.duration, 20), 1, wait_answer=True)
                finally:
                    proc.terminate()
                    proc.wait(10)
                trips.append({"workload": workload, "app": kind, **stats})
                print(f"round trip {workload:6} {kind:6} done", file=sys.stderr, flush=True)
        for workload, texts in workloads.items():
            for kind in ("noop", "plain", "bot"):
                proc, port = start_app(kind, env)
                try:
                    run_load(port, fake, texts, 2, 4)  # warm up
                    stats = run_load(port, fake, texts, args.duration, args.concurrency)
                finally:
                    proc.terminate()
                    proc.wait(10)
                rows.append({"workload": workload, "app": kind, **stats})
                print(f"{workload:6} {kind:6} done", file=sys.stderr, flush=True)
        proc, port = start_app("bot", env)
        try:
            run_load(port, fake, workloads["get"], 2, 4, clicks=True)
            stats = run_load(port, fake, workloads["get"], args.duration, args.concurrency, clicks=True)
        finally:
            proc.terminate()
            proc.wait(10)
        rows.append({"workload": "get+clicks", "app": "bot", **stats})
    finally:
        fake.stop()
        moto.terminate()
        moto.wait(10)

    head = ("workload", "app", "requests", "rps", "errors", "answered", "ack p50 ms", "ack p99 ms",
            "ack max ms", "trip p50 ms", "trip p99 ms")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['workload']} | {r['app']} | {r['requests']} | {r['rps']:.0f} | {r['errors']} | "
              f"{r['answered']} | {r['ack_p50_ms']:.1f} | {r['ack_p99_ms']:.1f} | {r['ack_max_ms']:.1f} | "
              f"{r['trip_p50_ms']:.1f} | {r['trip_p99_ms']:.1f} |")
    print()
    print("Round trip, one request at a time (request sent -> answer at response_url):")
    print("| workload | app | requests | trip p50 ms | trip p99 ms |")
    print("|---|---|---|---|---|")
    for r in trips:
        print(f"| {r['workload']} | {r['app']} | {r['requests']} | {r['trip_p50_ms']:.1f} | "
              f"{r['trip_p99_ms']:.1f} |")
    print()
    for workload in workloads:
        by = {r["app"]: r for r in rows if r["workload"] == workload}
        trip = {r["app"]: r for r in trips if r["workload"] == workload}
        print(f"{workload}: ack p99 bot/plain = {by['bot']['ack_p99_ms'] / by['plain']['ack_p99_ms']:.2f}x "
              f"(target <= 1.2); round trip p50 bot/plain = "
              f"{trip['bot']['trip_p50_ms'] / trip['plain']['trip_p50_ms']:.2f}x (target <= 1.2)")
    os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "benchmarks", "results", "ack_latency.json"), "w") as f:
        json.dump({"machine": f"{os.cpu_count()} cores", "duration_s": args.duration,
                   "concurrency": args.concurrency, "rows": rows, "round_trip": trips}, f, indent=2)


if __name__ == "__main__":
    main()
