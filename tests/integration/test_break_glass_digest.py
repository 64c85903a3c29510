"""The daily digest lists executed break-glass changes that wait for a review, and is still
posted exactly once per window; ``/ddb digest`` and the CLI dry run show the same section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.messaging.client import web_client
from bot.render.digest import digest_lines, render_digest
from bot.scheduler import digest_tick
from commands import dispatch
from commands.digest import DigestResult
from dynamo.aws import dynamodb_client
from testkit import REGION, race
from testkit.fake_slack import FakeSlack
from tests.integration import digest_data as data

CHANNEL = "C_DIGEST"
PUT = ('put platforms {"platform_id":"plat-0100","name":"Pipedrive","slug":"pipedrive"} '
       '--break-glass "INC-9: partner launch"')


def _replica(ddb: Any, slack: FakeSlack, tmp_path: Path, own_client: bool = False) -> Any:
    from bot.config import load_settings
    from bot.services import Services

    policy = tmp_path / "policy.yml"
    policy.write_text("break_glass: [U_ONCALL]\n")
    settings = load_settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url,
                             ddb_bot_digest_channel=CHANNEL, ddb_bot_digest_cron=data.CRON,
                             ddb_bot_policy_file=str(policy))
    services = Services.build(settings, dynamodb_client(REGION) if own_client else ddb)
    return services, web_client(services)


def test_the_digest_has_a_review_section_and_is_posted_once(ddb: Any, slack: FakeSlack,
                                                            tmp_path: Path) -> None:
    data.seed(ddb)
    a, b = _replica(ddb, slack, tmp_path, True), _replica(ddb, slack, tmp_path, True)
    rid = dispatch(PUT, a[0].context("U_ONCALL", "C_OPS")).id
    outcomes = race(2, lambda i: digest_tick(*(a, b)[i], now=data.NOW))
    posts = slack.find("/api/chat.postMessage")
    assert len(posts) == 1 and len(outcomes) == 2
    text = json.dumps(posts[0].body, ensure_ascii=False)
    assert "Tagger" in text  # the failed executions are still there
    assert "Break-glass changes waiting for review: 1" in text
    assert rid in text and "<@U_ONCALL>" in text and "INC-9: partner launch" in text
    assert "break-glass change(s) wait for review" in posts[0].body["text"]  # the notification
    assert digest_tick(*b, now=data.NOW)[0].endswith("elsewhere")
    assert len(slack.find("/api/chat.postMessage")) == 1


def test_digest_command_and_console_show_the_section_until_reviewed(ddb: Any, slack: FakeSlack,
                                                                  tmp_path: Path) -> None:
    services, _ = _replica(ddb, slack, tmp_path)
    rid = dispatch(PUT, services.context("U_ONCALL", "C_OPS")).id
    result = dispatch("digest --since 24h", services.context("U_BOB", "C_OPS"))
    assert isinstance(result, DigestResult) and [r.id for r in result.reviews] == [rid]
    assert result.digest.failed == 0  # a clean window still lists what needs review
    lines = "\n".join(digest_lines(result))
    assert "No failed executions" in lines and "Break-glass changes waiting for review: 1" in lines
    assert rid in lines and "@U_ONCALL" in lines and "INC-9: partner launch" in lines
    assert rid in json.dumps(render_digest(result))
    assert dispatch(f"review {rid}", services.context("U_BOB", "C_OPS")).event == "reviewed"
    after = dispatch("digest --since 24h", services.context("U_BOB", "C_OPS"))
    assert after.reviews == []
    assert "Break-glass" not in json.dumps(render_digest(after))
    assert "Break-glass" not in "\n".join(digest_lines(after))
