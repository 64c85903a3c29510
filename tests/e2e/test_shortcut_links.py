"""The "Look up in DynamoDB" shortcut sees what the person saw (issue 19, item 5).

Real message_action payloads (``tests/fixtures/slack/message_shortcut_*links.json``, each
naming its source), signed and sent into the served app: a link's label and the ids in
its URL's path are both looked up, once each; a ``mailto:`` link looks up the address
(masked in the thread); mentions, channels and user groups (and their labels) never are.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from bot.render import ids
from dynamo import demo
from testkit import scan_all
from testkit.signed import in_workspace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
_LINE = re.compile(r"^:(\w+): \*([^*]+)\* `([^`]+)`")


def _payload(name: str, bot: Any) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text())
    assert data["_source"]
    payload = in_workspace(copy.deepcopy(data["payload"]))  # the bot's own workspace only
    payload.update(callback_id=ids.LOOKUP_SHORTCUT, response_url=bot.sender.response_url)
    return payload


def _answered(bot: Any, payload: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The thread reply, and (icon, kind, identifier) of each of its lines, in order."""
    assert bot.sender.interact(payload).status == 200
    reply = bot.slack.wait_for("/api/chat.postMessage")[0].body
    assert reply["channel"] == payload["channel"]["id"]
    assert reply["thread_ts"] == payload["message"]["ts"]
    lines = []
    for block in reply["blocks"]:
        if block["type"] == "section":
            m = _LINE.match(block["text"]["text"])
            assert m, block["text"]["text"]
            lines.append((m.group(1), m.group(2), m.group(3)))
    return reply, lines


def test_a_persons_message_label_url_path_and_mailto_all_looked_up(bot: Any) -> None:
    """Composer message: ``text`` with labelled links plus the rich_text block."""
    before = scan_all(bot.services.client)
    reply, lines = _answered(bot, _payload("message_shortcut_links.json", bot))
    masked_email = "a***@example.com"
    assert [(kind, ident) for _, kind, ident in lines] == [
        ("helper", "helper-0007"),      # the label, and the URL's path: once
        ("email", masked_email),        # <mailto:ada@example.com|Ada Lovelace>
        ("account", "acct-0002"),       # ids in the path of "the failing run"
        ("helper", "helper-0003"),
    ]
    assert all(icon == "mag" for icon, _, _ in lines)  # each one found
    body = json.dumps(reply)
    assert demo.DEMO_USER_ID in body  # the email resolved to the user (users by EmailIndex)
    assert demo.DEMO_EMAIL not in body and "mailto" not in body  # PII masked in the thread
    assert "U0ALICE" not in body  # a mention is not an identifier
    assert "4 identifiers in this message" in body
    assert scan_all(bot.services.client) == before  # a lookup only reads


def test_an_apps_alert_label_and_attachment_link_looked_up_mentions_not(bot: Any) -> None:
    """Bot message: labelled links only in mrkdwn ``text`` and an attachment's title_link;
    mention, user-group and channel labels that look like ids are not looked up."""
    reply, lines = _answered(bot, _payload("message_shortcut_app_links.json", bot))
    assert [(icon, kind, ident) for icon, kind, ident in lines] == [
        ("mag", "helper", "helper-0007"), ("mag", "account", "acct-0003")]
    body = json.dumps(reply)
    for not_an_id in ("U0ONCALL", "S0HELPERS", "helper-team", "C0ACCT0001", "acct-0001",
                      "runbooks"):
        assert not_an_id not in body, not_an_id


def test_ephemeral_answer_shows_the_mailto_address_to_the_caller(make_bot: Any) -> None:
    bot = make_bot(ddb_bot_lookup_reply="ephemeral")
    assert bot.sender.interact(_payload("message_shortcut_links.json", bot)).status == 200
    answer = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert demo.DEMO_EMAIL in answer and "helper-0003" in answer and "acct-0002" in answer
