"""The inbound normalisation at the Slack edge (``bot.listeners.inbound``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.listeners.inbound import clean_paste, command_text, from_slack, message_text
from bot.render.text import console_markup
from testkit.signed import rich_text, slack_escape, slack_format


@pytest.mark.parametrize(("sent", "meant"), [
    ("created_at &gt;= 2026-01-01", "created_at >= 2026-01-01"),
    ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
    # decoded exactly once: a typed "&lt;" arrives as "&amp;lt;" and stays "&lt;"
    ("&amp;lt;", "&lt;"),
    ("&amp;amp;", "&amp;"),
    ("&amp;gt;=", "&gt;="),
    # other entities are not Slack's: left alone
    ("&quot;x&quot; &#39;", "&quot;x&quot; &#39;"),
    ("<mailto:ada@example.com|ada@example.com>", "ada@example.com"),
    ("<https://example.com/a?b=1&amp;c=2|the docs>", "https://example.com/a?b=1&c=2"),
    ("<https://example.com>", "https://example.com"),
    ("<@U123ABC>", "U123ABC"),
    ("<@U123ABC|ada>", "U123ABC"),
    ("<#C0OPS|ops>", "C0OPS"),
    ("<#C0OPS>", "C0OPS"),
    ("<!subteam^S0TEAM|@oncall>", "S0TEAM"),
    ("<!here>", "@here"),
    ("<!channel|channel>", "@channel"),
    ("<!date^1700000000^{date_short}|Nov 14, 2023>", "Nov 14, 2023"),
    ("<!date^1392734382^Posted {date_num} {time_secs}|Posted 2014-02-18 6:39:42 AM PST>",
     "Posted 2014-02-18 6:39:42 AM PST"),
    ("user <mailto:a&amp;b@example.com|a&amp;b@example.com> now", "user a&b@example.com now"),
    # only Slack's markup shapes are unwrapped: unescaped text from elsewhere stays
    ("a < b and c > d", "a < b and c > d"),
    ("<beta>", "<beta>"),
    ("<a b>", "<a b>"),
])
def test_from_slack(sent: str, meant: str) -> None:
    assert from_slack(sent) == meant


@given(st.text(alphabet=st.sampled_from(list("ab&<>;|@#ltgamp :/.")), max_size=40))
def test_escaped_text_decodes_back_to_what_was_typed(typed: str) -> None:
    """Whatever a person types, Slack's escaping then ours gives it back unchanged."""
    assert from_slack(slack_escape(typed)) == typed


@pytest.mark.parametrize(("sent", "meant"), [
    ("get\u00a0users\u00a0user:1", "get users user:1"),
    ("get\u202fusers \u2007x", "get users  x"),
    ("get users\u200b user:1\u2060\ufeff", "get users user:1"),
    ("```aws dynamodb get-item --table-name t```", "aws dynamodb get-item --table-name t"),
    ("```\naws dynamodb scan\n  --table-name t\n```", "aws dynamodb scan\n  --table-name t"),
    ("```bash\naws dynamodb scan --table-name t\n```", "aws dynamodb scan --table-name t"),
    ("`get users user:1`", "get users user:1"),
    ("  `get users user:1`  ", "get users user:1"),
    # not surrounding: inner backticks are the command's own
    ("`a` and `b`", "`a` and `b`"),
    ("get users `user:1`", "get users `user:1`"),
    ("aws dynamodb scan \\\n  --table-name t \\\n  --limit 2", "aws dynamodb scan --table-name t --limit 2"),
    ("aws dynamodb scan \\\r\n --table-name t", "aws dynamodb scan --table-name t"),
    ("“smart” ‘quotes’", "“smart” ‘quotes’"),  # tokenize() reads these, as before
    ("```", "```"),
    ("", ""),
])
def test_clean_paste(sent: str, meant: str) -> None:
    assert clean_paste(sent) == meant


def test_clean_paste_never_decodes_entities() -> None:
    """Modal inputs arrive raw: a typed ``&lt;`` must stay ``&lt;``."""
    assert clean_paste("note=a &lt; b & c") == "note=a &lt; b & c"


def test_command_text_a_fenced_paste_with_nbsp_and_escapes() -> None:
    typed = ("```aws\u00a0dynamodb query --table-name mfh-dev-executions "
             "--key-condition-expression \"account_id = :a AND created_at >= :t\"```")
    assert command_text(slack_escape(typed)) == (
        "aws dynamodb query --table-name mfh-dev-executions "
        "--key-condition-expression \"account_id = :a AND created_at >= :t\"")


def test_command_text_with_escaping_setting_on() -> None:
    typed = "user ada@example.com for @U0ALICE in #C0OPS see https://x.example/a?b=1&c=2"
    assert command_text(slack_format(typed)) == typed.replace("@U0ALICE", "U0ALICE").replace(
        "#C0OPS", "C0OPS")


def test_message_text_reads_text_blocks_and_attachments_once_decoded() -> None:
    typed = "ask @U0ADA about ada@example.com and acct-0001 (a < b & c)"
    message = {
        "text": slack_format(typed),
        "blocks": [*rich_text(typed),
                   {"type": "section", "text": {"type": "mrkdwn", "text": "x &amp;lt; y"}},
                   {"type": "header", "text": {"type": "plain_text", "text": "p &lt; q"}},
                   {"type": "actions", "elements": [{"type": "button", "value": "v &amp; w",
                                                     "text": {"type": "plain_text", "text": "B"}}]}],
        "attachments": [{"fallback": "f &gt; g", "title_link": "https://e.example/?a=1&b=2",
                         "fields": [{"title": "exec", "value": "<mailto:bo@example.com|bo>"}]}],
    }
    lines = message_text(message).split("\n")
    assert lines[0] == "ask U0ADA about ada@example.com and acct-0001 (a < b & c)"
    # rich_text elements arrive raw: their text is taken as is, the mention as its id
    assert "ask " in lines and "U0ADA" in lines and "ada@example.com" in lines
    assert " and acct-0001 (a < b & c)" in lines
    # mrkdwn decoded once; plain_text, button values and URLs raw
    assert "x &lt; y" in lines and "p &lt; q" in lines and "v &amp; w" in lines
    assert "f > g" in lines and "https://e.example/?a=1&b=2" in lines
    assert "bo bo@example.com" in lines  # a link's label as seen, then its address


def test_message_text_normalises_odd_spaces() -> None:
    assert message_text({"text": "acct-0001\u00a0and\u200bhelper-0001"}) == (
        "acct-0001 andhelper-0001")


@pytest.mark.parametrize(("markup", "shown"), [
    ("asked by <@U123>", "asked by @U123"),
    ("posted in <#C0OPS> and <#C1|ops>", "posted in #C0OPS and #C1"),
    ("tell <!subteam^S1>", "tell @S1"),
    ("at <!date^1700000000^{date_short_pretty}|1700000000>", "at 1700000000"),
    ("a < b and <not markup>", "a < b and <not markup>"),
])
def test_console_shows_mentions_plainly(markup: str, shown: str) -> None:
    assert console_markup(markup) == shown
