"""The soak's harness: the fakes it runs against, the bot process, signed sending.

``FaultProxy`` (DynamoDB throttling and 5xx), ``SoakSlack`` (the fake Slack, slow and
rate-limiting on demand, with a trigger_id that lives 3 s as on Slack), the records of
what the soak asked for (``Planned``, ``Stats``), and ``Harness``: starting, stopping and
restarting ``python -m bot serve`` and sending it signed requests as Slack does. The
workload (``soak_workload``) and the invariant checks (``soak_invariants``) build on it;
``benchmarks/soak.py`` runs them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from slack_sdk.signature import SignatureVerifier  # noqa: E402

from benchmarks.ack_latency import free_port, wait_http  # noqa: E402
from testkit.fake_slack import FakeSlack  # noqa: E402
from testkit.results import results_path  # noqa: E402

SECRET = "soak-signing-secret"
STAGE = "dev"
APPROVALS = "C_APPROVALS"
HELPERS = [f"helper-{i:04d}" for i in range(1, 9)]  # shared: approvals race, some go stale
MARK = re.compile(r"soak-[0-9a-f]{12}")


# -- the pieces -------------------------------------------------------------------------
class FaultProxy:
    """HTTP proxy in front of moto that fails a share of calls without forwarding them."""

    def __init__(self, target: str, rate: float) -> None:
        self.target, self.rate = target, rate
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                roll = random.random()
                if roll < proxy.rate / 2:
                    proxy.count("throttled")
                    self._answer(400, json.dumps({
                        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                        "message": "Rate exceeded"}).encode())
                    return
                if roll < proxy.rate:
                    proxy.count("5xx")
                    self._answer(500, json.dumps({
                        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                        "message": "Internal server error"}).encode())
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                req = urllib.request.Request(proxy.target + self.path, data=body, method="POST",
                                             headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, data = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                proxy.count("forwarded")
                self._answer(status, data)

            def _answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SoakSlack(FakeSlack):
    """The fake Slack, optionally slow and rate-limiting (the Web API answers 429)."""

    def __init__(self, faults: bool) -> None:
        super().__init__()
        self.faults = faults
        self.slowed = 0
        self.queued = 0  # 429s scripted; those still unused at the end were never sent
        self.arrived: dict[str, threading.Event] = {}
        self.triggers: set[str] = set()
        self.trigger_delays: list[float] = []  # click -> views.open arrival, s
        self.expired_triggers = 0
        self.posts: list[Any] = []  # chat.postMessage calls, in order
        self.calls = _Recorder(self)  # type: ignore[assignment]

    def event(self, path: str) -> threading.Event:
        with self.lock:
            return self.arrived.setdefault(path, threading.Event())

    def wait_path(self, path: str, timeout: float) -> bool:
        return self.event(path).wait(timeout)

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/views.open":
            # like Slack: a trigger_id works once, within 3 s of the click that made it
            trigger = str(body.get("trigger_id", ""))
            issued = float(trigger.split("/")[1]) if trigger.startswith("trig/") else 0.0
            with self.lock:
                self.trigger_delays.append(time.time() - issued)
                if time.time() - issued > 3 or trigger in self.triggers:
                    self.expired_triggers += 1
                    return {"ok": False, "error": "expired_trigger_id"}
                self.triggers.add(trigger)
            self.event(f"opened:{trigger}").set()
        if self.faults and random.random() < 0.05:  # slow to answer (checked on arrival)
            self.slowed += 1
            time.sleep(random.uniform(0.3, 2.0))
        return super().answer(path, body)

    def rate_limit_now(self) -> None:
        """The next call to a busy Web API method gets a 429 with Retry-After: 1.

        Not views.open: its trigger_id lives 3 s, so a 429 there cannot be waited out by
        any client (and a rarely called method would take nearly every 429 queued for it).
        """
        method = random.choice(["chat.postMessage", "chat.update", "chat.postEphemeral"])
        with self.lock:
            waiting = self.scripted.setdefault(f"/api/{method}", [])
            if not waiting:  # one at a time: a burst of 429s on one method is not Slack's way
                self.queued += 1
                waiting.append((429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))

    def unscript(self) -> int:
        """Drop the 429s not handed out yet; returns how many were."""
        with self.lock:
            left = sum(len(v) for v in self.scripted.values())
            self.scripted.clear()
        return self.queued - left


class _Recorder(list):  # type: ignore[type-arg]
    """FakeSlack's call list that also wakes whoever waits for a path (no polling scans)."""

    def __init__(self, slack: SoakSlack) -> None:
        super().__init__()
        self.slack = slack

    def append(self, call: Any) -> None:  # called under the fake's lock
        super().append(call)
        self.slack.arrived.setdefault(call.path, threading.Event()).set()
        if call.path == "/api/chat.postMessage":
            self.slack.posts.append(call)


@dataclass
class Planned:
    """One write request the soak asked for, and what it did with it."""

    marker: str
    requester: str
    kind: str  # update | put
    target: str  # helper id or platform id
    request_id: str | None = None
    answer: str = ""  # response_url name of the slash command that asked for it
    fate: str = ""  # approve | multi | self-then-approve | reject | leave
    valid_approve_acked: bool = False  # an approver's click on it got a 200
    approve_clicks: list[str] = field(default_factory=list)  # response names of those clicks
    self_clicks: list[str] = field(default_factory=list)  # response names of self-approvals


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    acks: list[float] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    not_ok: list[str] = field(default_factory=list)
    refused_restart: int = 0
    slash_names: list[str] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)  # ack -> answer at response_url
    reject_clicks: int = 0
    modal_not_opened: int = 0



