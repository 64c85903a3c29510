"""The console drives the whole write flow as different users, like the buttons do."""

from __future__ import annotations

import io
from typing import Any

from bot.console import Console
from dynamo import demo


def _console(services: Any, user: str) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(services, user, out=out, err=err), out, err


def test_request_then_approve_as_another_user(services: Any, seeded: Any) -> None:
    alice, out, _ = _console(services, "U_ALICE")
    assert alice.one(f"/ddb update helpers {demo.DEMO_HELPER_ID} set enabled=false") == 0
    text = out.getvalue()
    assert "PENDING" in text and "enabled" in text and "/ddb approve R" in text
    request_id = text.split("/ddb approve ")[1].split("`")[0]

    # the requester cannot approve
    assert alice.one(f"/ddb approve {request_id}") == 1
    item = services.client.get_item(TableName="mfh-dev-helpers",
                                    Key={"helper_id": {"S": demo.DEMO_HELPER_ID}})["Item"]
    assert item["enabled"] == {"BOOL": True}

    # `as U_BOB` in the REPL, then approve: same path as the Approve button
    repl, rout, rerr = _console(services, "U_ALICE")
    script = io.StringIO(f"as U_BOB\n/ddb approve {request_id}\n/ddb history --limit 5\nquit\n")
    assert repl.loop(script) == 0
    assert "now acting as U_BOB" in rout.getvalue()
    assert "EXECUTED" in rout.getvalue()
    item = services.client.get_item(TableName="mfh-dev-helpers",
                                    Key={"helper_id": {"S": demo.DEMO_HELPER_ID}})["Item"]
    assert item["enabled"] == {"BOOL": False}
    assert rerr.getvalue() == ""


def test_reject_with_reason_and_pending_in_console(services: Any, seeded: Any) -> None:
    alice, out, _ = _console(services, "U_ALICE")
    alice.one(f"/ddb delete users {demo.DEMO_USER_ID}")
    request_id = out.getvalue().split("/ddb approve ")[1].split("`")[0]
    bob, bout, _ = _console(services, "U_BOB")
    assert bob.one("/ddb pending") == 0
    assert request_id in bout.getvalue()
    assert bob.one(f"/ddb reject {request_id} wrong user, keep it") == 0
    assert "REJECTED" in bout.getvalue() and "wrong user, keep it" in bout.getvalue()
    assert "Item" in services.client.get_item(TableName="mfh-dev-users",
                                              Key={"user_id": {"S": demo.DEMO_USER_ID}})
    assert bob.one(f"/ddb approve {request_id}") == 1


def test_console_shows_people_as_at_ids_not_slack_markup(services: Any, seeded: Any) -> None:
    """``pending``, ``history`` and refusals name people ``<@U…>`` for Slack; a terminal
    shows ``@U…``."""
    alice, out, _ = _console(services, "U_ALICE")
    alice.one(f"/ddb update helpers {demo.DEMO_HELPER_ID} set enabled=false")
    request_id = out.getvalue().split("/ddb approve ")[1].split("`")[0]
    bob, bout, berr = _console(services, "U_BOB")
    assert bob.one("/ddb pending") == 0
    assert bob.one(f"/ddb approve {request_id}") == 0
    assert bob.one("/ddb history --limit 5") == 0
    assert bob.one(f"/ddb approve {request_id}") == 1  # already decided: names the approver
    shown = bout.getvalue() + berr.getvalue()
    assert "@U_ALICE" in shown and "@U_BOB" in berr.getvalue()
    assert "<@" not in shown and "<#" not in shown


def test_console_takes_text_as_typed(services: Any, seeded: Any) -> None:
    """No Slack decoding in the console: a typed ``&gt;`` is not ``>``."""
    con, _, err = _console(services, "U_ALICE")
    assert con.one("/ddb query executions account_id=acct-0001 created_at >= 2026-01-01") == 0
    assert con.one("/ddb query executions account_id=acct-0001 created_at &gt;= 2026-01-01") == 1
    assert "&gt;" in err.getvalue()


def test_as_with_a_command_switches_and_runs_it_on_one_line(services: Any, seeded: Any) -> None:
    """`as U_BOB /ddb approve R…` pastes a two-person flow one line per person; the
    switch stays for the lines after it, and the requester is still refused."""
    repl, out, err = _console(services, "U_ALICE")
    script = io.StringIO(f"/ddb update helpers {demo.DEMO_HELPER_ID} set enabled=false\nquit\n")
    assert repl.loop(script) == 0
    request_id = out.getvalue().split("/ddb approve ")[1].split("`")[0]
    script = io.StringIO(f"as U_ALICE /ddb approve {request_id}\n"
                         f"as U_BOB /ddb approve {request_id}\n/ddb history --limit 3\nquit\n")
    assert repl.loop(script) == 0
    text = out.getvalue()
    assert "now acting as U_ALICE" in text and "now acting as U_BOB" in text
    assert "a second person has to approve it" in text + err.getvalue()
    assert "EXECUTED" in text
    item = services.client.get_item(TableName="mfh-dev-helpers",
                                    Key={"helper_id": {"S": demo.DEMO_HELPER_ID}})["Item"]
    assert item["enabled"] == {"BOOL": False}
    assert repl.user_id == "U_BOB"  # the switch stays
