"""Break-glass messages stay inside Slack's limits, never let data mention anyone, and say
who may review; the pending tables, home section and digest section too."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from bot.render import ids
from bot.render.blocks import render_message
from bot.render.break_glass import (
    HEADER,
    digest_review_blocks,
    render_break_glass,
    render_break_glass_ack,
    render_reviewed,
)
from bot.render.home import render_home
from bot.render.text import render_text
from commands.break_glass import ReviewItem
from commands.home import HomeData
from commands.results import RequestResult, TableResult
from tests.unit.test_render import check

dumps = partial(json.dumps, ensure_ascii=False)
REASON = "INC-42 <!channel> & <@U_EVIL> " + "x" * 440


def _result(**kw: Any) -> RequestResult:
    preview = [(f"attr_{i}", "b" * 200, "<!here> " + "a" * 200) for i in range(40)]
    base: dict[str, Any] = dict(
        event="break-glass", id="R1130083547PH374", status="EXECUTED",
        change="update helpers helper-0001", table="helpers", preview=preview,
        requester="U_ONCALL", decided_by="U_ONCALL", decided_at=1_796_000_000, channel="C_OPS",
        break_glass=True, break_glass_reason=REASON)
    return RequestResult(**{**base, **kw})


def _buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "") for b in msg["blocks"]
            if b.get("type") == "actions" for el in b["elements"]}


def test_the_loud_post_fits_names_reviewers_and_escapes_data() -> None:
    msg = check(render_break_glass(_result(), ["U_BOB", "S0REVIEW"]))
    text = dumps(msg)
    assert msg["blocks"][0]["text"]["text"] == HEADER
    assert "<@U_BOB>" in text and "<!subteam^S0REVIEW>" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "<@U_EVIL>" not in text
    assert "&lt;!here&gt;" in text and "…and" in text  # preview cut with a note
    assert _buttons(msg) == {ids.REVIEW: "R1130083547PH374"}
    everyone = dumps(check(render_break_glass(_result(), [])))
    assert "<!here>" in everyone  # nobody named: anyone in the channel may review


def test_reviewed_and_stale_posts_have_no_review_button() -> None:
    reviewed = check(render_break_glass(_result(reviewed_by="U_BOB", reviewed_at=1_796_000_100),
                                        ["U_BOB"]))
    assert "*Reviewed* by <@U_BOB>" in dumps(reviewed) and _buttons(reviewed) == {}
    stale = check(render_break_glass(_result(status="STALE", error="the item changed"), []))
    assert "not executed" in dumps(stale) and _buttons(stale) == {}
    for msg in (render_break_glass_ack(_result(), "C_APPROVALS"),
                render_break_glass_ack(_result(status="STALE", error="changed"), None),
                render_reviewed(_result(event="reviewed", reviewed_by="U_BOB"))):
        check(msg)


def test_digest_section_and_home_section_fit() -> None:
    items = [ReviewItem(id=f"R{i:015d}", change="update helpers helper-0001 " + "y" * 200,
                        executor="U_ONCALL", executed_at=1_796_000_000, reason=REASON)
             for i in range(30)]
    blocks = [b.to_dict() for b in digest_review_blocks(items)]
    check({"text": "digest", "blocks": blocks})
    assert "more: `/ddb pending`" in dumps(blocks) and "&lt;!channel&gt;" in dumps(blocks)
    assert digest_review_blocks([]) == []
    home = render_home(HomeData(user="U_BOB", stage="dev", region="us-west-2",
                                to_review=[_result() for _ in range(8)], to_review_total=12))
    assert len(home["blocks"]) <= 100
    text = dumps(home)
    assert "Break-glass changes to review" in text and "…and 4 more" in text
    assert "<!channel>" not in text


def test_pending_with_a_second_table_fits_and_keeps_the_order() -> None:
    rows = [[f"R{i:015d}", "update helpers helper-0001", "<@U_ONCALL>", "2026-11-30 08:35 UTC",
             REASON] for i in range(50)]
    result = TableResult(title="Open write requests", columns=["id"], rows=[],
                         notes=["No open requests."], more=[TableResult(
                             title="Break-glass changes waiting for review",
                             columns=["id", "change", "ran by", "ran", "reason"], rows=rows)])
    msg = check(render_message(result))
    text = dumps(msg)
    assert text.index("No open requests.") < text.index("Break-glass changes waiting for review")
    console = render_text(result)
    assert console.index("No open requests.") < console.index("Break-glass changes waiting")
