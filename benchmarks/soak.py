"""Soak and fault run: many simulated users against the served bot, then every invariant.

DynamoDB is moto's server in another process (its request handling serialised, as in the
test suite: moto restores whole-table copies on a failed transaction, which would fake
lost writes under threads); Slack is an in-process fake Web API and response_url; the
bot is ``python -m bot serve`` in its own process, fed signed requests. For
``--duration`` seconds, ``--users`` threads send a mix of:

- reads (get / query / scan / user / executions),
- write requests: ``update helpers helper-00NN set description=soak-<id>`` on a few shared
  items (so approvals race and go stale) and ``put platforms {"platform_id":"plat-soak-N"}``
  of fresh items,
- decisions on the posted requests: Approve by another user (sometimes 2-4 approvers at
  once), Approve by the requester (must be refused), Reject (button, then the modal,
  submitted only if it opened: the fake Slack, like Slack, takes a trigger_id for 3 s).

Each simulated person waits for the answer to a slash command before the next one, so
the load is closed-loop (at this box's capacity, not beyond it).

``--faults`` adds: a proxy in front of moto that answers ~5 % of DynamoDB calls with
``ThrottlingException`` (400) or a 500 without forwarding them; Slack Web API 429s
(``Retry-After: 1``; not views.open) and slow answers (response_url included); and a
SIGTERM of the bot half-way with a new process started on the same port as soon as the
old one stops listening, so for a while the old one drains its acknowledged work while
the new one serves (two replicas on one state table). Requests sent while no bot listens
are counted as "refused during restart", not as failures.

Then it checks, from DynamoDB itself: every approved request ran exactly once (one
``approve``/``EXECUTED`` audit record each; each helper's executed updates form one
unbroken chain from the seed value to the item's current value; exactly the executed
puts exist), no acked approval was lost, self-approvals were refused, and nothing else in
any platform table changed. Prints a table; exits 1 if an invariant fails.

    python benchmarks/soak.py [--duration 180 | --quick] [--faults] [--users 30]
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
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from slack_sdk.signature import SignatureVerifier  # noqa: E402

from benchmarks.ack_latency import free_port, wait_http  # noqa: E402
from benchmarks.load import pct  # noqa: E402
from bot.services import BUSY_TEXT  # noqa: E402
from testkit.fake_slack import FakeSlack  # noqa: E402

SECRET = "soak-signing-secret"
STAGE = "dev"
APPROVALS = "C_APPROVALS"
HELPERS = [f"helper-{i:04d}" for i in range(1, 9)]  # shared: approvals race, some go stale
MARK = re.compile(r"soak-[0-9a-f]{12}")
# moto's server with its DynamoDB request handling serialised (see the module docstring)
MOTO = """
import sys, threading
from moto.dynamodb.responses import DynamoHandler
_call, _lock = DynamoHandler.call_action, threading.RLock()
def call_action(self):
    with _lock:
        return _call(self)
