"""Load generators for the latency benchmarks: signed Slack requests on loopback.

- ``run_load``: closed loop — N client threads, each sending its next request as soon as
  the previous one is acked (or, with ``wait_answer``, answered).
- ``run_rate``: open loop — requests started at a fixed rate whatever the server does
  (a pool of sender threads, so a slow ack does not slow the offered rate).

Answers arrive at a fake Slack ``response_url`` (one path per request), which timestamps
them; an answer whose text is the bot's busy message counts as "busy", not "answered".
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.services import BUSY_TEXT
from testkit.fake_slack import FakeSlack

SECRET = "bench-signing-secret"
ANSWER_WITHIN_S = 10.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


class Client:
    """Signs and posts ``/ddb`` commands and clicks to one app."""

    def __init__(self, port: int, fake: FakeSlack) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.fake = fake
        self.verifier = SignatureVerifier(SECRET)

    def slash_body(self, text: str, rid: str) -> str:
        return urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U_BENCH",
                          "command": "/ddb", "text": text, "response_url": self.fake.response_url(rid),
                          "trigger_id": "t", "api_app_id": "A1", "token": "x"})

    def click_body(self, value: str, rid: str) -> str:
        payload = {"type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
                   "user": {"id": "U_BENCH", "team_id": "T1"}, "channel": {"id": "C1"},
                   "container": {"type": "message", "message_ts": "1.2"},
                   "response_url": self.fake.response_url(rid), "trigger_id": "t",
                   "actions": [{"type": "button", "action_id": "ddb_show_json",
                                "block_id": "b", "value": value}]}
        return urlencode({"payload": json.dumps(payload)})

    def post(self, body: str) -> float:
        """Post; return the send time. Raises OSError on a non-200 or a 10 s timeout."""
        ts = str(int(time.time()))
        req = urllib.request.Request(
            self.url, data=body.encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Slack-Request-Timestamp": ts,
                     "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body)})
        t0 = time.monotonic()
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
            if resp.status != 200:
                raise OSError(resp.status)
        return t0


def outcomes(fake: FakeSlack, sent: dict[str, float], settle: float) -> dict[str, Any]:
    """Wait up to ``settle`` s for every sent request's answer, then classify them."""
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline and len(fake.find("/response/")) < len(sent):
        time.sleep(0.1)
    answers = {c.path.rsplit("/", 1)[1]: c for c in fake.find("/response/")}
    trips, busy, late, missing = [], 0, 0, 0
    for rid, t0 in sent.items():
        call = answers.get(rid)
        if call is None:
            missing += 1
        elif call.body.get("text") == BUSY_TEXT:
            busy += 1
        else:
            trip = call["at"] - t0
            trips.append(trip)
            late += trip > ANSWER_WITHIN_S
    return {"answered": len(trips), "answered_in_10s": len(trips) - late, "late": late,
            "busy": busy, "unanswered": missing,
            "trip_p50_ms": pct(trips, 0.5) * 1000, "trip_p99_ms": pct(trips, 0.99) * 1000}


def run_load(port: int, fake: FakeSlack, texts: list[str], duration: float, concurrency: int,
             clicks: bool = False, wait_answer: bool = False) -> dict[str, Any]:
    """Closed loop: ``concurrency`` clients for ``duration`` seconds."""
    client = Client(port, fake)
    acks: list[float] = []
    sent: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration
    counter = iter(range(10**9))
    view_values: list[str] = []

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop:
            n = next(counter)
            rid = f"q{n}"
            try:
                if clicks and view_values and n % 5 == 4:
                    body = client.click_body(view_values[-1], rid)
                else:
                    body = client.slash_body(texts[n % len(texts)], rid)
                t0 = client.post(body)
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
        while clicks and time.monotonic() < stop + 1:
            for call in fake.find("/response/"):
                for block in call.body.get("blocks", []):
                    for el in block.get("elements", []) if block.get("type") == "actions" else []:
                        if el.get("action_id") == "ddb_show_json" and not view_values:
                            view_values.append(el["value"])
            time.sleep(0.2)

    fake.clear()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    h = threading.Thread(target=harvest)
    t_start = time.monotonic()
    for t in threads:
        t.start()
    h.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start
    h.join()
    return {
        "requests": len(acks), "errors": errors, "rps": len(acks) / elapsed,
        "ack_p50_ms": pct(acks, 0.5) * 1000, "ack_p99_ms": pct(acks, 0.99) * 1000,
        "ack_max_ms": max(acks, default=float("nan")) * 1000,
        **outcomes(fake, sent, settle=ANSWER_WITHIN_S + 5),
    }


