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

This module is the run; ``soak_harness`` holds the fakes, the bot process and signed
sending, ``soak_workload`` the simulated people, ``soak_invariants`` the checks.

    python benchmarks/soak.py [--duration 180 | --quick] [--faults] [--users 30]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.ack_latency import free_port, wait_http  # noqa: E402
from benchmarks.soak_harness import APPROVALS, SECRET, STAGE, FaultProxy, SoakSlack  # noqa: E402
from benchmarks.soak_invariants import Invariants  # noqa: E402
from benchmarks.soak_workload import Workload  # noqa: E402
from testkit.moto import start_moto_server  # noqa: E402


class Soak(Workload, Invariants):
    """One soak: start moto, the fake Slack and the bot; run the workload; check."""

    # -- the run ---------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        moto_port = free_port()
        moto = start_moto_server(moto_port)  # DynamoDB serialised (see the docstring)
        moto_url = f"http://127.0.0.1:{moto_port}"
        self.slack = SoakSlack(args.faults).start()
        proxy = FaultProxy(moto_url, 0.05) if args.faults else None
        base = {**os.environ, "AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak",
                "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2", "STAGE": STAGE,
                "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "SLACK_BOT_TOKEN": "xoxb-soak",
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": self.slack.api_url,
                "DDB_BOT_APPROVAL_CHANNEL": APPROVALS, "PYTHONFAULTHANDLER": "1",
                "DDB_BOT_OPEN_ACCESS": "true",  # the whole workspace, said outright (bot.access)
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
