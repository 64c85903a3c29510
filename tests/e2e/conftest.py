"""The Bolt app served over real HTTP, a fake Slack Web API, and the DynamoDB of the engine
``DDB_TEST_ENGINE`` chooses (moto or DynamoDB Local, ``testkit.engine``) underneath."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.render import ids
from testkit.fake_slack import FakeSlack
from testkit.signed import SlackSender

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


@dataclass
class Bot:
    sender: SlackSender
    slack: FakeSlack
    services: Any
    app: Any
    port: int


@pytest.fixture
def make_bot(ddb: Any, seeded: Any, slack: FakeSlack) -> Iterator[Any]:
    """Build and serve a bot with extra settings; stops every server it started."""
    from bot.app import build_app
    from bot.config import load_settings
    from bot.server import start_http
    from bot.services import Services

    servers = []

    def make(**overrides: Any) -> Bot:
        settings = load_settings(
            slack_bot_token="xoxb-test-token", slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url, **overrides)
        services = Services.build(settings, ddb)
        app = build_app(services)
        server = start_http(app, "127.0.0.1", 0)
        servers.append(server)
        port = server.port
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack.response_url())
        return Bot(sender, slack, services, app, port)

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def bot(make_bot: Any) -> Bot:
    return make_bot()


def approve_posted_helper_change(bot: Any, before: dict[str, Any], channel: str = "C_APPROVALS",
                                 approver: str = "U_BOB") -> tuple[dict[str, Any], dict[str, Any]]:
    """Approve the request posted in ``channel`` as ``approver``, wait until it ran, and
    return (the posted request message, the one helper item the approval changed)."""
    from dynamo import demo
    from testkit import scan_all

    posted = bot.slack.wait_for("/api/chat.postMessage",
                                where=lambda c: c.body.get("channel") == channel)[0].body
    request_id = next(el["value"] for b in posted["blocks"] if b.get("type") == "actions"
                      for el in b["elements"] if el["action_id"] == ids.APPROVE)
    assert bot.sender.click(ids.APPROVE, request_id, user=approver, channel=channel).status == 200
    bot.slack.wait_for("/api/chat.update", where=lambda c: "EXECUTED" in json.dumps(c.body))
    after = scan_all(bot.services.client)["mfh-dev-helpers"]
    changed = [i for i in after if i not in before["mfh-dev-helpers"]]
    assert [i["helper_id"]["S"] for i in changed] == [demo.DEMO_HELPER_ID]
    return posted, changed[0]