class Harness:
    """The bot process and the signed requests sent to it; what the workload stands on."""

    slack: SoakSlack
    env: dict[str, str]
    ddb: Any

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.verifier = SignatureVerifier(SECRET)
        self.stats = Stats()
        self.planned: dict[str, Planned] = {}
        self.by_request: dict[str, Planned] = {}
        self.queue: list[Planned] = []  # created, not yet decided by the soak
        self.lock = threading.Lock()
        self.counter = iter(range(10**9))
        self.restarting = threading.Event()
        self.restart_window: tuple[float, float] | None = None
        self.restart_code = 0
        self.stopped_in = self.drained_in = 0.0
        self.reaper: threading.Thread | None = None
        self.last_trigger: dict[str, str] = {}
        self.slack_429s = 0
        self.port = free_port()
        self.users = [f"U_SOAK{i:02d}" for i in range(args.users)]
        self.bot: subprocess.Popen[bytes] | None = None
        self.bot_log = open(results_path("soak-bot.log"), "w")  # noqa: SIM115


    # -- process management ----------------------------------------------------------
    def start_bot(self) -> None:
        self.bot = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT,
                                    env={**self.env, "PORT": str(self.port)},
                                    stdout=self.bot_log, stderr=subprocess.STDOUT)
        wait_http(f"http://127.0.0.1:{self.port}/healthz")

    def stop_bot(self, proc: subprocess.Popen[bytes] | None = None) -> int:
        """SIGTERM; a bot still running 60 s later is dumped (faulthandler) and counts -1."""
        proc = proc or self.bot
        assert proc is not None
        proc.send_signal(signal.SIGTERM)
        return self.wait_exit(proc)

    @staticmethod
    def wait_exit(proc: subprocess.Popen[bytes]) -> int:
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack
            proc.wait(30)
            return -1

    def listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def restart(self) -> None:
        """SIGTERM the bot mid-run and start a new one on the same port as soon as the old
        one stops listening: for a while the old process drains its acknowledged work
        while the new one serves, two replicas on one state table."""
        t0 = time.monotonic()
        self.restarting.set()
        old = self.bot
        assert old is not None
        old.send_signal(signal.SIGTERM)
        while self.listening() and old.poll() is None:
            time.sleep(0.05)
        self.stopped_in = time.monotonic() - t0

        def reap() -> None:
            self.restart_code = self.wait_exit(old)
            self.drained_in = time.monotonic() - t0

        self.reaper = threading.Thread(target=reap)
        self.reaper.start()
        self.start_bot()
        self.restarting.clear()
        self.restart_window = (t0, time.monotonic())

    # -- sending ---------------------------------------------------------------------
    def post(self, kind: str, body: str) -> bool:
        """One signed request; True when acked with 200."""
        ts = str(int(time.time()))
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Slack-Request-Timestamp": ts,
                     "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body)})
        t0 = time.monotonic()
        during_restart = self.restarting.is_set()
        err = ""
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            status, during_restart = -1, during_restart or self.restarting.is_set()
            err = f"{kind}: {type(exc).__name__}: {exc}"
        dt = time.monotonic() - t0
        refused = False
        with self.stats.lock:
            self.stats.sent[kind] += 1
            if status == 200:
                self.stats.acks.append(dt)
                return True
            if during_restart or self.restarting.is_set():
                self.stats.refused_restart += 1
                refused = True
            else:
                self.stats.not_ok.append(err if status == -1 else f"{kind}: HTTP {status}")
        if refused:  # like Slack, and a person, try again a little later
            time.sleep(random.uniform(0.5, 1.0))
        return False

    def slash(self, user: str, text: str, name: str | None = None) -> bool:
        name = name or f"s{next(self.counter)}"
        body = urlencode({"team_id": "T1", "channel_id": "C_SOAK", "user_id": user,
                          "command": "/ddb", "text": text, "api_app_id": "A1", "token": "x",
                          "response_url": self.slack.response_url(name), "trigger_id": "t"})
        ok = self.post("slash", body)
        if ok:
            with self.stats.lock:
                self.stats.slash_names.append(name)
            # a person waits for the answer before typing the next command
            t0 = time.monotonic()
            if self.slack.wait_path(f"/response/{name}", 30):
                with self.stats.lock:
                    self.stats.answers.append(time.monotonic() - t0)
        return ok

    def click(self, user: str, action: str, request_id: str, name: str | None = None) -> bool:
        name = name or f"c{next(self.counter)}"
        trigger = self.last_trigger[name] = self.trigger(name)
        payload = {"type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
                   "user": {"id": user, "team_id": "T1"}, "channel": {"id": APPROVALS},
                   "container": {"type": "message", "message_ts": "1.2", "channel_id": APPROVALS},
                   "response_url": self.slack.response_url(name), "trigger_id": trigger,
                   "actions": [{"type": "button", "action_id": action, "block_id": "b",
                                "value": request_id, "action_ts": str(time.time())}]}
        return self.post("click", urlencode({"payload": json.dumps(payload)}))

    @staticmethod
    def trigger(name: str) -> str:
        return f"trig/{time.time():.3f}/{name}"

    def submit_reject(self, user: str, request_id: str) -> bool:
        from bot.render.requests import REASON_ACTION, REASON_BLOCK, REJECT_MODAL

        payload = {"type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
                   "user": {"id": user, "team_id": "T1"}, "trigger_id": "t",
                   "view": {"id": "V1", "type": "modal", "callback_id": REJECT_MODAL,
                            "private_metadata": request_id, "state": {"values": {
                                REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input",
                                                               "value": "soak says no"}}}}}}
        return self.post("modal", urlencode({"payload": json.dumps(payload)}))

