"""README's examples typed into Slack: the text arrives as Slack sends it (escaped,
formatted, pasted with odd spaces and fences) and the answer is what was asked for.

``bot.sender.slash`` escapes ``& < >`` like Slack; ``should_escape=True`` also marks up
mentions, emails and links (the command setting our manifest leaves off).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.render import ids
from commands import dispatch
from commands.registry import REGISTRY
from commands.results import ErrorResult
from dynamo import demo
from testkit import scan_all
from testkit.signed import slack_escape, slack_format
from tests.e2e.conftest import approve_posted_helper_change

README = Path(__file__).resolve().parents[2] / "README.md"
EMAIL_QUERY = ("aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex "
               "--key-condition-expression \"email = :e\" "
               "--expression-attribute-values '{\":e\":{\"S\":\"%s\"}}' --region us-west-2")


def _answer(bot: Any, n: int = 1) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", n)[n - 1].body


def _text(msg: dict[str, Any]) -> str:
    return json.dumps(msg, ensure_ascii=False)


def _ok(msg: dict[str, Any]) -> bool:
    return ":warning:" not in _text(msg)


# break-glass examples need a policy member: tests/e2e/test_break_glass.py sends them as Slack does
_NOT_RUNNABLE = r"<\w[\w-]*>|\[|\||\.\.\.|…|approve R|undo R|--break-glass"


def readme_examples() -> list[str]:
    """Every ``/ddb`` command in README — code blocks and inline code — that runs as
    written on the demo data (usage lines with ``<placeholders>``, ``[options]``,
    alternatives or ``...`` are not commands)."""
    out: list[str] = []
    fenced = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        cmds = ([line.removeprefix("ddb> ").split("   #")[0].strip()] if fenced
                else re.findall(r"`(/ddb [^`]+)`", line))
        out += [c.removeprefix("/ddb ") for c in cmds
                if c.startswith("/ddb ") and not re.search(_NOT_RUNNABLE, c)]
    # an inline mention of a bare subcommand that needs arguments (`/ddb get`) is prose
    return [c for c in dict.fromkeys(out)
            if " " in c or "<" not in REGISTRY[c].usage.split(" ", 2)[-1]]


def test_readme_has_the_examples_this_file_relies_on() -> None:
    examples = readme_examples()
    assert "query executions account_id=acct-0001 created_at >= 2026-01-01 --desc --limit 5" in (
        examples)
    assert any(e.startswith("aws dynamodb query") for e in examples)
    assert any(e.startswith("update helpers") for e in examples)
    assert len(examples) >= 7


@pytest.mark.parametrize("typed", readme_examples())
def test_every_readme_example_works_as_slack_sends_it(bot: Any, typed: str) -> None:
    sent = slack_escape(typed)
    assert bot.sender.slash(typed).status == 200
    msg = _answer(bot)
    assert _ok(msg), (sent, _text(msg))
    if sent != typed:  # without the edge normalisation the escaped text is an error
        raw = dispatch(sent, bot.services.context("U_ALICE", "C_OPS"))
        assert isinstance(raw, ErrorResult), raw


def test_query_with_greater_or_equal_answers_the_items_in_range(bot: Any) -> None:
    typed = "query executions account_id=acct-0001 created_at >= 2026-01-01 --desc --limit 5"
    assert bot.sender.slash(typed).status == 200
    msg = _answer(bot)
    text = _text(msg)
    assert _ok(msg) and "acct-0001" in text
    dates = re.findall(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert dates and all(d >= "2026-01-01" for d in dates)
    assert dates == sorted(dates, reverse=True)  # --desc
    # the same query with "<" finds nothing newer than the bound
    assert bot.sender.slash("query executions account_id=acct-0001 created_at < 2000-01-01"
                            ).status == 200
    assert "No items found" in _text(_answer(bot, 2))


def test_pasted_key_condition_with_comparisons(bot: Any) -> None:
    base = ("aws dynamodb query --table-name mfh-dev-executions --index-name "
            "AccountIdCreatedAtIndex --key-condition-expression "
            "\"account_id = :a AND created_at {op} :t\" --expression-attribute-values "
            "'{{\":a\":{{\"S\":\"acct-0001\"}},\":t\":{{\"S\":\"2000-01-01\"}}}}'")
    for n, (op, found) in enumerate([(">=", True), (">", True), ("<", False), ("<=", False)], 1):
        assert bot.sender.slash(base.format(op=op)).status == 200
        msg = _answer(bot, n)
        assert _ok(msg), (op, _text(msg))
        assert ("acct-0001" in _text(msg)) is found, op


def test_pasted_values_with_ampersand_and_angle_brackets_match(bot: Any, ddb: Any) -> None:
    for pid, name in (("plat-amp", "Salt & Pepper <beta>"), ("plat-lit", "a &lt; b")):
        ddb.put_item(TableName="mfh-dev-platforms", Item={
            "platform_id": {"S": pid}, "name": {"S": name}, "slug": {"S": pid}})
    scan = ("aws dynamodb scan --table-name mfh-dev-platforms --filter-expression \"#n = :n\" "
            "--expression-attribute-names '{\"#n\":\"name\"}' "
            "--expression-attribute-values '{\":n\":{\"S\":\"%s\"}}'")
    assert bot.sender.slash(scan % "Salt & Pepper <beta>").status == 200
    first = _text(_answer(bot, 1))
    assert "plat-amp" in first and "plat-lit" not in first
    # a typed "&lt;" is text, not an entity: Slack sends "&amp;lt;", decoded once
    assert bot.sender.slash(scan % "a &lt; b").status == 200
    second = _text(_answer(bot, 2))
    assert "plat-lit" in second and "plat-amp" not in second
    assert bot.sender.slash("scan platforms --filter \"name = 'Salt & Pepper <beta>'\"").status == 200
    third = _text(_answer(bot, 3))
    assert "plat-amp" in third and "plat-lit" not in third


def test_email_with_ampersand_found_by_user_and_pasted_query(bot: Any, ddb: Any) -> None:
    ddb.put_item(TableName="mfh-dev-users", Item={
        "user_id": {"S": "user:amp"}, "email": {"S": "o&neil@example.com"},
        "cognito_user_id": {"S": "sub-amp"}})
    assert bot.sender.slash("user o&neil@example.com").status == 200
    assert "user:amp" in _text(_answer(bot, 1))
    assert bot.sender.slash(EMAIL_QUERY % "o&neil@example.com", should_escape=True).status == 200
    assert "user:amp" in _text(_answer(bot, 2))


@pytest.mark.parametrize("should_escape", [False, True])
def test_readme_email_examples_with_either_escaping_setting(bot: Any, should_escape: bool) -> None:
    """With "Escape channels, users, and links" on, the email arrives as ``<mailto:…|…>``."""
    assert "mailto:" in slack_format(f"user {demo.DEMO_EMAIL}")
    assert bot.sender.slash(f"user {demo.DEMO_EMAIL}", should_escape=should_escape).status == 200
    assert demo.DEMO_USER_ID in _text(_answer(bot, 1))
    assert bot.sender.slash(EMAIL_QUERY % demo.DEMO_EMAIL,
                            should_escape=should_escape).status == 200
    assert demo.DEMO_USER_ID in _text(_answer(bot, 2))


def test_code_fenced_paste_with_non_breaking_spaces(bot: Any) -> None:
    key = json.dumps({"user_id": {"S": demo.DEMO_USER_ID}}, separators=(",", ":"))
    typed = f"```aws\u00a0dynamodb\u00a0get-item --table-name mfh-dev-users --key '{key}'```"
    assert bot.sender.slash(typed).status == 200
    msg = _answer(bot)
    assert _ok(msg) and demo.DEMO_USER_ID in _text(msg) and "unknown subcommand" not in _text(msg)


def test_multi_line_paste_with_continuations_zero_width_spaces_and_smart_quotes(bot: Any) -> None:
    typed = ("```\naws dynamodb scan \\\n  --table-name mfh-dev-helpers \\\n"
             "  --filter-expression \u201cenabled = :f\u201d\u200b \\\n"
             "  --expression-attribute-values \u2018{\":f\":{\"BOOL\":false}}\u2019\n```")
    assert bot.sender.slash(typed).status == 200
    msg = _answer(bot)
    text = _text(msg)
    assert _ok(msg), text
    assert "helper-" in text and '"enabled": true' not in text


def test_single_backticks_around_a_command(bot: Any) -> None:
    assert bot.sender.slash(f"`user {demo.DEMO_EMAIL}`").status == 200
    assert demo.DEMO_USER_ID in _text(_answer(bot))


def test_update_example_with_escaped_value_writes_the_typed_text(make_bot: Any) -> None:
    """A write's value arrives escaped; the request and the item hold what was typed."""
    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    typed = f"update helpers {demo.DEMO_HELPER_ID} set description='R&D <beta> &lt;x&gt;'"
    assert bot.sender.slash(typed).status == 200
    posted = bot.slack.wait_for("/api/chat.postMessage")[0].body
    request_id = next(el["value"] for b in posted["blocks"] if b.get("type") == "actions"
                      for el in b["elements"] if el["action_id"] == ids.APPROVE)
    assert bot.sender.click(ids.APPROVE, request_id, user="U_BOB",
                            channel="C_APPROVALS").status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in _text(c.body))
    item = bot.services.client.get_item(TableName="mfh-dev-helpers",
                                        Key={"helper_id": {"S": demo.DEMO_HELPER_ID}})["Item"]
    assert item["description"] == {"S": "R&D <beta> &lt;x&gt;"}


