"""Bounded cost through the signed Slack path (issue 18, attack 1 and 9).

Before, ``/ddb aws dynamodb scan … --query 'Items[0].helper_id | [@,@] | …'`` with twenty
pipes took a minute and 233 MB per command, and twenty of them made another person's
``/ddb tables`` wait 43 s. Now each answers at once with the limit it passed, and the
other person is served as usual.
"""

from __future__ import annotations

import json
from typing import Any

from commands.awscli.jmespath_budget import MAX_QUERY_SIZE
from testkit.signed import SlackSender
from tests.e2e.conftest import SIGNING_SECRET

DOUBLING = "Items[0].helper_id" + " | [@,@]" * 20
SCAN = f"aws dynamodb scan --table-name mfh-dev-helpers --max-items 1 --query '{DOUBLING}'"


def test_the_doubling_query_answers_with_the_limit_and_others_are_still_served(
        bot: Any) -> None:
    other = SlackSender(f"http://127.0.0.1:{bot.port}", SIGNING_SECRET,
                        bot.slack.response_url("bob"))
    for _ in range(4):  # one reader, sending it again and again
        assert bot.sender.slash(SCAN, user="U_ALICE").status == 200
    assert other.slash("tables", user="U_BOB").status == 200

    tables = json.dumps(bot.slack.wait_for("/response/bob")[0].body)
    assert "platform-connection-auths" in tables and "ACTIVE" in tables
    answers = [json.dumps(c.body) for c in bot.slack.wait_for("/response/r1", count=4)]
    for answer in answers:
        assert "--query is too costly" in answer and f"{MAX_QUERY_SIZE:,}" in answer, answer
        assert "internal error" not in answer


def test_a_jmespath_type_error_is_a_clear_answer(bot: Any) -> None:
    """Attack 9: ``>`` between a string and a number was "internal error (ref …)"."""
    bot.sender.slash("aws dynamodb scan --table-name mfh-dev-helpers --max-items 2 "
                     "--query 'Items[?helper_id.S > `1`]'")
    answer = json.dumps(bot.slack.wait_for("/response/")[0].body)
    assert "compares a string" in answer and "with a number (1)" in answer, answer
    assert "internal error" not in answer
