"""Stalled clients against ``python -m bot serve``: threads, memory, and a signed ack.

Opens ``--connections`` sockets to the bot that each send a POST's headers and two bytes
of a promised body, then stall; sends a signed ``/ddb get`` while they do; reports the
serving process's threads and RSS before, during and after the idle timeout, the ack
time, and how many stalled connections the server dropped. Loopback only, bounded.

    python benchmarks/stalled.py [--connections 1000] [--idle-timeout 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ack_latency import free_port, start_moto, wait_http  # noqa: E402
from benchmarks.load import SECRET, Client  # noqa: E402
from testkit.fake_slack import FakeSlack  # noqa: E402

PROMISED = (b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\nab")


def proc_status(pid: int) -> tuple[int, float]:
    """(threads, RSS MiB) of a process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--idle-timeout", type=int, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 256
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    moto, moto_url = start_moto()
    fake = FakeSlack().start()
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, "PORT": str(port),
           "DDB_BOT_LOG_LEVEL": "WARNING", "DDB_BOT_HTTP_IDLE_TIMEOUT": str(args.idle_timeout),
           "DDB_BOT_OPEN_ACCESS": "true"}  # the whole workspace, said outright (bot.access)
    env.pop("SLACK_APP_TOKEN", None)
    subprocess.run([sys.executable, "-m", "bot", "init", "--all"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "bot", "seed"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from dynamo import demo

    bot = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT,
                           stderr=subprocess.DEVNULL)
    conns: list[socket.socket] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        client = Client(port, fake)
        text = f"get users {demo.DEMO_USER_ID}"
        for i in range(20):  # warm every pool
            client.post(client.slash_body(text, f"w{i}"))
        time.sleep(1)
        before = proc_status(bot.pid)
        t = time.monotonic()
        for _ in range(args.connections):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(PROMISED)
            conns.append(s)
        opened = time.monotonic() - t
        time.sleep(0.5)
        t0 = client.post(client.slash_body(text, "probe"))
        ack_ms = (time.monotonic() - t0) * 1000
        fake.wait_for("/response/probe")
        during = proc_status(bot.pid)
        time.sleep(args.idle_timeout + 3)
        dropped = 0
        for s in conns:
            s.settimeout(0.01)
            try:
                dropped += s.recv(1) == b""
            except ConnectionResetError:
                dropped += 1
            except TimeoutError:
                pass
        after = proc_status(bot.pid)
    finally:
        for s in conns:
            s.close()
        bot.terminate()
        bot.wait(30)
        fake.stop()
        moto.terminate()
        moto.wait(10)
    print("| stalled connections | opened in s | threads before / during / after | RSS MiB before / "
          "during / after | signed /ddb ack ms | dropped after idle timeout |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.connections:,} | {opened:.1f} | {before[0]} / {during[0]} / {after[0]} | "
          f"{before[1]:.1f} / {during[1]:.1f} / {after[1]:.1f} | {ack_ms:.1f} | "
          f"{dropped:,} ({args.idle_timeout} s) |")


if __name__ == "__main__":
    main()