def test_modal_input_arrives_raw_and_is_not_decoded(make_bot: Any) -> None:
    """plain_text_input values are not escaped by Slack, so a typed ``&amp;`` stays."""
    from bot.render.modals import ACTION

    bot = make_bot(ddb_bot_approval_channel="C_APPROVALS")
    before = scan_all(bot.services.client)
    values = {
        "table": {ACTION["table"]: {"type": "static_select",
                                    "selected_option": {"value": "helpers"}}},
        "key": {ACTION["key"]: {"type": "plain_text_input",
                                "value": f"\u00a0{demo.DEMO_HELPER_ID}\u200b"}},
        "set": {ACTION["set"]: {"type": "plain_text_input", "value": "description=Q&amp;A"}},
        "remove": {ACTION["remove"]: {"type": "plain_text_input", "value": None}},
    }
    resp = bot.sender.interact({
        "type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
        "user": {"id": "U_ALICE", "username": "u_alice", "team_id": "T1"},
        "trigger_id": "t", "view": {"id": "V1", "type": "modal", "callback_id": ids.CHANGE_MODAL,
                                    "private_metadata": "{}", "state": {"values": values}}})
    assert resp.status == 200 and resp.body == ""  # accepted: no field errors
    posted, changed = approve_posted_helper_change(bot, before)
    assert "Q&amp;amp;A" in _text(posted)  # the raw "Q&amp;A", escaped once for Slack
    assert changed["description"] == {"S": "Q&amp;A"}