def run_rate(port: int, fake: FakeSlack, texts: list[str], rate: float, duration: float,
             senders: int = 256, settle: float = 5.0) -> dict[str, Any]:
    """Open loop: one request every ``1/rate`` s for ``duration`` s."""
    client = Client(port, fake)
    acks: list[float] = []
    lags: list[float] = []
    sent: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()

    def one(n: int, due: float) -> None:
        nonlocal errors
        rid = f"r{n}"
        try:
            t0 = client.post(client.slash_body(texts[n % len(texts)], rid))
            dt = time.monotonic() - t0
            with lock:
                acks.append(dt)
                lags.append(t0 - due)
                # the answer is timed from when the request was due, not when a sender got
                # to it: a server that slows its acks must not slow the offered load
                sent[rid] = due
        except OSError:
            with lock:
                errors += 1

    fake.clear()
    total = int(rate * duration)
    start = time.monotonic() + 0.05
    with ThreadPoolExecutor(max_workers=senders) as pool:
        for n in range(total):
            due = start + n / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, n, due)
    elapsed = time.monotonic() - start
    out = outcomes(fake, sent, settle=settle)
    return {
        "offered_rps": rate, "requests": len(acks), "errors": errors,
        "ack_p50_ms": pct(acks, 0.5) * 1000, "ack_p99_ms": pct(acks, 0.99) * 1000,
        "ack_max_ms": max(acks, default=float("nan")) * 1000,
        "send_lag_p99_ms": pct(lags, 0.99) * 1000,
        "answers_per_s": out["answered"] / duration, "elapsed_s": elapsed, **out,
    }


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; NaN where /proc is absent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, TypeError, ValueError, IndexError):
        return float("nan")


def process_rss_mb(pid: int | None) -> float:
    """A process's resident memory now, MB; NaN where /proc is absent."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return kb / 1024
    except (OSError, StopIteration, ValueError, IndexError):
        return float("nan")


class CapacitySearch:
    """Answers per second sustained while the answer p99 stays <= 1 s, two ways. Rates are
    offered in rising order until one misses: answer p99 over 1 s, ack p99 over Slack's 3 s,
    an error or a request never answered. Answers are timed from when each was due.

    - ``capacity_answers_per_s`` (strict): the best step before the first "busy" answer;
    - ``goodput_answers_per_s``: the best step counting only real answers, so an app that
      tells the overflow "busy, try again" at once keeps counting what it still answers
      in time; an app that queues everything has the same figure both ways."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.strict = self.goodput = 0.0
        self.refused = False
        self.done = False

    def offer(self, port: int, fake: FakeSlack, texts: list[str], rate: float, step_s: float,
              pid: int | None = None) -> None:
        c0 = process_cpu_s(pid)
        r = run_rate(port, fake, texts, rate, step_s)
        r["app_cpu_ms"] = (process_cpu_s(pid) - c0) / max(1, r["requests"]) * 1000
        r["app_rss_mb"] = process_rss_mb(pid)
        self.steps.append(r)
        if not (r["errors"] == 0 and r["unanswered"] == 0 and r["trip_p99_ms"] <= 1000
                and r["ack_p99_ms"] <= 3000):
            self.done = True
            return
        self.goodput = max(self.goodput, r["answers_per_s"])
        self.refused = self.refused or r["busy"] > 0
        if not self.refused:
            self.strict = max(self.strict, r["answers_per_s"])

    def result(self) -> dict[str, Any]:
        return {"capacity_answers_per_s": self.strict, "goodput_answers_per_s": self.goodput,
                "steps": self.steps}


def capacity(ports: dict[str, int], fake: FakeSlack, texts: list[str], step_s: float,
             rates: list[float], pids: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    """:class:`CapacitySearch` for every app, paired: each rate is offered to each app in
    turn before the next rate, so the apps meet the shared machine in the same state (on
    this box the same app's capacity moved by a third between runs a minute apart)."""
    searches = {kind: CapacitySearch() for kind in ports}
    for rate in rates:
        for kind, search in searches.items():
            if not search.done:
                search.offer(ports[kind], fake, texts, rate, step_s, (pids or {}).get(kind))
        if all(s.done for s in searches.values()):
            break
    return {kind: s.result() for kind, s in searches.items()}
