"""End to end: a write is judged by what it does, through signed Slack requests (issue 18,
attack 5). With ``users: {delete: {approvals: 2}}`` a put that replaces a user with its key
alone, or an update that removes every attribute, empties the item; one approval used to
be enough. Now each needs the delete rule's two, and the first approval writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.render import ids
from dynamo import demo

USER_KEY = {"user_id": {"S": demo.DEMO_USER_ID}}


@pytest.fixture
def pbot(make_bot: Any, tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {delete: {approvals: 2}}\n")
    return make_bot(ddb_bot_policy_file=str(path))


def _user(bot: Any) -> dict[str, Any] | None:
    return bot.services.client.get_item(TableName="mfh-dev-users", Key=USER_KEY,
                                        ConsistentRead=True).get("Item")


def _update_with(bot: Any, needle: str) -> dict[str, Any]:
    return bot.slack.wait_for("/api/chat.update",
                              where=lambda c: needle in json.dumps(c.body))[-1].body


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "")
            for b in msg.get("blocks", []) if b.get("type") == "actions" for el in b["elements"]}


def _empty_it(bot: Any, how: str) -> str:
    if how == "put --replace":
        return f'put users {{"user_id":"{demo.DEMO_USER_ID}"}} --replace'
    attrs = sorted(a for a in _user(bot) or {} if a != "user_id")
    return f"update users {demo.DEMO_USER_ID} remove {' '.join(attrs)}"


@pytest.mark.parametrize(("how", "effect"), [("put --replace", "replaces the item"),
                                             ("update remove everything", "removes attributes")])
def test_emptying_an_item_needs_the_delete_rule_and_the_first_approval_writes_nothing(
        pbot: Any, how: str, effect: str) -> None:
    before = _user(pbot)
    assert before is not None and len(before) > 3
    assert pbot.sender.slash(_empty_it(pbot, how), user="U_ALICE").status == 200
    posted = pbot.slack.wait_for("/api/chat.postMessage", where=lambda c: str(
        c.body.get("channel", "")).startswith("C"))[-1].body
    rid = _buttons(posted)[ids.APPROVE]
    assert (f"Needs 2 approvals from distinct people, not the requester (approval policy: "
            f"{effect}, judged as delete)") in json.dumps(posted)

    pbot.sender.click(ids.APPROVE, rid, user="U_BOB")
    partial = _update_with(pbot, "1 of 2 approvals")
    assert "1 of 2 approvals: <@U_BOB>" in json.dumps(partial)
    assert _buttons(partial)[ids.APPROVE] == rid  # still pending, still approvable
    assert pbot.services.work.wait_idle(10)
    assert _user(pbot) == before  # nothing written after one approval
    assert pbot.services.requests.get(rid).status.value == "PENDING"

    pbot.sender.click(ids.APPROVE, rid, user="U_CAROL")
    _update_with(pbot, "EXECUTED")
    assert pbot.services.work.wait_idle(10)  # the approvers' App Homes are refreshed too
    assert _user(pbot) == USER_KEY  # emptied only now, by two people
