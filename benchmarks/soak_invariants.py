"""The soak's invariant checks, read from DynamoDB itself after the run.

Every approved request ran exactly once (one ``approve``/``EXECUTED`` audit record
each); each helper's executed updates form one unbroken chain from the seed value to the
item's current value; exactly the executed puts exist; no acked approval was lost;
self-approvals were refused; nothing else in any platform table changed; every acked
slash command was answered. ``check`` prints the table and returns the exit code.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from benchmarks.load import pct
from benchmarks.soak_harness import HELPERS, STAGE, FaultProxy, Harness
from bot.services import BUSY_TEXT


class Invariants(Harness):
    """Reads the tables back and checks what the run must have kept true."""

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

