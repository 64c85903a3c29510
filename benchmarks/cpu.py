"""CPU per request, in process: ddb-bot vs the plain Bolt app, same requests.

Starts moto's server (its own process, not counted) and a fake Slack (a thread of this
process: counted, for both apps alike), builds each app in this process, dispatches N
signed ``/ddb`` requests through Bolt (``App.dispatch``) one at a time, waits for each
answer at the response_url, and reports this process's CPU time per request
(``time.process_time``). ``--profile`` runs every pool thread's jobs under cProfile too
and prints CPU per request grouped by module (each thread's own CPU time, so waits do
not count; with cProfile's overhead, ~2x).

    python benchmarks/cpu.py [--n 300] [--workload get|query] [--rounds 3] [--profile]
    python benchmarks/cpu.py --interleave [--n 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ack_latency import start_moto  # noqa: E402
from benchmarks.load import SECRET, Client  # noqa: E402
from testkit.fake_slack import FakeSlack  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--workload", default="get", choices=("get", "query"))
    ap.add_argument("--apps", default="plain,bot")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--interleave", action="store_true",
                    help="alternate the apps request by request (n x rounds each): on a "
                         "shared machine both then see the same load")
    args = ap.parse_args()
    import subprocess

    moto, url = start_moto()
    fake = FakeSlack().start()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_ENDPOINT_URL_DYNAMODB": url, "SLACK_BOT_TOKEN": "xoxb-bench",
                       "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
                       "DDB_BOT_LOG_LEVEL": "WARNING", "AWS_REGION": "us-west-2"})
    os.environ.pop("SLACK_APP_TOKEN", None)
    subprocess.run([sys.executable, "-m", "bot", "init", "--all"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "bot", "seed"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import logging

    from slack_bolt.request import BoltRequest

    from benchmarks import apps
    from bot.config import load_settings
    from dynamo import demo

    logging.basicConfig(level=logging.WARNING)
    text = (f"get users {demo.DEMO_USER_ID}" if args.workload == "get"
            else f"query users email={demo.DEMO_EMAIL}")
    settings = load_settings()
    client = Client(0, fake)
    profiles: list[cProfile.Profile] = []
    if args.profile:  # every pool thread's jobs run under that thread's own profiler
        import threading
        from concurrent.futures import ThreadPoolExecutor

        local = threading.local()
        submit = ThreadPoolExecutor.submit

        def profiled_submit(self: ThreadPoolExecutor, fn: Any, /, *a: Any, **kw: Any) -> Any:
            def job() -> Any:
                prof = getattr(local, "prof", None)
                if prof is None:
                    prof = local.prof = cProfile.Profile(time.thread_time)
                    profiles.append(prof)
                prof.enable()
                try:
                    return fn(*a, **kw)
                finally:
                    prof.disable()
            return submit(self, job)

        ThreadPoolExecutor.submit = profiled_submit  # type: ignore[method-assign]
    try:
        built = {k: getattr(apps, k)(settings) for k in args.apps.split(",")}
        if args.interleave:
            interleaved(built, client, fake, text, args.n * args.rounds)
            return
        for rnd in range(args.rounds):
            for kind, app in built.items():
                prof = cProfile.Profile(time.thread_time) if args.profile and rnd == 0 else None
                profiles.clear()
                fake.clear()
                cpu = []
                for i in range(args.n + 20):
                    rid = f"{kind}{rnd}-{i}"
                    body = client.slash_body(text, rid)
                    ts = str(int(time.time()))
                    headers = {"content-type": ["application/x-www-form-urlencoded"],
                               "x-slack-request-timestamp": [ts],
                               "x-slack-signature": [client.verifier.generate_signature(
                                   timestamp=ts, body=body)]}
                    c0 = time.process_time()
                    if prof and i >= 20:
                        prof.enable()
                    resp = app.dispatch(BoltRequest(body=body, headers=headers))
                    assert resp.status == 200, resp.body
                    fake.wait_for(f"/response/{rid}", timeout=10)
                    if prof and i >= 20:
                        prof.disable()
                    if i >= 20:
                        cpu.append(time.process_time() - c0)
                cpu.sort()
                print(f"round {rnd} {kind:6} {args.workload}: CPU/request mean "
                      f"{sum(cpu) / len(cpu) * 1000:.2f} ms, p50 {cpu[len(cpu) // 2] * 1000:.2f} ms",
                      flush=True)
                if prof:
                    stats = pstats.Stats(prof)
                    for p in profiles:
                        stats.add(p)
                    out = os.path.join(ROOT, "benchmarks", "results")
                    os.makedirs(out, exist_ok=True)
                    stats.dump_stats(os.path.join(out, f"cpu-{kind}.prof"))  # for pstats
                    by: dict[str, float] = {}
                    for (file, _line, fn), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                        if "site-packages/" in file:
                            key = file.split("site-packages/")[1].split("/")[0]
                        elif file == "~":  # builtins, by name
                            key = "builtin:" + fn
                        elif file.startswith(ROOT):
                            key = os.path.relpath(file, ROOT)
                        elif "python3.11/" in file:
                            key = "stdlib:" + file.split("python3.11/")[1]
                        else:
                            key = file
                        by[key] = by.get(key, 0.0) + tt
                    n = args.n
                    for key, tt in sorted(by.items(), key=lambda kv: -kv[1])[:45]:
                        print(f"  {tt / n * 1000:7.3f} ms  {key}")
    finally:
        fake.stop()
        moto.terminate()


def one_request(app: Any, client: Client, fake: FakeSlack, text: str, rid: str) -> float:
    """CPU seconds of one signed slash command, dispatched until its answer arrived."""
    from slack_bolt.request import BoltRequest

    body = client.slash_body(text, rid)
    ts = str(int(time.time()))
    headers = {"content-type": ["application/x-www-form-urlencoded"],
               "x-slack-request-timestamp": [ts],
               "x-slack-signature": [client.verifier.generate_signature(timestamp=ts, body=body)]}
    c0 = time.process_time()
    resp = app.dispatch(BoltRequest(body=body, headers=headers))
    assert resp.status == 200, resp.body
    fake.wait_for(f"/response/{rid}", timeout=10)
    return time.process_time() - c0


def interleaved(built: dict[str, Any], client: Client, fake: FakeSlack, text: str, n: int) -> None:
    """Each app in turn, one request at a time; 20 warm-up requests each are not counted."""
    cpu: dict[str, list[float]] = {k: [] for k in built}
    for i in range(n + 20):
        if i % 50 == 0:
            fake.clear()  # its log is searched per answer: keep it short for every app alike
        for kind, app in built.items():
            spent = one_request(app, client, fake, text, f"{kind}-{i}")
            if i >= 20:
                cpu[kind].append(spent)
    first = next(iter(cpu))
    for kind, values in cpu.items():
        values.sort()
        mean, p50 = sum(values) / len(values), values[len(values) // 2]
        base = cpu[first]
        ratio = (f" ({mean / (sum(base) / len(base)):.2f}x / {p50 / base[len(base) // 2]:.2f}x "
                 f"{first})" if kind != first else "")
        print(f"interleaved {kind:6}: CPU/request mean {mean * 1000:.2f} ms, "
              f"p50 {p50 * 1000:.2f} ms{ratio}", flush=True)


if __name__ == "__main__":
    main()
