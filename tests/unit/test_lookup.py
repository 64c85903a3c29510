"""commands.lookup: identifiers found in free text, and what each resolves to."""

from __future__ import annotations

from typing import Any

import pytest

from bot.render.limits import problems
from bot.render.lookup import render_lookup
from commands.lookup import CAP, Identifier, extract, lookup, resolve
from dynamo import demo

SUB = demo.DEMO_SUB
SLUGS = frozenset({"hubspot", "keap", "go-high-level"})


def kinds(text: str, slugs: frozenset[str] = SLUGS) -> list[tuple[str, str]]:
    return [(i.kind, i.value) for i in extract(text, slugs)]


@pytest.mark.parametrize(("text", "expected"), [
    (f"user:{SUB}", [("user_id", f"user:{SUB}")]),
    (f"sub {SUB}.", [("uuid", SUB)]),
    ("mail Ada.L+x@Example.co.uk!", [("email", "Ada.L+x@Example.co.uk")]),
    ("<mailto:ada@example.com|ada@example.com>", [("email", "ada@example.com")]),
    ("acct-0001, helper-0003; exec-abc_1-x. conn-0002 plat-0001",
     [("account", "acct-0001"), ("helper", "helper-0003"), ("execution", "exec-abc_1-x"),
      ("connection", "conn-0002"), ("platform_id", "plat-0001")]),
    (f"exec-{SUB}", [("execution", f"exec-{SUB}")]),  # not also a bare UUID
    ("HubSpot and keap but not salesforce", [("slug", "hubspot"), ("slug", "keap")]),
    ("the go-high-level slug", [("slug", "go-high-level")]),
    ("xacct-1 acct- hubspot-sync app.hubspot.com /keap/ key-0001", []),
    # a URL's path names its item: whole segments count, the host and partial ones never
    (f"https://app.example.com/users/{SUB}", [("uuid", SUB)]),
    ("https://acct-0001.example.com/v1~acct-0002/helper-0003.json/x", []),
    ("nothing here, it's broken :(", []),
    ("", []),
])
def test_extract(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_extract_dedupes_in_order_of_appearance() -> None:
    text = f"acct-0002 ada@example.com acct-0002 ADA@example.com {SUB} {SUB.upper()} acct-0001"
    assert kinds(text) == [("account", "acct-0002"), ("email", "ada@example.com"),
                           ("uuid", SUB), ("account", "acct-0001")]


def test_extract_is_bounded_on_huge_text() -> None:
    text = " ".join(f"acct-{n}" for n in range(20_000))
    found = extract(text)
    assert 1000 < len(found) < 20_000  # only the first 50,000 characters are scanned
    assert extract("a" * 1_000_000) == []


def test_resolve_each_kind(store: Any, seeded: Any) -> None:
    cases = {
        Identifier("user_id", demo.DEMO_USER_ID): ("users", {"user_id": demo.DEMO_USER_ID}),
        Identifier("email", demo.DEMO_EMAIL.upper()): ("users", {"user_id": demo.DEMO_USER_ID}),
        Identifier("uuid", SUB): ("users", {"user_id": demo.DEMO_USER_ID}),
        Identifier("account", demo.DEMO_ACCOUNT_ID): ("accounts", {"account_id": demo.DEMO_ACCOUNT_ID}),
        Identifier("helper", demo.DEMO_HELPER_ID): ("helpers", {"helper_id": demo.DEMO_HELPER_ID}),
        Identifier("connection", demo.DEMO_CONNECTION_ID):
            ("connections", {"connection_id": demo.DEMO_CONNECTION_ID}),
        Identifier("slug", demo.DEMO_PLATFORM_SLUG): ("platforms", {"platform_id": "plat-0001"}),
        Identifier("platform_id", "plat-0002"): ("platforms", {"platform_id": "plat-0002"}),
    }
    for ident, (table, key) in cases.items():
        m = resolve(store, ident)
        assert m.found and m.table == table and m.key == key, ident
        assert m.command and m.command.startswith(f"get {table} ")


def test_uuid_falls_back_to_an_oauth_state(store: Any, seeded: Any) -> None:
    state_id = demo.generate()["oauth-states"][0]["state_id"]
    m = resolve(store, Identifier("uuid", state_id))
    assert m.table == "oauth-states" and m.key == {"state_id": state_id}


def test_not_found_says_where_it_looked(store: Any, seeded: Any) -> None:
    m = resolve(store, Identifier("uuid", "00000000-0000-4000-8000-000000000000"))
    assert not m.found and m.command is None
    assert "CognitoUserIdIndex" in m.how and "oauth-states" in m.how


def test_store_errors_become_the_match_error(store: Any) -> None:
    store.client.delete_table(TableName="mfh-dev-oauth-states")  # no deletion protection
    m = resolve(store, Identifier("uuid", SUB.replace("5", "6")))
    assert not m.found and "does not exist" in (m.error or "")


def test_items_are_redacted_and_pii_masked_on_request(store: Any, seeded: Any) -> None:
    found = lookup(store, f"{demo.DEMO_EMAIL}")
    (m,) = found.matches
    assert dict(m.summary())["email"] == demo.DEMO_EMAIL
    masked = dict(m.summary(mask_pii=True))
    assert masked["email"] == "a***@example.com" and masked["name"] == "A***"
    assert m.shown_value(mask_pii=True) == "a***@example.com"


def test_secrets_never_in_a_lookup(store: Any, seeded: Any) -> None:
    exec_id = demo.generate()["executions"][0]["execution_id"]
    result = lookup(store, f"{exec_id} {demo.DEMO_CONNECTION_ID}")
    views = ["i:x" for _ in result.matches]
    for mask in (True, False):
        text = str(render_lookup(result, views, mask_pii=mask))
        for secret in demo.DEMO_SECRETS:
            assert secret not in text
    assert all(m.found for m in result.matches)


def test_lookup_caps_and_counts(store: Any, seeded: Any) -> None:
    text = " ".join(f"helper-{n:04d}" for n in range(1, 301))
    result = lookup(store, text)
    assert result.total == 300 and len(result.matches) == CAP and result.capped
    msg = render_lookup(result, [m.command for m in result.matches], mask_pii=True)
    assert not problems(msg)
    assert f"first {CAP} of 300" in str(msg)


def test_known_slugs_come_from_the_platforms_table(store: Any, seeded: Any) -> None:
    from commands.lookup import known_slugs

    assert known_slugs(store) == {p[0] for p in demo.PLATFORMS}
    result = lookup(store, "the Keap sync is down")
    assert [(m.ident.kind, m.table) for m in result.matches] == [("slug", "platforms")]


def test_lookup_command_in_the_console(as_user: Any, seeded: Any) -> None:
    from commands import dispatch

    result = dispatch(f"lookup see {demo.DEMO_ACCOUNT_ID} and exec-missing", as_user("U_A"))
    assert [r[:3] for r in result.rows] == [[demo.DEMO_ACCOUNT_ID, "account", "accounts"],
                                            ["exec-missing", "execution", "-"]]
    assert "not found" in result.rows[1][3]
    empty = dispatch("lookup nothing to see", as_user("U_A"))
    assert empty.rows == [] and "No identifiers" in empty.notes[0]


# -- links: what the person saw (the label) and where it points (ids in the URL's path) -------
@pytest.mark.parametrize(("text", "expected"), [
    ("see https://app.example.com/helpers/helper-0007.", [("helper", "helper-0007")]),
    ("(https://app.example.com/accounts/acct-0001/helpers/helper-0003?tab=runs)",
     [("account", "acct-0001"), ("helper", "helper-0003")]),
    (f"https://app.example.com/users/user%3A{SUB}", [("user_id", f"user:{SUB}")]),
    ("https://app.example.com/users/ada%40example.com", [("email", "ada@example.com")]),
    ("https://app.example.com/platforms/hubspot/settings", [("slug", "hubspot")]),
    # the query is read as text, as before; a fragment's path is not a URL path
    ("https://app.example.com/search?account=acct-0009#/helpers/helper-0001",
     [("account", "acct-0009")]),
    ("https://hubspot.com https://acct-0001.example.com/", []),  # hosts never count
])
def test_extract_reads_whole_segments_of_a_url_path(
        text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def _seen(text: str) -> list[tuple[str, str]]:
    """Identifiers of a message whose mrkdwn ``text`` Slack sent as ``text``."""
    from bot.listeners.inbound import message_text

    return kinds(message_text({"type": "message", "text": text}))


@pytest.mark.parametrize(("sent", "expected"), [
    # the message: the label and the URL's path name the same helper, once
    ("…about <https://app.example.com/helpers/helper-0007|helper-0007>",
     [("helper", "helper-0007")]),
    # a label that names an id the URL does not, and the reverse
    ("<https://status.example.com/incidents/42|helper-0003 failing>", [("helper", "helper-0003")]),
    ("<https://app.example.com/accounts/acct-0001|the customer's account>",
     [("account", "acct-0001")]),
    # both differ: both looked up, the label first (read first)
    ("<https://app.example.com/helpers/helper-0003|helper-0007>",
     [("helper", "helper-0007"), ("helper", "helper-0003")]),
    ("<https://app.example.com/x?a=1&amp;b=2|acct-0004 &amp; acct-0005>",
     [("account", "acct-0004"), ("account", "acct-0005")]),
    # mailto: the address, whatever the label says
    ("write to <mailto:ada@example.com|Ada Lovelace>", [("email", "ada@example.com")]),
    ("<mailto:ada@example.com|ada@example.com>", [("email", "ada@example.com")]),
    # mentions, channels and user groups are never identifiers, nor are their labels
    ("<@U0ALICE> <@U0BOB|acct-admin> <#C0OPS|acct-0001-alerts> <!subteam^S0H|@helper-team>"
     " <!here>", []),
])
def test_message_links_are_read_as_seen_label_and_target(
        sent: str, expected: list[tuple[str, str]]) -> None:
    assert _seen(sent) == expected
