"""Start-up of ``python -m bot serve``: to the first ``/healthz`` 200, and the CPU it took.

Starts moto's server (its own process) with the tables, then ``--runs`` times: spawns
``python -m bot serve`` and polls ``/healthz`` every 10 ms. For each run it reports the
wall time from spawn to the first 200, the ``ready_s`` the bot logs (from its package's
import to listening, so without the interpreter's own start), and the CPU the process had
used by then (``/proc/<pid>/stat``: user + system). CPU is the figure to compare on a
shared machine; wall time stretches with the load (printed with ``os.getloadavg``).

Also the CPU of the serve path's imports alone, in fresh interpreters (moto made
unimportable, as in production).

By default the project's own modules are byte-compiled first, as ``pip install .`` does
in the image (this dev box sets ``PYTHONDONTWRITEBYTECODE``, so without that every start
compiles them from source: ~0.1 s of CPU more); ``--source`` skips that and removes
their ``__pycache__`` to measure the from-source start.

    python benchmarks/startup.py [--runs 5] [--source]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ack_latency import free_port, start_moto  # noqa: E402

PACKAGES = ("bot", "commands", "dynamo")
IMPORTS = ("import sys, time; sys.modules['moto'] = None; t = time.process_time(); "
           "import bot.__main__, bot.server, bot.app, bot.services, bot.scheduler; "
           "print(time.process_time() - t)")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def one_start(env: dict[str, str]) -> tuple[float, float, float | None]:
    """(spawn → first /healthz 200 s, CPU s by then, logged ready_s)."""
    port = free_port()
    env = {**env, "PORT": str(port)}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited {proc.returncode}: {proc.stderr.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - start > 60:
                raise SystemExit("serve did not become ready in 60 s")
            time.sleep(0.01)
        wall = time.monotonic() - start
        cpu = cpu_s(proc.pid)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    ready = None
    for line in err.splitlines():
        if '"ready_s"' in line:
            import json

            ready = json.loads(line).get("ready_s")
    return wall, cpu, ready


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--source", action="store_true",
                    help="no bytecode for the project's modules (compiled at every start)")
    args = ap.parse_args()
    if args.source:
        for pkg in PACKAGES:
            for dirpath, dirnames, _ in os.walk(os.path.join(ROOT, pkg)):
                if "__pycache__" in dirnames:
                    shutil.rmtree(os.path.join(dirpath, "__pycache__"))
    else:
        for pkg in PACKAGES:
            compileall.compile_dir(os.path.join(ROOT, pkg), quiet=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as in the image: nothing is written at start
    imports = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True)
        imports.append(float(out.stdout))
    moto, url = start_moto()
    env.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_REGION": "us-west-2",
                "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-secret",
                "SLACK_API_URL": "http://127.0.0.1:9/api/", "DDB_BOT_OPEN_ACCESS": "true"})
    try:
        subprocess.run([sys.executable, "-m", "bot", "init"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        runs = []
        for _ in range(args.runs):
            load = os.getloadavg()[0]
            wall, cpu, ready = one_start(env)
            runs.append((wall, cpu))
            print(f"load {load:4.1f}: first /healthz 200 after {wall:.2f} s, CPU {cpu:.2f} s, "
                  f"logged ready_s {ready}", flush=True)
    finally:
        moto.terminate()
    mode = "from source" if args.source else "bytecode compiled (as in the image)"
    print(f"\n{mode}, {args.runs} runs (median, min-max):")
    print(f"  serve-path imports CPU  {statistics.median(imports):.2f} s "
          f"({min(imports):.2f}-{max(imports):.2f})")
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    print(f"  spawn to /healthz 200   {statistics.median(walls):.2f} s "
          f"({min(walls):.2f}-{max(walls):.2f})")
    print(f"  CPU by then             {statistics.median(cpus):.2f} s "
          f"({min(cpus):.2f}-{max(cpus):.2f})")


if __name__ == "__main__":
    main()
