"""End to end: signed /ddb requests into the served app, answers at the fake response_url."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.render import ids
from dynamo import demo
from testkit import scan_all
from testkit.signed import SlackSender


def _answer(bot: Any, n: int = 1) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", n)[n - 1].body


def _all_text(msg: dict[str, Any]) -> str:
    return json.dumps(msg)


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    out = {}
    for block in msg.get("blocks", []):
        for el in block.get("elements", []) if block.get("type") == "actions" else []:
            out[el["action_id"]] = el.get("value", "")
    return out


def test_healthz(bot: Any) -> None:
    resp = bot.sender.healthz()
    assert resp.status == 200 and resp.json() == {"ok": True}


def test_get_user_answers_ephemerally_with_a_card(bot: Any) -> None:
    resp = bot.sender.slash(f"get users {demo.DEMO_USER_ID}")
    assert resp.status == 200
    msg = _answer(bot)
    assert msg["response_type"] == "ephemeral"
    assert demo.DEMO_USER_ID in _all_text(msg)
    assert len(msg["blocks"]) <= 50


def test_user_by_email_and_patterns_and_tables(bot: Any) -> None:
    bot.sender.slash(f"user {demo.DEMO_EMAIL}")
    assert demo.DEMO_USER_ID in _all_text(_answer(bot, 1))
    bot.sender.slash("patterns")
    assert "KeyHashIndex" in _all_text(_answer(bot, 2))
    bot.sender.slash("tables")
    text = _all_text(_answer(bot, 3))
    assert "platform-connection-auths" in text and "ACTIVE" in text


def test_auth_never_shows_secrets(bot: Any) -> None:
    bot.sender.slash(f"auth {demo.DEMO_CONNECTION_ID}")
    msg = _answer(bot)
    text = _all_text(msg)
    assert demo.DEMO_CONNECTION_ID in text
    for secret in demo.DEMO_SECRETS:
        assert secret not in text
    # Show JSON of the same result
    view = _buttons(msg)[ids.SHOW_JSON]
    bot.sender.click(ids.SHOW_JSON, view)
    text = _all_text(_answer(bot, 2))
    assert "[redacted]" in text
    for secret in demo.DEMO_SECRETS:
        assert secret not in text


def test_next_page_continues_where_the_page_ended(bot: Any) -> None:
    bot.sender.slash("scan users --limit 5")
    first = _answer(bot, 1)
    view = _buttons(first)[ids.NEXT_PAGE]
    seen = set()
    pages = 1
    msg = first
    calls = 1
    while True:
        seen.update(u for u in _user_ids(msg))
        buttons = _buttons(msg)
        if ids.NEXT_PAGE not in buttons:
            break
        bot.sender.click(ids.NEXT_PAGE, buttons[ids.NEXT_PAGE])
        calls += 1
        msg = _answer(bot, calls)
        assert msg.get("replace_original") is True
        pages += 1
    assert view
    all_users = {i["user_id"]["S"] for i in scan_all(bot.services.client)["mfh-dev-users"]}
    assert seen == all_users
    assert pages >= 3


def _user_ids(msg: dict[str, Any]) -> set[str]:
    import re

    return set(re.findall(r"user:[0-9a-f-]{36}", _all_text(msg)))


def test_next_page_by_another_user_is_refused(bot: Any) -> None:
    bot.sender.slash("scan users --limit 2")
    view = _buttons(_answer(bot))[ids.NEXT_PAGE]
    bot.sender.click(ids.NEXT_PAGE, view, user="U_MALLORY")
    msg = _answer(bot, 2)
    assert "Only the person who ran" in msg["text"]


def test_expired_or_forged_view_id(bot: Any) -> None:
    bot.sender.click(ids.NEXT_PAGE, "not-a-real-view")
    assert "expired" in _answer(bot)["text"]


def test_bad_input_gets_error_and_usage_and_writes_nothing(bot: Any) -> None:
    before = scan_all(bot.services.client)
    cases = [
        ("frobnicate", "unknown subcommand"),
        ("get nope x", "unknown table"),
        ("get mfh-prod-users user:x", "outside"),
        ("get user-accounts user:x", "needs"),
        ("get users {not json", "not valid JSON"),
        ('scan helpers --filter "enabled = maybe"', "true or false"),
        ('scan users --filter "status = = x"', "filter"),
        ("query users --index NopeIndex email=x", "no index"),
        ("scan users --limit 500", "between 1 and 100"),
        ("get users user:does-not-exist", "no item"),
    ]
    for n, (text, expected) in enumerate(cases, 1):
        resp = bot.sender.slash(text)
        assert resp.status == 200
        msg = _answer(bot, n)
        assert msg["response_type"] == "ephemeral"
        body = _all_text(msg)
        assert expected in body, (text, body)
        assert "/ddb" in body  # usage shown
    assert scan_all(bot.services.client) == before
    # and the process keeps serving
    bot.sender.slash("patterns")
    assert "Access patterns" in _all_text(_answer(bot, len(cases) + 1))


def test_share_posts_in_channel_with_pii_masked(bot: Any) -> None:
    bot.sender.slash(f"user {demo.DEMO_EMAIL} --share")
    msg = _answer(bot)
    assert msg["response_type"] == "in_channel"
    text = _all_text(msg)
    assert demo.DEMO_EMAIL not in text
    assert "a***@example.com" in text


def test_wrong_signature_and_old_timestamp_are_401(bot: Any) -> None:
    resp = bot.sender.slash("tables", signature="v0=" + "0" * 64)
    assert resp.status == 401
    resp = bot.sender.slash("tables", timestamp=int(time.time()) - 60 * 10)
    assert resp.status == 401
    other = SlackSender(bot.sender.base_url, "another-secret", bot.sender.response_url)
    assert other.slash("tables").status == 401
    time.sleep(0.2)
    assert bot.slack.find("/response/") == []


def test_ack_is_immediate_and_empty(bot: Any) -> None:
    resp = bot.sender.slash("count executions --exact")
    assert resp.status == 200
    assert resp.body == ""
    assert "items" in _all_text(_answer(bot))
