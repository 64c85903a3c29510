"""The soak's workload: simulated people reading, requesting writes and deciding them.

Each user thread loops: decide a posted request (approve, approve by 2-4 at once, try to
approve its own then have another approve, reject through the reason modal, or leave it),
send a read, or request a write on a shared helper (so approvals race and go stale) or a
put of a fresh platform. ``harvest`` learns request ids from the approval messages the bot
posts. What each write request was meant to meet is kept in ``Planned`` for the checks.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid

from benchmarks.soak_harness import HELPERS, MARK, Harness, Planned


class Workload(Harness):
    """The simulated users (see the module docstring)."""

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

