"""End to end: nothing from data becomes Slack markup in anything the bot sends.

Items whose keys and values hold ``<!channel>``, ``<!here>``, a user mention, a labelled
link and an already-escaped ``&lt;`` are seeded into moto; signed requests drive every
surface that shows them (cards, lists, Show JSON, errors, a pending request with its
approval post and DMs, a rejection, a break-glass post, /ddb pending and history, App Home,
the digest, scheduled and asked for); then every payload the fake Slack received is walked
field by field. A field Slack parses (message ``text``, every text object, ``alt_text``,
titles) must hold the data only escaped (``&lt;!channel&gt;``, ``&amp;lt;``); a field Slack
shows raw (an input's ``initial_value``) or never shows (button values, metadata, ids) is
named in ``RAW`` and skipped, and a field in neither list fails the test, so a new kind of
field has to be classified before it can be sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.render import ids

STATE = "mfh-dev-ddb-bot"
HOSTILE = "<!channel> <!here> <@U123ABC> <https://evil.example|Click> a&lt;b"
HELPER_ID = f"helper-x {HOSTILE}"
# what data looks like once escaped for Slack, and the pieces that must never be sent raw
ESCAPED = "&lt;!channel&gt; &lt;!here&gt; &lt;@U123ABC&gt; &lt;https://evil.example|Click&gt; a&amp;lt;b"
RAW_MARKUP = ("<!channel>", "<!here>", "<@U123ABC>", "<https://evil.example", "a&lt;b")
# fields Slack parses for markup / entities: they must carry data escaped
PARSED = {"text", "alt_text", "fallback", "pretext", "title", "footer"}
# fields Slack shows raw or not at all (ids, button values, an input's initial value,
# metadata, routing): data may sit there as it is
RAW = {"type", "action_id", "block_id", "value", "style", "initial_value", "private_metadata",
       "callback_id", "channel", "ts", "user", "user_id", "response_type", "trigger_id",
       "initial_conversation", "external_id", "hash", "view_id", "thread_ts", "url",
       "unfurl_links", "unfurl_media", "replace_original", "delete_original", "emoji",
       "verbatim", "multiline", "optional", "submit_disabled", "clear_on_close",
       "notify_on_close", "default_to_current_conversation", "token", "max_length",
       "dispatch_action", "mrkdwn", "reply_broadcast", "as_user", "link_names", "parse",
       "icon_emoji", "icon_url", "username", "metadata", "response_action", "team_id"}


def _now_iso(hours_ago: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed(client: Any) -> None:
    """A helper whose id, name and description hold markup, and failed runs of it."""
    from dynamo import demo

    client.put_item(TableName="mfh-dev-helpers", Item={
        "helper_id": {"S": HELPER_ID}, "account_id": {"S": demo.DEMO_ACCOUNT_ID},
        "name": {"S": HOSTILE}, "description": {"S": f"about {HOSTILE}"},
        "helper_type": {"S": "tag_contact"}, "category": {"S": HOSTILE},
        "status": {"S": "active"}, "enabled": {"BOOL": True}, HOSTILE: {"S": HOSTILE},
        "created_at": {"S": _now_iso(48)}, "updated_at": {"S": _now_iso(48)}})
    for n in range(3):
        client.put_item(TableName="mfh-dev-executions", Item={
            "execution_id": {"S": f"exec-markup-{n} {HOSTILE}"},
            "account_id": {"S": demo.DEMO_ACCOUNT_ID}, "helper_id": {"S": HELPER_ID},
            "status": {"S": "failed"}, "created_at": {"S": _now_iso(1 + n)},
            "error_message": {"S": f"failed: {HOSTILE}"}})


def _fields(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, field name, string) for every string anywhere in a payload."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str):
                yield f"{path}.{k}", k, v
            else:
                yield from _fields(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, str):
                yield f"{path}[{i}]", "", v
            else:
                yield from _fields(v, f"{path}[{i}]")


def _walk(calls: list[Any]) -> tuple[list[str], int]:
    """Every unescaped piece of data markup in a parsed field, and how many parsed fields
    held the data at all (escaped)."""
    bad: list[str] = []
    held = 0
    for call in calls:
        if call.path == "/api/auth.test":
            continue
        for where, name, text in _fields(call.body):
            if name in RAW:
                continue
            assert name in PARSED, f"{call.path}{where}: unclassified field {name!r}"
            bad += [f"{call.path}{where}: {piece!r} in {text[:300]!r}"
                    for piece in RAW_MARKUP if piece in text]
            held += "&lt;!channel&gt;" in text or "a&amp;lt;b" in text
    return bad, held


@pytest.fixture
def mbot(make_bot: Any, tmp_path: Path) -> Any:
    policy = tmp_path / "policy.yml"
    policy.write_text("break_glass: [U_ONCALL]\n")
    bot = make_bot(ddb_bot_policy_file=str(policy), ddb_bot_approval_channel="C_APPROVALS",
                   ddb_bot_approvers=["U_BOB", "U_CAROL"], ddb_bot_digest_channel="C_DIGEST")
    _seed(bot.services.client)
    return bot


def _answer(bot: Any, n: int) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", n)[n - 1].body


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _event(bot: Any, event: dict[str, Any]) -> Any:
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event}
    return bot.sender.post(json.dumps(body), content_type="application/json")


def _settle(bot: Any) -> None:
    assert bot.services.work.wait_idle(10)


def test_data_never_becomes_markup_in_any_payload(mbot: Any) -> None:
    bot = mbot
    quoted = json.dumps(HELPER_ID)  # the key typed in quotes; the signed client escapes it

    def slash(text: str, user: str = "U_ALICE") -> None:
        assert bot.sender.slash(text, user=user).status == 200
        _settle(bot)

    # reads: the card (and its Show JSON), a list, a pasted CLI read, an error echoing the key
    slash(f"get helpers {quoted}")
    card = _answer(bot, 1)
    assert "Show JSON" in json.dumps(card)
    assert bot.sender.click(ids.SHOW_JSON, _buttons(card)[ids.SHOW_JSON]).status == 200
    _answer(bot, 2)
    assert bot.sender.click(ids.REQUEST_CHANGE, _buttons(card)[ids.REQUEST_CHANGE]).status == 200
    modal = bot.slack.wait_for("/api/views.open")[0].body["view"]
    assert HELPER_ID in json.dumps(modal)  # the key prefilled raw: an input shows it as is
    slash("scan helpers --limit 100")
    slash("helper-executions " + quoted)
    slash(f"aws dynamodb get-item --table-name mfh-dev-helpers --key "
          f"'{json.dumps({'helper_id': {'S': HELPER_ID}})}' --output text")
    slash(f"get helpers {json.dumps('nope ' + HOSTILE)}")

    # a request: ack, approval post, rejection with a reason that is markup too, the DM
    slash(f"update helpers {quoted} set description={json.dumps(HOSTILE)}")
    post = bot.slack.wait_for("/api/chat.postMessage",
                              where=lambda c: c.body.get("channel") == "C_APPROVALS")[0].body
    rid = _buttons(post)[ids.APPROVE]
    slash("pending", user="U_BOB")
    assert _event(bot, {"type": "app_home_opened", "user": "U_BOB", "channel": "D_HOME",
                        "tab": "home", "event_ts": str(time.time())}).status == 200
    bot.slack.wait_for("/api/views.publish")
    slash(f"reject {rid} {HOSTILE}", user="U_BOB")
    bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body.get("channel") == "U_ALICE")

    # a second request approved: the executed message and its DM
    slash(f"update helpers {quoted} set name={json.dumps(HOSTILE + ' 2')}")
    second = bot.slack.wait_for("/api/chat.postMessage", 2,
                                where=lambda c: c.body.get("channel") == "C_APPROVALS")[1].body
    assert bot.sender.click(ids.APPROVE, _buttons(second)[ids.APPROVE], user="U_CAROL",
                            channel="C_APPROVALS").status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in json.dumps(c.body))
    bot.slack.wait_for("/api/chat.postMessage", 2, where=lambda c: c.body.get("channel") == "U_ALICE")

    # break-glass by the on-call, with a reason holding markup: the loud post, the lists
    slash(f"update helpers {quoted} set enabled=false --break-glass {json.dumps(HOSTILE)}",
          user="U_ONCALL")
    bot.slack.wait_for("/api/chat.postMessage", 3,
                       where=lambda c: c.body.get("channel") == "C_APPROVALS")
    slash("history --limit 20", user="U_BOB")
    slash("pending", user="U_BOB")
    assert _event(bot, {"type": "app_home_opened", "user": "U_BOB", "channel": "D_HOME",
                        "tab": "home", "event_ts": str(time.time())}).status == 200
    bot.slack.wait_for("/api/views.publish", 2)

    # the digest: asked for, and the scheduled post
    slash("digest --since 8d")
    from bot.scheduler import digest_tick

    digest_tick(bot.services, bot.app.client)
    bot.slack.wait_for("/api/chat.postMessage", where=lambda c: c.body.get("channel") == "C_DIGEST")
    _settle(bot)

    bad, held = _walk(list(bot.slack.calls))
    assert not bad, "\n".join(bad[:80])
    assert held >= 20  # the data was shown, escaped, in many places (not just left out)
