"""Overload is bounded and honest: the work after ``ack()`` goes through a bounded queue,
and when it is full the person is told at once that the bot is busy (and the log counts
it) instead of getting an answer minutes later.

The queue is made small and its slots are held by jobs waiting on an event, so "full" is
a state the test controls, not a race.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.render import ids
from bot.services import BUSY_TEXT, WorkQueue
from dynamo import demo
from testkit import scan_all


def _never() -> None:
    raise AssertionError("a held job was refused")


@pytest.fixture
def full(make_bot: Any) -> Iterator[tuple[Any, threading.Event]]:
    """A bot whose work queue (1 worker + 1 waiting) is held full until the event is set."""
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    bot.services.work = WorkQueue(workers=1, backlog=1)
    gate = threading.Event()
    held = [bot.services.after_ack(gate.wait, 10, busy=_never) for _ in range(2)]
    assert all(held)
    yield bot, gate
    gate.set()
    bot.services.work.shutdown()


def _request_lines(caplog: pytest.LogCaptureFixture, outcome: str) -> list[logging.LogRecord]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [r for r in caplog.records
                 if r.name == "bot.requests" and getattr(r, "outcome", None) == outcome]
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no request line with outcome {outcome}")


def test_full_queue_answers_busy_at_once_and_counts_it(full: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from bot.logs import busy_total

    bot, gate = full
    caplog.set_level(logging.INFO)
    counted = busy_total()
    assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200  # still acked
    told = bot.slack.wait_for("/response/")[0].body
    assert told["text"] == BUSY_TEXT and told["response_type"] == "ephemeral"
    assert demo.DEMO_EMAIL not in json.dumps(told)  # the command did not run
    line = _request_lines(caplog, "busy")[0]
    assert getattr(line, "target", "") == "/ddb get" and not hasattr(line, "command")
    warnings = [r for r in caplog.records if r.name == "bot.overload"]
    assert len(warnings) == 1 and warnings[0].busy_total == counted + 1
    assert busy_total() == counted + 1

    # once the queue has room the same command is answered
    gate.set()
    bot.slack.clear()
    deadline = time.monotonic() + 10
    while not bot.services.work.reserve():  # the held jobs end and give their slots back
        assert time.monotonic() < deadline
        time.sleep(0.02)
    bot.services.work.run_reserved(lambda: None)
    assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    answer = bot.slack.wait_for("/response/")[0].body
    assert demo.DEMO_EMAIL in json.dumps(answer)


def test_busy_approve_click_changes_nothing_and_says_so(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    assert bot.sender.slash("update helpers helper-0001 set enabled=false").status == 200
    posted = bot.slack.wait_for("/api/chat.postMessage")[0].body
    request_id = next(el["value"] for b in posted["blocks"] if b.get("type") == "actions"
                      for el in b["elements"] if el["action_id"] == ids.APPROVE)
    bot.slack.wait_for("/response/")
    before = scan_all(bot.services.client)

    bot.services.work = WorkQueue(workers=1, backlog=0)
    gate = threading.Event()
    assert bot.services.after_ack(gate.wait, 10, busy=_never)
    try:
        bot.slack.clear()
        assert bot.sender.click(ids.APPROVE, request_id, user="U_BOB",
                                channel="C_APPROVALS").status == 200
        told = bot.slack.wait_for("/response/")[0].body
        # beside the request message, not over it: its buttons stay for a retry
        assert told["text"] == BUSY_TEXT and told["replace_original"] is False
        assert scan_all(bot.services.client) == before  # still pending, nothing written
        assert not bot.slack.find("/api/chat.update")
    finally:
        gate.set()
        bot.services.work.shutdown()


def test_answers_waiting_on_slack_do_not_wait_for_each_other(make_bot: Any) -> None:
    """A job mostly waits: on DynamoDB, then on Slack's response_url (~100 ms away from AWS,
    <1 ms on loopback). Ten answers are all sent while Slack holds every one of them
    unanswered, so the tenth person does not wait for nine round trips (DDB_BOT_WORKERS)."""
    bot = make_bot(ddb_bot_workers=12)
    gate = threading.Event()
    bot.slack.gates["/response/r1"] = gate
    try:
        for _ in range(10):
            assert bot.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
        held = bot.slack.wait_for("/response/r1", count=10)
        assert not bot.slack.answered  # all ten in flight at Slack at once
    finally:
        gate.set()
    deadline = time.monotonic() + 10
    while len(bot.slack.answered) < 10:
        assert time.monotonic() < deadline, bot.slack.answered
        time.sleep(0.02)
    assert all(demo.DEMO_EMAIL in json.dumps(call.body) for call in held)


def test_work_queue_bounds_jobs_and_gives_places_back() -> None:
    queue = WorkQueue(workers=2, backlog=3, max_wait=60)
    gate = threading.Event()
    taken = [queue.reserve() for _ in range(6)]
    assert taken == [True] * 5 + [False]  # 2 running + 3 waiting, then full
    futures = [queue.run_reserved(lambda: gate.wait(10)) for _ in range(5)]
    assert not queue.reserve()
    gate.set()
    for f in futures:
        assert f.result(timeout=10) is True
    deadline = time.monotonic() + 5
    while not queue.reserve():  # places are given back right after each job ends
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert sum(queue.reserve() for _ in range(10)) == 4  # all 5 places back
    queue.shutdown()


def test_work_queue_refuses_a_job_that_would_wait_too_long() -> None:
    """The same backlog admits more quick jobs than slow ones: what is bounded is the time
    until a job would be done, its wait for a worker plus its own run."""
    quick = WorkQueue(workers=1, backlog=100, max_wait=1.0, job_s=0.1)
    slow = WorkQueue(workers=1, backlog=100, max_wait=1.0, job_s=0.4)
    gate = threading.Event()
    admitted = {}
    for name, queue in (("quick", quick), ("slow", slow)):
        n = 0
        while queue.reserve():
            queue.run_reserved(lambda: gate.wait(10))
            n += 1
            assert n <= 100
        admitted[name] = n
    gate.set()
    # done in 0.1, 0.2, ... 1.0 s  /  done in 0.4, 0.8 s
    assert admitted == {"quick": 10, "slow": 2}
    quick.shutdown()
    slow.shutdown()