DynamoHandler.call_action = call_action
from moto.server import main
main(sys.argv[1:])
"""


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


class Soak:
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
        self.bot_log = open(os.path.join(ROOT, "benchmarks", "results", "soak-bot.log"), "w")  # noqa: SIM115

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

    # -- the users -------------------------------------------------------------------
    def read_text(self) -> str:
        from dynamo import demo

        return random.choice([
            f"get users {demo.DEMO_USER_ID}", f"query users email={demo.DEMO_EMAIL}",
            "scan helpers --limit 5", f"user {demo.DEMO_EMAIL}",
            f"executions {demo.DEMO_ACCOUNT_ID} --limit 5", f"get helpers {random.choice(HELPERS)}",
            "count platforms"])

    def request_write(self, user: str) -> None:
        marker = f"soak-{uuid.uuid4().hex[:12]}"
        if random.random() < 0.6:
            target = random.choice(HELPERS)
            plan = Planned(marker, user, "update", target)
            text = f"update helpers {target} set description={marker}"
        else:
            target = f"plat-{marker}"
            plan = Planned(marker, user, "put", target)
            text = "put platforms " + json.dumps(
                {"platform_id": target, "name": marker, "slug": marker})
        plan.answer = f"s{next(self.counter)}"
        with self.lock:
            self.planned[marker] = plan
        self.slash(user, text, plan.answer)

    def other(self, user: str) -> str:
        return random.choice([u for u in self.users if u != user])

    def decide(self, plan: Planned) -> None:
        """Act on one posted request as the plan's fate says."""
        rid = plan.request_id
        assert rid is not None
        if plan.fate == "reject":
            approver = self.other(plan.requester)
            name = f"r{next(self.counter)}"
            if self.click(approver, "ddb_reject", rid, name):
                # the reason is typed into the modal, so only an opened modal is submitted
                opened = self.slack.wait_path(f"opened:{self.last_trigger[name]}", 10)
                with self.stats.lock:
                    self.stats.reject_clicks += 1
                    self.stats.modal_not_opened += not opened
                if opened:
                    self.submit_reject(approver, rid)
            return
        if plan.fate == "self-then-approve":
            name = f"self{next(self.counter)}"
            if self.click(plan.requester, "ddb_approve", rid, name):
                plan.self_clicks.append(name)
        if plan.fate == "multi":
            approvers = random.sample([u for u in self.users if u != plan.requester],
                                      random.randint(2, 4))
            results: list[bool] = []
            threads = [threading.Thread(target=lambda a=a: results.append(
                self.approve(plan, a, rid))) for a in approvers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            plan.valid_approve_acked = any(results)
            return
        plan.valid_approve_acked = self.approve(plan, self.other(plan.requester), rid)

    def approve(self, plan: Planned, user: str, rid: str) -> bool:
        name = f"c{next(self.counter)}"
        ok = self.click(user, "ddb_approve", rid, name)
        if ok:
            plan.approve_clicks.append(name)
        return ok

    def take_decision(self) -> Planned | None:
        with self.lock:
            if not self.queue:
                return None
            plan = self.queue.pop(random.randrange(len(self.queue)))
        roll = random.random()
        plan.fate = ("leave" if roll < 0.05 else "reject" if roll < 0.2 else
                     "self-then-approve" if roll < 0.3 else "multi" if roll < 0.45 else "approve")
        return plan

    def user_loop(self, user: str, stop: float) -> None:
        while time.monotonic() < stop:
            roll = random.random()
            if roll < 0.45:
                plan = self.take_decision()
                if plan is not None:
                    if plan.fate != "leave":
                        self.decide(plan)
                    continue
            if roll < 0.75:
                self.slash(user, self.read_text())
            else:
                self.request_write(user)
            time.sleep(random.uniform(0.05, 0.3))

    def harvest(self, until: threading.Event) -> None:
        """Request ids from the approval messages the bot posted (Approve button value)."""
        seen = 0
        while True:
            with self.slack.lock:
                posts = list(self.slack.posts)
            for call in posts[seen:]:
                rid = next((el.get("value") for b in call.body.get("blocks", [])
                            if b.get("type") == "actions" for el in b.get("elements", [])
                            if el.get("action_id") == "ddb_approve"), None)
                if not rid:
                    continue
                # an update's preview shows the marker it replaces too: take the new one
                with self.lock:
                    fresh = [p for m in set(MARK.findall(json.dumps(call.body)))
                             if (p := self.planned.get(m)) is not None and p.request_id is None]
                    if len(fresh) == 1:
                        fresh[0].request_id = rid
                        self.by_request[rid] = fresh[0]
                        self.queue.append(fresh[0])
            seen = len(posts)
            if until.is_set():
                return
            time.sleep(0.1)

    # -- the run ---------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
        moto_port = free_port()
        moto = subprocess.Popen([sys.executable, "-c", MOTO, "-H", "127.0.0.1", "-p",
                                 str(moto_port)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        moto_url = f"http://127.0.0.1:{moto_port}"
        self.slack = SoakSlack(args.faults).start()
        proxy = FaultProxy(moto_url, 0.05) if args.faults else None
        base = {**os.environ, "AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak",
                "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2", "STAGE": STAGE,
                "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "SLACK_BOT_TOKEN": "xoxb-soak",
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": self.slack.api_url,
                "DDB_BOT_APPROVAL_CHANNEL": APPROVALS, "PYTHONFAULTHANDLER": "1",
                "DDB_BOT_LOG_LEVEL": os.environ.get("DDB_BOT_LOG_LEVEL", "WARNING")}
        for var in ("SLACK_APP_TOKEN", "DDB_BOT_APPROVERS", "DDB_BOT_READERS",
                    "DDB_BOT_REQUESTERS", "DDB_BOT_ALLOWED_CHANNELS"):
            base.pop(var, None)
        self.env = {**base, "AWS_ENDPOINT_URL_DYNAMODB": proxy.url if proxy else moto_url}
        try:
            wait_http(moto_url + "/moto-api/")
            for cmd in (["init", "--all"], ["seed"]):
                subprocess.run([sys.executable, "-m", "bot", *cmd], env=base, cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            from dynamo.aws import dynamodb_client

            self.ddb = dynamodb_client("us-west-2", moto_url, aws_access_key_id="soak",
                                       aws_secret_access_key="soak")
            seed = self.platform_items()
            self.start_bot()
            t_start = time.monotonic()
            stop = t_start + args.duration
            done = threading.Event()
            harvester = threading.Thread(target=self.harvest, args=(done,), daemon=True)
            harvester.start()
            users = [threading.Thread(target=self.user_loop, args=(u, stop)) for u in self.users]
            for t in users:
                t.start()
            restarted = False
            while any(t.is_alive() for t in users):
                now = time.monotonic()
                if args.faults and random.random() < 0.5:
                    self.slack.rate_limit_now()
                if args.faults and not restarted and now > t_start + args.duration / 2:
                    restarted = True
                    print("restarting the bot (SIGTERM, new process on the same port)",
                          file=sys.stderr, flush=True)
                    self.restart()
                time.sleep(0.5)
            elapsed = time.monotonic() - t_start
            # let the last write requests be posted, then decide what is still queued, so
            # every created request gets its fate
            self.settle()
            time.sleep(0.5)
            while (plan := self.take_decision()) is not None:
                if plan.fate != "leave":
                    self.decide(plan)
            self.settle()
            done.set()
            harvester.join()
            self.slack_429s = self.slack.unscript()
            code = self.stop_bot()
            if self.reaper:
                self.reaper.join()
            report = self.check(seed, elapsed, proxy, code)
        finally:
            if self.bot and self.bot.poll() is None:
                self.bot.kill()
            if proxy:
                proxy.stop()
            self.slack.stop()
            moto.terminate()
            try:
                moto.wait(10)
            except subprocess.TimeoutExpired:
                moto.kill()
                moto.wait(10)
            self.bot_log.close()
        return report

    def settle(self, timeout: float = 60) -> None:
        """Wait for the work after the acks: answers, and decisions of clicked requests."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            missing = [n for n in self.stats.slash_names
                       if not self.slack.event(f"/response/{n}").is_set()]
            with self.lock:
                plans = list(self.by_request.values())
            open_ = [p for p in plans if p.valid_approve_acked
                     and self.request(p.request_id).get("status") == "PENDING"]
            if not missing and not open_:
                return
            time.sleep(0.5)

    # -- checking --------------------------------------------------------------------
    def scan(self, table: str) -> list[dict[str, Any]]:
        from dynamo.store import deserialize_item

        items, kwargs = [], {"TableName": table, "ConsistentRead": True}
        while True:
            resp = self.ddb.scan(**kwargs)
            items += [deserialize_item(i) for i in resp["Items"]]
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def platform_items(self) -> dict[str, dict[str, dict[str, Any]]]:
        from dynamo.schema import TABLES

        out = {}
        for t in TABLES:
            out[t.short] = {json.dumps([i[k] for k in t.keys.names], default=str): i
                            for i in self.scan(t.full_name(STAGE))}
        return out

    def request(self, request_id: str | None) -> dict[str, Any]:
        from dynamo.store import deserialize_item, serialize_item

        resp = self.ddb.get_item(TableName=f"mfh-{STAGE}-ddb-bot", ConsistentRead=True,
                                 Key=serialize_item({"pk": "REQ", "sk": request_id or "-"}))
        return deserialize_item(resp["Item"]) if "Item" in resp else {}

    def check(self, seed: dict[str, Any], elapsed: float, proxy: FaultProxy | None,
              exit_code: int) -> int:
        failures: list[str] = []
        state = self.scan(f"mfh-{STAGE}-ddb-bot")
        reqs = {i["sk"]: i for i in state if i["pk"] == "REQ"}
        audit = [i for i in state if i["pk"] == "AUDIT"]
        executed_records = Counter(a["request_id"] for a in audit
                                   if a["action"] == "approve" and a["outcome"] == "EXECUTED")
        now = self.platform_items()
        plans = [p for p in self.planned.values() if p.request_id]
        status = {p.request_id: reqs.get(p.request_id, {}).get("status", "MISSING")
                  for p in plans}
        answers = {c.path.rsplit("/", 1)[1]: c.body for c in self.slack.find("/response/")}
        # a full work queue answers "busy" at once and runs nothing: not a lost approval
        told_busy = {n for n, body in answers.items() if body.get("text") == BUSY_TEXT}
        # exactly once, per request
        duplicates = lost = 0
        for p in plans:
            rid, st = p.request_id, status[p.request_id]
            n = executed_records[rid]
            if n != (1 if st == "EXECUTED" else 0):
                failures.append(f"{rid} is {st} with {n} approve/EXECUTED audit records")
                duplicates += n > 1
            if st == "EXECUTED" and reqs[rid].get("decided_by") == p.requester:
                failures.append(f"{rid} was approved by its requester")
            if p.valid_approve_acked and st == "PENDING" and \
                    any(n not in told_busy for n in p.approve_clicks):
                lost += 1
                failures.append(f"{rid}: an approval was acked but it is still PENDING")
            if p.kind == "put":
                exists = json.dumps([p.target]) in now["platforms"]
                if exists != (st == "EXECUTED"):
                    failures.append(f"{rid} put of {p.target} is {st} but the item "
                                    f"{'exists' if exists else 'is absent'}")
                    lost += st == "EXECUTED"
        # updates: each helper's executed updates form one chain, seed value -> current value
        for helper in HELPERS:
            key = json.dumps([helper])
            chain = {reqs[p.request_id]["before"]["description"]: p.marker for p in plans
                     if p.kind == "update" and p.target == helper and status[p.request_id] == "EXECUTED"}
            executed = [p for p in plans if p.kind == "update" and p.target == helper
                        and status[p.request_id] == "EXECUTED"]
            if len(chain) != len(executed):
                duplicates += 1
                failures.append(f"{helper}: two executed updates started from the same value")
            value, walked = seed["helpers"][key]["description"], 0
            while value in chain:
                value, walked = chain[value], walked + 1
            if walked != len(executed) or now["helpers"][key]["description"] != value:
                lost += 1
                failures.append(f"{helper}: {len(executed)} executed updates but the chain from "
                                f"the seed holds {walked}; item says "
                                f"{now['helpers'][key]['description']!r}, chain ends at {value!r}")
        # nothing else changed
        for short, items in seed.items():
            for key, item in items.items():
                after = now[short].get(key)
                if short == "helpers" and after is not None:
                    item = {k: v for k, v in item.items() if k not in ("description", "updated_at")}
                    after = {k: v for k, v in after.items() if k not in ("description", "updated_at")}
                if after != item:
                    failures.append(f"{short} {key} changed outside the soak's requests")
            extra = set(now[short]) - set(items)
            if short == "platforms":
                extra = {k for k in extra if "plat-soak-" not in k}
            if extra:
                failures.append(f"{short}: unexpected new items {sorted(extra)[:3]}")
        # self-approvals refused, and told so
        self_refused = sum(1 for p in plans for n in p.self_clicks
                           if "second person" in json.dumps(answers.get(n, {})) or n in told_busy)
        self_clicks = sum(len(p.self_clicks) for p in plans)
        if self_refused != self_clicks:
            failures.append(f"{self_clicks - self_refused} self-approvals were not refused "
                            "with an answer")
        # every ack and every answer
        unanswered = [n for n in self.stats.slash_names if n not in answers]
        if unanswered:
            failures.append(f"{len(unanswered)} acked slash commands got no answer "
                            f"(e.g. {unanswered[:3]})")
        if self.stats.not_ok:
            failures.append(f"{len(self.stats.not_ok)} requests not acked with 200 "
                            f"(e.g. {self.stats.not_ok[:3]})")
        if exit_code != 0 or self.restart_code != 0:
            failures.append(f"the bot exited with {exit_code} / {self.restart_code} on SIGTERM")
        if self.stats.modal_not_opened:
            failures.append(f"{self.stats.modal_not_opened} of {self.stats.reject_clicks} Reject "
                            "clicks never opened the reason modal (trigger_id expired: Slack "
                            "accepts it for 3 s)")
        leftover = [r for r, s in status.items() if s in ("EXECUTING", "MISSING")]
        if leftover:
            failures.append(f"{len(leftover)} requests EXECUTING or missing: {leftover[:3]}")

        unposted = [p for p in self.planned.values() if not p.request_id and p.answer in answers]
        for p in unposted[:5]:
            said = answers.get(p.answer, {})
            print(f"not posted: {p.kind} {p.target}: {said.get('text', said)!r:.300}", file=sys.stderr)
        fates = Counter(p.fate for p in plans)
        statuses = Counter(status.values())
        rows = [
            ("duration s / users", f"{elapsed:.0f} / {self.args.users}"),
            ("Slack requests sent", sum(self.stats.sent.values())),
            ("  slash / clicks / modal submissions",
             f"{self.stats.sent['slash']} / {self.stats.sent['click']} / {self.stats.sent['modal']}"),
            ("acks ok (HTTP 200)", len(self.stats.acks)),
            ("not acked (failures)", len(self.stats.not_ok)),
            ("refused during restart", self.stats.refused_restart),
            ("slash answers at response_url",
             f"{len(self.stats.slash_names) - len(unanswered)} / {len(self.stats.slash_names)}"),
            ("ack p50 / p99 / max ms", f"{pct(self.stats.acks, 0.5) * 1000:.1f} / "
             f"{pct(self.stats.acks, 0.99) * 1000:.1f} / {max(self.stats.acks) * 1000:.1f}"),
            ("answer after ack p50 / p99 ms", f"{pct(self.stats.answers, 0.5) * 1000:.0f} / "
             f"{pct(self.stats.answers, 0.99) * 1000:.0f}"),
            ("writes requested / posted", f"{len(self.planned)} / {len(plans)}"),
            ("  approved (clicks acked)", sum(1 for p in plans if p.valid_approve_acked)),
            ("  of them by 2-4 approvers at once", fates["multi"]),
            ("  executed", statuses["EXECUTED"]),
            ("  stale (item changed first)", statuses["STALE"]),
            ("  rejected", statuses["REJECTED"]),
            ("  left pending", statuses["PENDING"]),
            ("self-approvals refused", f"{self_refused} / {self_clicks}"),
            ("Reject clicks / modal opened / click to views.open max s",
             f"{self.stats.reject_clicks} / {self.stats.reject_clicks - self.stats.modal_not_opened}"
             f" / {max(self.slack.trigger_delays, default=0):.2f}"),
            ("told busy (work queue full; nothing ran)", len(told_busy)),
            ("duplicates found", duplicates),
            ("lost", lost),
        ]
        if proxy:
            rows.append(("DynamoDB calls: forwarded / throttled / 5xx",
                         f"{proxy.counts['forwarded']} / {proxy.counts['throttled']} / "
                         f"{proxy.counts['5xx']}"))
            web = self.slack.find("/api/")
            rows.append(("Slack Web API calls / 429s sent / slowed answers",
                         f"{len(web)} / {self.slack_429s} / {self.slack.slowed}"))
            if self.restart_window:
                a, b = self.restart_window
                rows.append(("restart: SIGTERM to port closed / new bot ready / old drained s",
                             f"{self.stopped_in:.2f} / {b - a:.2f} / {self.drained_in:.2f}"))
        print(f"\nsoak{' + faults' if self.args.faults else ''}: "
              f"{'PASS' if not failures else 'FAIL'}")
        print("| measure | value |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        for f in failures[:30]:
            print(f"FAIL: {f}")
        return 1 if failures else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--quick", action="store_true", help="30 s")
    ap.add_argument("--faults", action="store_true",
                    help="DynamoDB throttling/5xx, Slack 429s and slowness, a restart")
    ap.add_argument("--users", type=int, default=30)
    args = ap.parse_args()
    if args.quick:
        args.duration = 30
    sys.exit(Soak(args).run())


if __name__ == "__main__":
    main()
