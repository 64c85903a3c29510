"""Issue 18 (attacks 2 and 3) and issue 19's NextToken, through the signed Slack path.

Signed slash commands and button clicks go into the served app; the fake Slack records
every payload the bot sends. Secrets stored under names nobody declared (an OAuth
``client_secret`` in ``platforms.oauth``, ``password`` / ``apiKey`` / ``private_key`` in a
helper's ``config``, a top-level ``password``) never appear in any of them, and cannot be
tested through a filter; a JSON answer's ``NextToken`` is shown whole so the answer can be
continued; and a stored value built to make the old masker rescan (``a.a.a…://``) is read
as quickly as any other.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.render import ids
from dynamo import demo
from dynamo.store import serialize_item

PLATFORMS, HELPERS = "mfh-dev-platforms", "mfh-dev-helpers"
SECRETS = ("Zq8vTn4PqXw2Rt", "Top5Pw7Kd2Lm", "Hp9Pw2Lx7Qs", "Hk3Ak8Vb1Zn", "Hpk4Pk6Jm9Tr")
KEY = json.dumps({"platform_id": {"S": "plat-secret"}})


@pytest.fixture
def world(bot: Any) -> Any:
    client = bot.services.client
    client.put_item(TableName=PLATFORMS, Item=serialize_item({
        "platform_id": "plat-secret", "name": "Secretive CRM", "slug": "secretive",
        "oauth": {"client_id": "cid-visible-4711", "client_secret": SECRETS[0]},
        "password": SECRETS[1], "logo": b"\x89PNG\r\n"}))
    client.put_item(TableName=HELPERS, Item=serialize_item({
        "helper_id": "helper-secret", "account_id": demo.DEMO_ACCOUNT_ID, "name": "Secret helper",
        "config": {"field": "email", "password": SECRETS[2], "apiKey": SECRETS[3],
                   "private_key": SECRETS[4]}}))
    return bot


def _everything(bot: Any) -> str:
    """Every payload the bot sent to Slack so far (Web API calls and response_url posts)."""
    return json.dumps([c.body for c in bot.slack.find("/")], ensure_ascii=False)


def _answers(bot: Any, n: int) -> list[dict[str, Any]]:
    return [c.body for c in bot.slack.wait_for("/response/", n)]


def test_secrets_by_name_never_reach_slack(world: Any) -> None:
    commands = [
        "get platforms plat-secret",
        "get helpers helper-secret",
        f"aws dynamodb get-item --table-name {PLATFORMS} --key '{KEY}' "
        "--query Item.oauth.M.client_secret.S",
        f"aws dynamodb get-item --table-name {PLATFORMS} --key '{KEY}' --query Item --output text",
        f"aws dynamodb scan --table-name {HELPERS} --query 'Items[].config' --share",
        f"query helpers account_id={demo.DEMO_ACCOUNT_ID}",
    ]
    for n, text in enumerate(commands, 1):
        assert world.sender.slash(text, user="U_READER").status == 200
        _answers(world, n)
    # "Show JSON" on the helper's card (a button click, answered through response_url)
    card = _answers(world, len(commands))[1]
    view = next(el["value"] for b in card.get("blocks", []) if b.get("type") == "actions"
                for el in b["elements"] if el.get("action_id") == ids.SHOW_JSON)
    assert world.sender.click(ids.SHOW_JSON, view, user="U_READER").status == 200
    shown = _answers(world, len(commands) + 1)[-1]
    assert "[redacted]" in json.dumps(shown) and "cid-visible" not in json.dumps(shown)
    shared = _answers(world, len(commands))[4]
    assert shared.get("response_type") == "in_channel", shared  # --share: to the channel
    sent = _everything(world)
    assert not [s for s in SECRETS if s in sent]
    assert "[redacted]" in sent and "cid-visible-4711" in sent and "&lt;binary, 6 bytes&gt;" in sent


def test_a_secret_by_name_cannot_be_tested_through_slack(world: Any) -> None:
    calls: list[str] = []
    world.services.client.meta.events.register("before-call.dynamodb.*",
                                               lambda model, **_: calls.append(model.name))
    world.sender.slash("count platforms --exact --filter \"begins_with(oauth.client_secret, 'Zq8')\"",
                       user="U_READER")
    answer = json.dumps(_answers(world, 1)[0])
    assert "`client_secret`" in answer and "Nothing was read" in answer, answer
    assert "1 items" not in answer and calls == []


def test_next_token_is_shown_whole_and_continues(world: Any) -> None:
    scan = f"aws dynamodb scan --table-name {HELPERS} --max-items 2 --output json"
    world.sender.slash(scan, user="U_READER")
    first = json.dumps(_answers(world, 1)[0])
    assert "[masked credential]" not in first
    expected = world.services.client.get_paginator("scan").paginate(
        TableName=HELPERS, PaginationConfig={"MaxItems": 2}).build_full_result()["NextToken"]
    assert f'\\"NextToken\\": \\"{expected}\\"' in first
    world.sender.slash(f"{scan} --starting-token {expected}", user="U_READER")
    second = json.dumps(_answers(world, 2)[1])
    assert "Items" in second and "is not a NextToken" not in second, second


def test_a_value_built_to_make_the_masker_rescan_is_read_promptly(world: Any) -> None:
    """A stored 300 KB ``error_message`` of ``a.a.a…://`` (the issue's shape): the old
    masker rescanned to the end from every word start (minutes for this item); a reader's
    ``get`` now answers as any other (the usual ten seconds the fake Slack waits at most)."""
    world.services.client.put_item(TableName="mfh-dev-executions", Item=serialize_item({
        "execution_id": "exec-slow", "helper_id": "helper-secret", "status": "failed",
        "error_message": "a." * 150_000 + "://", "input": {"note": "awspass" * 2_000}}))
    world.sender.slash("get executions exec-slow", user="U_READER")
    answer = json.dumps(world.slack.wait_for("/response/", 1, timeout=10)[0].body)
    assert "exec-slow" in answer
