"""``bot.messaging.outbound``: plain text is escaped where a payload leaves the bot."""

from __future__ import annotations

from typing import Any

from bot.messaging.outbound import SlackClient, cut_escaped, finish
from bot.render.limits import problems
from testkit.fake_slack import FakeSlack

DATA = "<!channel> <@U123ABC> <https://evil.example|Click> a&lt;b"
ESCAPED = "&lt;!channel&gt; &lt;@U123ABC&gt; &lt;https://evil.example|Click&gt; a&amp;lt;b"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def test_fallback_and_plain_text_are_escaped_mrkdwn_is_left_to_the_renderer() -> None:
    msg = {"text": f"Write request R1: update helpers {DATA}", "blocks": [
        {"type": "header", "text": _plain(DATA)},
        {"type": "section", "text": {"type": "mrkdwn", "text": "by <@U_BOB> &lt;x&gt;"},
         "fields": [_plain(DATA)]},
        {"type": "context", "elements": [_plain(DATA), {"type": "image", "image_url": "u",
                                                         "alt_text": DATA}]},
        {"type": "actions", "elements": [{"type": "button", "text": _plain("Go"),
                                          "value": DATA, "action_id": "a"}]}]}
    out = finish(msg)
    assert out["text"] == f"Write request R1: update helpers {ESCAPED}"
    assert out["blocks"][0]["text"]["text"] == ESCAPED
    # mrkdwn: the renderer's own markup and escaping stay as they are
    assert out["blocks"][1]["text"]["text"] == "by <@U_BOB> &lt;x&gt;"
    assert out["blocks"][1]["fields"][0]["text"] == ESCAPED
    assert out["blocks"][2]["elements"][0]["text"] == ESCAPED
    assert out["blocks"][2]["elements"][1]["alt_text"] == ESCAPED
    assert out["blocks"][3]["elements"][0]["value"] == DATA  # a button value is never shown
    assert msg["blocks"][0]["text"]["text"] == DATA  # the caller's payload is not changed


def test_a_message_without_blocks_is_mrkdwn_and_left_alone() -> None:
    text = "Request R1 could not be posted in <#C_OPS>; run `/ddb approve R1`."
    assert finish({"text": text}) == {"text": text}


def test_escaping_never_breaks_a_limit_or_an_entity() -> None:
    header = "<" * 150  # fits before escaping, four times too long after
    msg = finish({"text": "x", "blocks": [{"type": "header", "text": _plain(header)}]})
    got = msg["blocks"][0]["text"]["text"]
    assert len(got) <= 150 and got.endswith("&lt;…") and problems(msg) == []
    view = finish({"view": {"type": "modal", "title": _plain("<" * 24), "blocks": [
        {"type": "input", "label": _plain("L"), "element": {
            "type": "static_select", "placeholder": _plain("&" * 150),
            "options": [{"text": _plain("<" * 75), "value": "v"}]}}]}})["view"]
    assert len(view["title"]["text"]) <= 24
    element = view["blocks"][0]["element"]
    assert len(element["placeholder"]["text"]) <= 150
    assert len(element["options"][0]["text"]["text"]) <= 75
    assert cut_escaped("ab&amp;cd", 5) == "ab…"  # the entity is dropped whole


def test_the_client_finishes_what_it_sends() -> None:
    slack = FakeSlack().start()
    try:
        client = SlackClient(token="xoxb-test", base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text=DATA, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}])
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [
            {"type": "header", "text": _plain(DATA)}]})
        client.auth_test()
        post, home = slack.find("/api/chat.postMessage")[0], slack.find("/api/views.publish")[0]
        assert post.body["text"] == ESCAPED
        assert home.body["view"]["blocks"][0]["text"]["text"] == ESCAPED
    finally:
        slack.stop()
