"""The HTTP edge against slow and hostile clients, on loopback.

A real ``python -m bot serve`` process (waitress) is held open by 1,000 connections that
send a POST's headers and two bytes of a promised body, then stall. A signed ``/ddb``
must still be acked and answered, the process's thread count must stay at its fixed
pools, and the stalled connections must be dropped after the idle timeout (set short
here through ``DDB_BOT_HTTP_IDLE_TIMEOUT``). In-process tests check the size limits:
a body over the limit is refused from its Content-Length before it is read, and header
blocks too large or with too many fields are refused.
"""

from __future__ import annotations

import json
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dynamo import demo
from testkit.fake_slack import FakeSlack
from testkit.signed import SlackSender
from tests.e2e.test_serve_process import ROOT, SIGNING_SECRET, _env, _wait_ready, endpoint

__all__ = ["endpoint"]  # the module-scoped moto server fixture, shared
STALLED = 1000
IDLE_TIMEOUT = 2
PROMISED = "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" \
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\nab"


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _raise_fd_limit(need: int) -> None:
    """The test process and the server it starts each hold ``need`` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= need or \
        resource.getrlimit(resource.RLIMIT_NOFILE)[0] == resource.RLIM_INFINITY


def _stall(port: int, n: int) -> list[socket.socket]:
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(PROMISED.encode())
        conns.append(s)
    return conns


def _dropped(conns: list[socket.socket], within: float) -> int:
    """How many of ``conns`` the server closed (EOF or reset) within ``within`` seconds."""
    sel = selectors.DefaultSelector()
    for s in conns:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + within
    while closed < len(conns) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            sock: Any = key.fileobj
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            if data:  # an answer instead of a drop would be a failure: count it as open
                raise AssertionError(f"a stalled request was answered: {data[:80]!r}")
            sel.unregister(sock)
            closed += 1
    sel.close()
    return closed


def test_stalled_connections_pin_no_threads_and_are_dropped(endpoint: Any, tmp_path: Path) -> None:
    _raise_fd_limit(STALLED + 200)
    slack = FakeSlack().start()
    env, port = _env(endpoint, slack, tmp_path, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     DDB_BOT_HTTP_IDLE_TIMEOUT=str(IDLE_TIMEOUT))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    conns: list[socket.socket] = []
    try:
        _wait_ready(proc, port)
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack.response_url("s"))
        assert sender.slash("get users user:nobody").status == 200  # every pool has started
        slack.wait_for("/response/s")
        before = _status(proc.pid)

        conns = _stall(port, STALLED)
        # the functional requirement (Slack's 3 s), not a benchmark: acked while they stall
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack.response_url("r"))
        assert sender.slash(f"get users {demo.DEMO_USER_ID}", timeout=3).status == 200
        answer = slack.wait_for("/response/r")
        assert demo.DEMO_EMAIL in json.dumps(answer[0].body)

        during = _status(proc.pid)
        open_fds = len(list(Path(f"/proc/{proc.pid}/fd").iterdir()))
        assert open_fds >= STALLED  # the stalled connections really are held open
        # threads: the fixed pools only, not one per connection
        assert int(during["Threads"]) <= int(before["Threads"]) + 2, (before, during)
        assert int(during["Threads"]) < 60
        rss_growth_kb = int(during["VmRSS"].split()[0]) - int(before["VmRSS"].split()[0])
        assert rss_growth_kb < 48 * 1024, rss_growth_kb  # ~1,000 buffered half-requests

        # the idle timeout drops every stalled connection (unanswered)
        assert _dropped(conns, within=IDLE_TIMEOUT + 10) == STALLED
        deadline = time.monotonic() + 10
        while len(list(Path(f"/proc/{proc.pid}/fd").iterdir())) >= open_fds - STALLED // 2 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(Path(f"/proc/{proc.pid}/fd").iterdir())) < open_fds - STALLED // 2
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        for s in conns:
            s.close()
        if proc.poll() is None:
            proc.kill()
        slack.stop()
    assert proc.returncode == 0, stderr


def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` as is and read the answer until the server closes or 5 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and b"Content-Length: " in out:
                    head, _, body = out.partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except TimeoutError:
            pass
        return out


def _code(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_body_over_the_limit_is_refused_before_it_is_read(bot: Any) -> None:
    from bot.server import Limits, start_http

    server = start_http(bot.app, "127.0.0.1", 0, Limits(max_body=64 << 10))
    try:
        # a promised 10 MB body, none of it sent: the answer comes from the headers alone
        answer = _raw(server.port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 10485760\r\n\r\n")
        assert _code(answer) == 413, answer[:200]
        # just under the limit is read and reaches Bolt (which refuses the missing signature)
        body = b"a=" + b"x" * ((64 << 10) - 10)
        answer = _raw(server.port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert _code(answer) == 401, answer[:200]
    finally:
        server.close()
    assert not bot.slack.find("/response/")  # nothing ran


def test_header_block_size_and_field_count_are_limited(bot: Any) -> None:
    from bot.server import Limits, start_http

    server = start_http(bot.app, "127.0.0.1", 0, Limits(max_header_bytes=4096, max_headers=20))
    try:
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 5000 + b"\r\n\r\n"
        assert _code(_raw(server.port, big)) == 431
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: 1\r\n" % i for i in range(30)) + b"\r\n"
        assert _code(_raw(server.port, many)) == 431
        fine = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
        assert _code(_raw(server.port, fine)) == 200
    finally:
        server.close()
