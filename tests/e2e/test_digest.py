"""End to end: `/ddb digest` and its "Show executions" button through signed requests."""

from __future__ import annotations

import json
from typing import Any

from bot.render import ids
from bot.render.limits import problems, texts_of
from commands.digest import DIGEST_USAGE, show_value
from dynamo import demo


def _answer(bot: Any, n: int = 1) -> dict[str, Any]:
    return bot.slack.wait_for("/response/", n)[n - 1].body


def _text(msg: dict[str, Any]) -> str:
    return "\n".join(t for b in msg.get("blocks", []) for t in texts_of(b)) + msg.get("text", "")


def _show_buttons(msg: dict[str, Any]) -> list[str]:
    return [b["accessory"]["value"] for b in msg.get("blocks", [])
            if (b.get("accessory") or {}).get("action_id") == ids.SHOW_EXECUTIONS]


def _no_secrets(msg: dict[str, Any]) -> None:
    dumped = json.dumps(msg)
    for secret in demo.DEMO_SECRETS:
        assert secret not in dumped


def test_digest_then_show_executions_pages_that_group(bot: Any) -> None:
    assert bot.sender.slash("digest --since 8d").status == 200
    digest = _answer(bot)
    assert digest["response_type"] == "ephemeral"
    assert problems(digest) == []
    _no_secrets(digest)
    assert "failure rate" in _text(digest)
    values = _show_buttons(digest)
    assert 1 <= len(values) <= 10
    value = values[0]
    helper = json.loads(value)["h"]

    resp = bot.sender.click(ids.SHOW_EXECUTIONS, value, user="U_BOB")
    assert resp.status == 200 and resp.body == ""  # acked at once, the work follows
    listing = _answer(bot, 2)
    assert listing["response_type"] == "ephemeral" and listing["replace_original"] is False
    assert problems(listing) == []
    _no_secrets(listing)
    text = _text(listing)
    assert f"Failed executions of {helper}" in text
    assert "success" not in text  # only failed / error / timeout executions are listed


def test_show_executions_of_a_busy_helper_pages_with_next_page(bot: Any) -> None:
    rows = [{"execution_id": f"exec-busy-{n:03d}", "helper_id": "helper-busy",
             "account_id": demo.DEMO_ACCOUNT_ID, "status": ("failed", "error", "ok")[n % 3],
             "created_at": f"2024-05-01T{n // 4:02d}:{n % 4 * 15:02d}:00Z",
             "error_message": f"contact {n} not found"} for n in range(45)]
    demo.write(bot.services.client, "dev", {"executions": rows})
    value = show_value("helper-busy", "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z")
    bot.sender.click(ids.SHOW_EXECUTIONS, value)
    first = _answer(bot)
    assert problems(first) == []
    buttons = {el["action_id"]: el["value"] for b in first["blocks"] if b["type"] == "actions"
               for el in b["elements"]}
    assert ids.NEXT_PAGE in buttons and ids.SHOW_JSON in buttons
    assert "*25* items" in _text(first)
    bot.sender.click(ids.NEXT_PAGE, buttons[ids.NEXT_PAGE])
    second = _answer(bot, 2)
    assert second["replace_original"] is True and problems(second) == []
    assert "*5* items" in _text(second)  # 30 failed of 45, newest first, 25 + 5
    assert "exec-busy-000" in _text(second) and "exec-busy-002" not in _text(second)


def test_malformed_button_value_is_refused_politely(bot: Any) -> None:
    bot.sender.click(ids.SHOW_EXECUTIONS, "<script>")
    answer = _answer(bot)
    assert "not one ddb-bot made" in answer["text"]


def test_bad_since_is_one_clear_ephemeral_error(bot: Any) -> None:
    bot.sender.slash("digest --since tomorrow")
    answer = _answer(bot)
    assert answer["response_type"] == "ephemeral"
    text = _text(answer)
    assert "not a duration" in text and DIGEST_USAGE.splitlines()[0].split(" [")[0] in text
