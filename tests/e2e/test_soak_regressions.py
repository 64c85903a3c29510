"""What the soak run found, pinned: behaviour under a busy work pool."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.render import ids
from bot.render.requests import REJECT_MODAL
from dynamo import demo


def test_reject_opens_its_modal_even_when_the_work_pool_is_busy(bot: Any) -> None:
    """Slack takes a trigger_id for 3 s: the modal must not wait behind queued work."""
    assert bot.sender.slash(f"delete users {demo.DEMO_USER_ID}").status == 200
    posted = bot.slack.wait_for("/api/chat.postMessage")[0].body
    request_id = next(el["value"] for b in posted["blocks"] if b["type"] == "actions"
                      for el in b["elements"] if el["action_id"] == ids.REJECT)
    release = threading.Event()
    for _ in range(12):  # every worker busy, more queued behind them
        assert bot.services.after_ack(release.wait, 10, busy=lambda: None)
    try:
        clicked = time.monotonic()
        assert bot.sender.click(ids.REJECT, request_id, user="U_BOB").status == 200
        opened = bot.slack.wait_for("/api/views.open", timeout=2.5)[0]
        assert opened["at"] - clicked < 2.5
        assert opened.body["view"]["callback_id"] == REJECT_MODAL
    finally:
        release.set()
