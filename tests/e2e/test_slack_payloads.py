"""Real Slack payload shapes (``tests/fixtures/slack/*.json``, each naming its source:
Slack's docs or Bolt's own tests), filled with our command / callback / action ids and
text written the way Slack writes it, signed and sent into the served app.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.render import ids
from bot.render.modals import ACTION
from dynamo import demo
from testkit import scan_all
from testkit.signed import in_workspace, rich_text, slack_escape, slack_format
from tests.e2e.conftest import approve_posted_helper_change

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text())
    assert data["_source"], name  # every fixture says where its shape comes from
    return in_workspace(copy.deepcopy(data))  # the bot serves its token's workspace only


def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _ok(msg: dict[str, Any]) -> bool:
    return ":warning:" not in _text(msg)


def test_every_fixture_names_its_source() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert names == ["block_actions.json", "message_shortcut_app_links.json",
                     "message_shortcut_bolt.json", "message_shortcut_docs.json",
                     "message_shortcut_links.json", "slash_command.json", "view_submission.json"]
    for name in names:
        source = fixture(name)["_source"]
        assert "docs" in source.lower() or "bolt" in source.lower(), name


def _slash(bot: Any, typed: str) -> Any:
    form = fixture("slash_command.json")["form"]
    form.update(command="/ddb", text=slack_escape(typed), response_url=bot.sender.response_url)
    return bot.sender.post(urlencode(form))


def test_slash_command_payload_from_slacks_docs(bot: Any) -> None:
    typed = "query executions account_id=acct-0001 created_at >= 2026-01-01 --desc --limit 5"
    assert _slash(bot, typed).status == 200
    msg = bot.slack.wait_for("/response/")[0].body
    assert msg["response_type"] == "ephemeral" and _ok(msg) and "acct-0001" in _text(msg)


def test_block_actions_payload_from_bolt_pages_on(bot: Any) -> None:
    """A Next page click in Bolt's block_actions shape: the value comes back verbatim."""
    assert _slash(bot, "scan users --limit 5").status == 200
    first = bot.slack.wait_for("/response/")[0].body
    view = next(el["value"] for b in first["blocks"] if b.get("type") == "actions"
                for el in b["elements"] if el["action_id"] == ids.NEXT_PAGE)
    payload = fixture("block_actions.json")["payload"]
    payload["user"]["id"] = "U2147483697"  # the slash fixture's user ran the command
    payload["response_url"] = bot.sender.response_url
    payload["actions"][0].update(action_id=ids.NEXT_PAGE, value=view)
    assert bot.sender.interact(payload).status == 200
    second = bot.slack.wait_for("/response/", 2)[1].body
    assert second["replace_original"] is True and _ok(second)
    page1, page2 = (set(re.findall(r"user:[0-9a-f-]{36}", _text(
        [b for b in m["blocks"] if b["type"] != "actions"]))) for m in (first, second))
    assert page1 and page2 and not page1 & page2  # the page after, not the same one again


@pytest.mark.parametrize("name", ["message_shortcut_docs.json", "message_shortcut_bolt.json"])
def test_message_shortcut_payloads_with_formatted_links_and_mentions(bot: Any, name: str) -> None:
    payload = fixture(name)["payload"]
    typed = (f"ping @U0ALICE in #C0OPS: {demo.DEMO_EMAIL} & {demo.DEMO_ACCOUNT_ID} see "
             f"https://app.example.com/accounts/{demo.DEMO_ACCOUNT_ID}?tab=a&b=1")
    message = payload["message"]
    message["text"] += " " + slack_format(typed)
    if message.get("blocks"):  # Bolt's shape: the rich_text block grows with the text
        section = message["blocks"][0]["elements"][0]["elements"]
        section += rich_text(" " + typed)[0]["elements"][0]["elements"]
    payload.update(callback_id=ids.LOOKUP_SHORTCUT, response_url=bot.sender.response_url)
    assert "&amp;" in message["text"] and "<mailto:" in message["text"]
    assert bot.sender.interact(payload).status == 200
    reply = bot.slack.wait_for("/api/chat.postMessage")[0].body
    assert reply["channel"] == payload["channel"]["id"]
    assert reply["thread_ts"] == message["ts"]
    body = _text(reply)
    assert demo.DEMO_USER_ID in body and demo.DEMO_ACCOUNT_ID in body  # email → user, account
    assert "mailto" not in body and "&amp;amp;" not in body


def test_view_submission_payload_from_bolt_with_raw_input(make_bot: Any) -> None:
    """The change modal submitted in Bolt's view_submission shape: input values are raw."""
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    before = scan_all(bot.services.client)
    payload = fixture("view_submission.json")["payload"]
    view = payload["view"]
    view.update(callback_id=ids.CHANGE_MODAL, private_metadata="{}")
    view["state"]["values"] = {
        "table": {ACTION["table"]: {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "helpers"}, "value": "helpers"}}},
        "key": {ACTION["key"]: {"type": "plain_text_input", "value": demo.DEMO_HELPER_ID}},
        "set": {ACTION["set"]: {"type": "plain_text_input",
                                "value": "description=R&D <beta> &amp; co"}},
        "remove": {ACTION["remove"]: {"type": "plain_text_input", "value": None}},
    }
    assert bot.sender.interact(payload).status == 200
    _, changed = approve_posted_helper_change(bot, before)
    assert changed["description"] == {"S": "R&D <beta> &amp; co"}  # exactly as typed
