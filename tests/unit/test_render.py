"""The rendering layer: Block Kit messages stay within Slack's limits whatever the data,
never show secrets, and read well; the console renderer shows the same results."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.messaging.outbound import finish
from bot.render import ids
from bot.render.blocks import render_json, render_message
from bot.render.format import align_rows, format_number, format_value, to_json
from bot.render.limits import fenced_segments, problems, texts_of
from bot.render.text import render_text
from commands.results import ErrorResult, ItemsResult, JsonResult, TableResult, TextResult

BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
SLACK_TOKEN = "xoxb-1234567890-abcdefghijkl"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


# -- helpers ----------------------------------------------------------------------------
def check(msg: dict[str, Any]) -> dict[str, Any]:
    """Assert every Slack limit, independently of ``problems``, and slack_sdk validity."""
    assert problems(msg) == []
    blocks = msg["blocks"]
    assert 1 <= len(blocks) <= 50
    assert 0 < len(msg["text"]) <= 3000 and msg["text"].strip()
    total = 0
    for b in blocks:
        for t in texts_of(b):
            assert t.strip(), f"blank text in {b}"
            total += len(t)
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if b["type"] == "actions":
            assert all(len(e["value"]) <= 2000 for e in b["elements"])
        if b["type"] == "context":
            assert len(b["elements"]) <= 10
    assert total <= 12_000
    # slack_sdk's own validation (raises SlackObjectFormationError on a broken limit)
    assert [x.to_dict() for x in Block.parse_all(blocks)] == blocks
    return msg


def dump(msg: dict[str, Any]) -> str:
    return json.dumps(msg, ensure_ascii=False)


def all_text(msg: dict[str, Any]) -> str:
    return "\n".join(t for b in msg["blocks"] for t in texts_of(b))


def buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in msg["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def user(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"user_id": f"user:{n:04d}", "email": f"jane{n}@example.com", "name": f"Jane {n}",
            "phone_number": "+15551234567", "status": "active", "company": "Acme",
            "current_account_id": "acct-1", "created_at": "2024-01-01T00:00:00Z", **extra}


def execution(n: int, **extra: Any) -> dict[str, Any]:
    return {"execution_id": f"exec-{n:04d}", "status": "failed", "helper_id": "helper-1",
            "account_id": "acct-1", "created_at": f"2024-05-01T10:{n % 60:02d}:00Z",
            "error_message": "Timeout after 30s", "duration_ms": Decimal("1234"), **extra}


# -- cards ------------------------------------------------------------------------------
def test_card_lists_key_then_summary_then_rest_alphabetically() -> None:
    item = {"zeta": "z", "status": "active", "alpha": "a", "email": "j@x.com",
            "user_id": "user:abc", "name": "Jane", "current_account_id": "acct-1"}
    msg = check(render_message(ItemsResult(table="users", items=[item], single=True),
                               view_id="v1"))
    header = msg["blocks"][0]
    assert header["type"] == "header" and "users" in header["text"]["text"]
    assert "user:abc" in header["text"]["text"]
    text = all_text(msg)
    names = [ln.split("*")[1] for ln in text.splitlines() if ln.startswith("*")]
    assert names == ["user_id", "email", "name", "status", "current_account_id", "alpha", "zeta"]
    assert "*user_id*: `user:abc`" in text


def test_card_shows_documents_compactly_and_numbers_plainly() -> None:
    item = {"helper_id": "h-1", "config": {"a": Decimal("1.50"), "b": [Decimal("2"), "x"]},
            "execution_count": Decimal("12"), "enabled": True}
    text = all_text(check(render_message(ItemsResult(table="helpers", items=[item]))))
    assert '*config*: {"a": 1.5, "b": [2, "x"]}' in text
    assert "*execution_count*: 12" in text
    assert "*enabled*: true" in text


def test_card_cuts_a_400kb_value_and_points_to_show_json() -> None:
    item = {"execution_id": "e-1", "status": "failed", "output": {"log": "x" * 400_000},
            "error_message": "y" * 400_000}
    msg = check(render_message(ItemsResult(table="executions", items=[item], single=True),
                               view_id="v1"))
    text = all_text(msg)
    assert "chars, cut — Show JSON for all" in text
    assert len(dump(msg)) < 20_000
    check(render_json(ItemsResult(table="executions", items=[item])))


def test_card_with_a_5000_key_map_stays_within_limits() -> None:
    item = {"account_id": "acct-1", "settings": {f"key{i}": f"value {i}" for i in range(5000)}}
    msg = check(render_message(ItemsResult(table="accounts", items=[item]), view_id="v"))
    line = next(ln for ln in all_text(msg).splitlines() if ln.startswith("*settings*"))
    assert len(line) < 450 and "cut — Show JSON for all" in line
    js = check(render_json(ItemsResult(table="accounts", items=[item])))
    assert "JSON cut: showing" in all_text(js)


def test_card_with_many_long_attributes_is_cut_with_a_note() -> None:
    item = {"execution_id": "e-1", **{f"attr_{i:02d}": "v" * 1000 for i in range(50)}}
    msg = check(render_message(ItemsResult(table="executions", items=[item]), view_id="v"))
    assert "more attributes not shown — Show JSON for all" in all_text(msg)


def test_card_of_an_unknown_table_and_odd_values() -> None:
    item = {"b": b"\x00\x01", "s": {"x", "y"}, "n": None, "e": "", "`odd` <name>": "&"}
    msg = check(render_message(ItemsResult(items=[item], title="raw"), view_id="v"))
    text = all_text(msg)
    assert "*b*: &lt;binary, 2 bytes&gt;" in text and '*s*: ["x", "y"]' in text
    assert '*e*: ""' in text and "*n*: null" in text
    assert "&lt;name&gt;" in text and "<name>" not in text


# -- list view --------------------------------------------------------------------------
def test_list_view_has_meta_line_and_one_line_per_item() -> None:
    items = [execution(i) for i in range(3)]
    result = ItemsResult(title="executions acct-1", table="executions", items=items,
                         scanned=7, consumed=1.5, index="AccountIdCreatedAtIndex")
    msg = check(render_message(result, view_id="v"))
    kinds = [b["type"] for b in msg["blocks"]]
    assert kinds[:2] == ["header", "context"]
    meta = msg["blocks"][1]["elements"][0]["text"]
    assert "*3* items" in meta and "7 scanned" in meta and "1.5 RCU" in meta
    assert "AccountIdCreatedAtIndex" in meta and "`execution_id`" in meta
    lines = [ln for ln in all_text(msg).splitlines() if ln.startswith("• ")]
    assert len(lines) == 3
    assert lines[0].startswith("• `exec-0000` · failed · helper-1")


def test_list_of_100_items_with_50_long_attributes_fits() -> None:
    items = [execution(i, **{f"extra_{j:02d}": "w" * 500 for j in range(50)})
             for i in range(100)]
    result = ItemsResult(table="executions", items=items, next_key={"execution_id": "x"})
    msg = check(render_message(result, view_id="v"))
    assert len(msg["blocks"]) <= 50
    assert "w" * 100 not in dump(msg)  # only key and summary attributes in a list
    shown = [ln for ln in all_text(msg).splitlines() if ln.startswith("• ")]
    notes = [t for b in msg["blocks"] if b["type"] == "context" for t in texts_of(b)]
    assert len(shown) == 100 or any("more items not shown" in n for n in notes)
    check(render_json(result))
    assert render_text(result).count("exec-") == 100


def test_list_of_items_with_huge_summary_values_is_cut_with_a_note() -> None:
    items = [execution(i, error_message="E" * 5000, helper_id="H" * 5000) for i in range(100)]
    msg = check(render_message(ItemsResult(table="executions", items=items), view_id="v"))
    assert "more items not shown — Show JSON for all" in all_text(msg)


def test_no_items() -> None:
    msg = check(render_message(ItemsResult(title="members acct-9", table="user-accounts",
                                           notes=["No members for acct-9."]), view_id="v"))
    text = all_text(msg)
    assert "No items found." in text and "No members for acct-9." in text
    assert buttons(msg) == {}
    page = ItemsResult(table="executions", next_key={"execution_id": "e"}, scanned=100)
    msg = check(render_message(page, view_id="v"))
    assert "more may follow" in all_text(msg) and buttons(msg) == {ids.NEXT_PAGE: "v"}


# -- buttons ----------------------------------------------------------------------------
def test_buttons_only_when_they_can_work() -> None:
    one = ItemsResult(table="users", items=[user()], single=True)
    many = ItemsResult(table="users", items=[user(1), user(2)], next_key={"user_id": "u"})
    assert buttons(check(render_message(one, view_id="v1"))) == {
        ids.SHOW_JSON: "v1", ids.REQUEST_CHANGE: "v1"}
    assert buttons(check(render_message(many, view_id="v2"))) == {
        ids.NEXT_PAGE: "v2", ids.SHOW_JSON: "v2"}
    many_last = ItemsResult(table="users", items=[user(1), user(2)])
    assert buttons(check(render_message(many_last, view_id="v3"))) == {ids.SHOW_JSON: "v3"}
    for result in (one, many, many_last):  # shared posts have no stored view
        assert buttons(check(render_message(result, view_id=None))) == {}
    text = TextResult(title="t", sections=[("", "x")])
    assert buttons(check(render_message(text, view_id="v"))) == {}


def test_ids_are_the_documented_ones() -> None:
    assert (ids.NEXT_PAGE, ids.SHOW_JSON, ids.REQUEST_CHANGE) == (
        "ddb_next_page", "ddb_show_json", "ddb_request_change")
    assert (ids.APPROVE, ids.REJECT, ids.SHOW_EXECUTIONS) == (
        "ddb_approve", "ddb_reject", "ddb_show_executions")
    assert (ids.LOOKUP_SHORTCUT, ids.CHANGE_SHORTCUT) == ("ddb_lookup", "ddb_change")


# -- secrets, PII, escaping -------------------------------------------------------------
def _secret_item() -> dict[str, Any]:
    return {"auth_id": "auth-1", "connection_id": "conn-1", "access_token": "tok-SECRET-1",
            "refresh_token": "tok-SECRET-2", "api_secret": "tok-SECRET-3",
            "notes": f"called with {BEARER}", "extra": {"slack": SLACK_TOKEN, "aws": AWS_KEY,
                                                       "api_key": "tok-SECRET-4"}}


@pytest.mark.parametrize("single", [True, False])
def test_secrets_never_appear(single: bool) -> None:
    items = [_secret_item()] if single else [_secret_item(), _secret_item()]
    result = ItemsResult(table="platform-connection-auths", items=items)
    outputs = [dump(check(render_message(result, view_id="v"))),
               dump(check(render_json(result))), render_text(result),
               dump(check(render_message(result, mask_pii=True)))]
    for out in outputs:
        for secret in ("tok-SECRET", "eyJhbGciOi", "dozjgNryP4J3", SLACK_TOKEN, AWS_KEY):
            assert secret not in out


def test_credentials_in_other_results_are_masked() -> None:
    results = [
        JsonResult(title="raw", data={"Item": {"token": BEARER, "access_token": "tok-SECRET"}}),
        TableResult(columns=["a"], rows=[[SLACK_TOKEN]]),
        TextResult(title="t", sections=[("h", f"see {AWS_KEY}")]),
        ErrorResult(message=f"bad value {BEARER}", usage="/ddb get"),
    ]
    for r in results:
        for out in (dump(check(render_message(r))), dump(check(render_json(r))), render_text(r)):
            for secret in ("tok-SECRET", "eyJhbGciOi", SLACK_TOKEN, AWS_KEY):
                assert secret not in out


def test_mask_pii_for_shared_posts() -> None:
    title = "user by email: jane1@example.com"
    one = ItemsResult(title=title, table="users", items=[user()], single=True)
    many = ItemsResult(title=title, table="users", items=[user(1), user(2)],
                       notes=["asked for jane1@example.com"])
    for result in (one, many):
        plain = dump(check(render_message(result, view_id="v")))
        assert "jane1@example.com" in plain
        for out in (dump(check(render_message(result, mask_pii=True))),
                    dump(check(render_json(result, mask_pii=True)))):
            assert "jane1@example.com" not in out and "Jane 1" not in out
            assert "+15551234567" not in out
            assert "j***@example.com" in out
            assert "user:0001" in out  # ids stay
    js = JsonResult(data=[{"email": "bob@example.com", "nested": {"name": "Bob Smith"}}])
    out = dump(check(render_message(js, mask_pii=True)))
    assert "bob@example.com" not in out and "Bob Smith" not in out
    # an email in an attribute the schema does not declare as PII, and in free text
    ex = ItemsResult(table="executions", items=[execution(1, input={"to": "ann@corp.io"})])
    assert "ann@corp.io" in dump(check(render_message(ex)))
    assert "ann@corp.io" not in dump(check(render_message(ex, mask_pii=True)))
    text = TextResult(title="history", sections=[("", "asked by ann@corp.io")])
    assert "a***@corp.io" in dump(check(render_message(text, mask_pii=True)))


def test_data_cannot_mention_or_link() -> None:
    item = {"user_id": "user:1", "name": "<!channel> <@U123> <https://evil|click>"}
    msg = check(render_message(ItemsResult(table="users", items=[item, item])))
    out = dump(msg)
    assert "<!channel>" not in out and "<@U123>" not in out and "<https" not in out
    assert all(t.get("verbatim") for b in msg["blocks"] for t in _text_objects(b)
               if t["type"] == "mrkdwn")


def _text_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") in ("mrkdwn", "plain_text") else []
        return own + [t for v in node.values() for t in _text_objects(v)]
    if isinstance(node, list):
        return [t for v in node for t in _text_objects(v)]
    return []


# -- text, table, JSON, error results ---------------------------------------------------
def test_error_message_and_usage() -> None:
    msg = check(render_message(ErrorResult(message="unknown table `nope`",
                                           usage="/ddb get <table> <key>")))
    assert msg["blocks"][0]["text"]["text"] == ":warning: unknown table `nope`"
    assert msg["blocks"][1]["text"]["text"] == "```\n/ddb get &lt;table&gt; &lt;key&gt;\n```"
    assert "unknown table" in msg["text"]


def test_long_text_is_split_across_sections_not_lost() -> None:
    body = "\n".join(f"line {i} " + "t" * 60 for i in range(120))  # ~8.5k chars
    msg = check(render_message(TextResult(title="Help", sections=[("Reads", body)])))
    text = all_text(msg)
    assert sum(b["type"] == "section" for b in msg["blocks"]) >= 3
    assert "line 0 " in text and "line 119 " in text and "cut" not in text


def test_too_long_text_is_cut_with_a_note_and_fences_stay_balanced() -> None:
    code = "```\n" + "\n".join("c" * 80 for _ in range(400)) + "\n```"
    msg = check(render_message(TextResult(title="Big", sections=[("A", "intro\n" + code),
                                                                  ("B", "more")])))
    sections = [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]
    assert all(s.count("```") % 2 == 0 for s in sections)
    assert "more lines" in all_text(msg)


def test_fenced_segments() -> None:
    assert fenced_segments("a\n```\nx\ny\n```\nb") == [(False, ["a"]), (True, ["x", "y"]),
                                                      (False, ["b"])]
    assert fenced_segments("use ```/ddb get``` here") == [(False, ["use ```/ddb get``` here"])]
    assert fenced_segments("```open\nnever closed") == [(True, ["open", "never closed"])]


def test_table_rows_are_aligned_and_cut_when_too_many() -> None:
    small = TableResult(title="Tables", columns=["table", "items"],
                        rows=[["users", "3"], ["executions", "120"]])
    msg = check(render_message(small))
    assert msg["blocks"][1]["text"]["text"] == (
        "```\ntable       items\n----------  -----\nusers       3\nexecutions  120\n```")
    big = TableResult(columns=["a", "b"], rows=[[f"row{i}", "x" * 200] for i in range(1000)])
    msg = check(render_message(big))
    sections = [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]
    assert all(s.startswith("```\na ") for s in sections)  # header repeated per section
    assert "more rows not shown" in all_text(msg)


def test_json_result_numbers_and_cut() -> None:
    msg = check(render_message(JsonResult(title="out", data={"n": Decimal("12"),
                                                             "f": Decimal("1.5")})))
    assert '"n": 12' in all_text(msg) and '"f": 1.5' in all_text(msg)
    big = JsonResult(data=[{"i": i, "s": "z" * 100} for i in range(2000)])
    msg = check(render_message(big))
    assert "JSON cut: showing" in all_text(msg)


def test_render_json_of_items_is_pretty_and_complete_when_small() -> None:
    msg = check(render_json(ItemsResult(table="users", items=[user(1), user(2)])))
    body = "\n".join(b["text"]["text"] for b in msg["blocks"] if b["type"] == "section")
    data = json.loads(body.replace("```", ""))
    assert [d["user_id"] for d in data] == ["user:0001", "user:0002"]
    assert '\n  {\n    "user_id"' in body


def test_header_is_short_plain_and_never_blank() -> None:
    long_title = "`scan` " + "t" * 400
    msg = check(render_message(TextResult(title=long_title, sections=[("", "x")])))
    assert len(msg["blocks"][0]["text"]["text"]) <= 150
    assert "`" not in msg["blocks"][0]["text"]["text"]
    check(render_message(TextResult(title="", sections=[])))
    check(render_message(TextResult(title="t", sections=[("", "   ")])))


def test_many_notes_stay_within_limits() -> None:
    result = ItemsResult(table="users", items=[user()], notes=["n" * 3000] * 30)
    check(render_message(result, view_id="v"))


# -- formatting -------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "text"), [
    (Decimal("5"), "5"), (Decimal("1.50"), "1.5"), (Decimal("1E+3"), "1000"),
    (Decimal("0.00001"), "0.00001"), (Decimal("-2.0"), "-2"),
])
def test_format_number(value: Decimal, text: str) -> None:
    assert format_number(value) == text
    assert format_value(value) == text


def test_to_json_keeps_decimals_exact() -> None:
    assert to_json({"a": Decimal("12"), "b": Decimal("0.1")}) == '{"a": 12, "b": 0.1}'
    big = Decimal("12345678901234567890.123456789")
    assert json.loads(to_json(big)) == "12345678901234567890.123456789"


def test_align_rows() -> None:
    assert align_rows(["a", "bb"], [["xxx", "y"]], 10) == ["a    bb", "---  --", "xxx  y"]


# -- console text -----------------------------------------------------------------------
def test_render_text_basics() -> None:
    err = render_text(ErrorResult(message="missing key", usage="/ddb get <table> <key>"))
    assert err == "error: missing key\nusage: /ddb get <table> <key>"
    card = render_text(ItemsResult(table="helpers", items=[
        {"helper_id": "h-1", "name": "Sync", "execution_count": Decimal("42"),
         "config": {"x": Decimal("1.0")}, "zz": "\x1b[31mred"}]))
    lines = card.splitlines()
    assert lines[0] == "helpers · h-1"
    assert lines[2].split() == ["helper_id", "h-1"] and lines[3].split() == ["name", "Sync"]
    assert "execution_count  42" in card and 'config           {"x": 1}' in card
    assert "\x1b" not in card
    many = ItemsResult(table="users", items=[user(1), user(2)], next_key={"user_id": "x"})
    out = render_text(many)
    assert "more results: type `next`" in out
    assert out.splitlines()[4].startswith("user_id    ")
    table = render_text(TableResult(title="T", columns=["a", "bb"], rows=[["1", "2"]]))
    assert table.splitlines()[2:] == ["a  bb", "-  --", "1  2"]
    text = render_text(TextResult(title="Help", sections=[("Reads", "*bold*\n```\ncode\n```")]))
    assert "Reads:\nbold\ncode" in text and "```" not in text
    assert render_text(ItemsResult(table="users")).endswith("No items found.")


# -- any data ---------------------------------------------------------------------------
_scalar = st.one_of(
    st.text(max_size=300), st.integers(), st.booleans(), st.none(),
    st.integers(-(10**12), 10**12).map(lambda n: Decimal(n).scaleb(-3)),
    st.binary(max_size=20),
    st.sampled_from([BEARER, SLACK_TOKEN, "<!here>", "```", "&amp;", "*_~`", "\x1b[2J", ""]),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=30), inner,
                                                                max_size=6),
    max_leaves=15,
)
_key = st.text(min_size=1, max_size=40) | st.sampled_from(
    ["user_id", "execution_id", "status", "email", "name", "access_token", "helper_id"])
_item = st.dictionaries(_key, _value, max_size=15)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(_item, max_size=8),
       table=st.sampled_from([None, "users", "executions", "platform-connection-auths"]),
       more=st.booleans(), share=st.booleans(),
       title=st.text(max_size=300), notes=st.lists(st.text(max_size=500), max_size=4))
def test_any_items_render_within_limits(items: list[dict[str, Any]], table: str | None,
                                        more: bool, share: bool, title: str,
                                        notes: list[str]) -> None:
    result = ItemsResult(title=title, table=table, items=items, notes=notes,
                         next_key={"k": "v"} if more else None)
    msg = check(render_message(result, view_id=None if share else "view-1", mask_pii=share))
    check(render_json(result, mask_pii=share))
    out = dump(msg) + render_text(result)
    assert "eyJhbGciOi" not in out and SLACK_TOKEN not in out
    # mrkdwn is escaped by the renderer; the notification fallback and plain_text where
    # the message leaves the bot (bot.messaging.outbound)
    assert "<!here>" not in finish(msg)["text"]
    assert all("<!here>" not in t for t in _mrkdwn_texts(msg["blocks"]))


def _mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for v in node.values() if isinstance(v, dict | list) for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


@settings(max_examples=60, deadline=None)
@given(sections=st.lists(st.tuples(st.text(max_size=100), st.text(max_size=5000)), max_size=8),
       rows=st.lists(st.lists(st.text(max_size=100), min_size=1, max_size=6), max_size=60),
       data=_value, message=st.text(max_size=5000))
def test_any_other_result_renders_within_limits(sections: list[tuple[str, str]],
                                                rows: list[list[str]], data: Any,
                                                message: str) -> None:
    cols = [f"c{i}" for i in range(max((len(r) for r in rows), default=1))]
    for result in (TextResult(title="t", sections=sections),
                   TableResult(title="t", columns=cols, rows=rows),
                   JsonResult(data=data), ErrorResult(message=message, usage=message)):
        check(render_message(result, view_id="v"))
        check(render_json(result))
        render_text(result)


def test_request_preview_values_cannot_mention_and_show_as_typed() -> None:
    """The before → after table sits in a code fence, but Slack still reads ``&`` and
    ``<…>`` there: data is escaped so ``Q&amp;A`` shows as typed and ``<!here>`` pings no one."""
    from bot.render.requests import render_request
    from commands.results import RequestResult

    r = RequestResult(id="R1", status="PENDING", change="update helpers h1", requester="U1",
                      preview=[("description", "<!here> a < b", "Q&amp;A")])
    text = json.dumps(render_request(r))
    assert "<!here>" not in text and "&lt;!here&gt; a &lt; b" in text
    assert "Q&amp;amp;A" in text
