"""Secrets recognised by their name, on every way an item leaves the bot (issue 18, attack 3).

A ``platforms`` item keeps an OAuth client secret in ``oauth`` and, at the top level, a
``password`` and a ``client_secret``; a ``helpers`` item keeps ``password`` / ``apiKey`` /
``private_key`` (and a ``Client-Secret`` in a list) in ``config``; both hold a binary
value. None of the values looks like a credential, so only the name can hide them. Each
test takes one output path (cards, Show JSON, typed CLI answers with ``--query``, ``--output
text``, ``--share``, requests and their stored form, history, App Home, the audit export,
logs) and asserts that no secret value, and no raw binary, reaches it; the guard and the
write checks refuse the same names, and nothing is read or written then.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.logs import JsonFormatter
from bot.render.blocks import render_json, render_message
from bot.render.home import render_home
from bot.render.requests import render_request
from bot.render.text import render_text
from commands import dispatch
from commands.home import home_data
from commands.results import ErrorResult, ItemsResult, JsonResult, RequestResult, Result
from dynamo import demo
from dynamo.audit_export import read_records, to_export
from dynamo.store import serialize_item
from testkit import scan_all

PLATFORMS, HELPERS = "mfh-dev-platforms", "mfh-dev-helpers"
BLOB = b"\x89PNG password=Binary-Pw-9h3k"  # raw bytes a masker cannot read inside
SECRETS = ("Zq8vTn4PqXw2Rt", "Top5Pw7Kd2Lm", "Top6Cs8Wq3Np", "Hp9Pw2Lx7Qs", "Hk3Ak8Vb1Zn",
           "Hpk4Pk6Jm9Tr", "Nl5Cs2Rd8Xe", "Binary-Pw-9h3k", base64.b64encode(BLOB).decode())
PLATFORM = {
    "platform_id": "plat-secret", "name": "Secretive CRM", "slug": "secretive", "status": "active",
    "oauth": {"client_id": "cid-visible-4711", "client_secret": SECRETS[0],
              "token_url": "https://auth.example.com/token"},
    "password": SECRETS[1], "client_secret": SECRETS[2], "logo": BLOB,
}
HELPER = {
    "helper_id": "helper-secret", "account_id": demo.DEMO_ACCOUNT_ID, "name": "Secret helper",
    "status": "active", "helper_type": "sync",
    "config": {"field": "email", "password": SECRETS[3], "apiKey": SECRETS[4],
               "private_key": SECRETS[5], "hooks": [{"Client-Secret": SECRETS[6]}],
               "token_type": "Bearer"},
    "attachments": {b"one", b"three"},
}


@pytest.fixture
def world(ddb: Any, seeded: Any, services: Any) -> Any:
    ddb.put_item(TableName=PLATFORMS, Item=serialize_item(PLATFORM))
    ddb.put_item(TableName=HELPERS, Item=serialize_item(HELPER))
    return services


def run(services: Any, text: str, user: str = "U_ALICE") -> Result:
    return dispatch(f"/ddb {text}", services.context(user, "C_OPS"))


def shown(*parts: Any) -> str:
    return "\n".join(p if isinstance(p, str) else json.dumps(p, default=str, ensure_ascii=False)
                     for p in parts)


def assert_no_secret(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, (leaked, text[:2000])


def every_rendering(result: Result) -> str:
    """The result as the console prints it, as a Slack card, as Show JSON, and shared."""
    return shown(render_text(result), render_message(result), render_json(result),
                 render_json(result, mask_pii=True))


# -- cards, lists, Show JSON -------------------------------------------------------------------
def test_cards_and_show_json_redact_secrets_by_name_at_any_depth(world: Any) -> None:
    for text in ("get platforms plat-secret", "get helpers helper-secret",
                 "scan platforms --filter \"attribute_exists(oauth)\"",
                 "query helpers account_id=" + demo.DEMO_ACCOUNT_ID):
        result = run(world, text)
        assert isinstance(result, ItemsResult) and result.items, (text, result)
        out = every_rendering(result)
        assert_no_secret(out)
        assert "[redacted]" in out, text
    card = render_text(run(world, "get platforms plat-secret"))
    assert "cid-visible-4711" in card and "https://auth.example.com/token" in card
    assert f"<binary, {len(BLOB)} bytes>" in card
    helper = run(world, "get helpers helper-secret")
    assert isinstance(helper, ItemsResult)
    config = helper.items[0]["config"]
    assert config["password"] == config["apiKey"] == config["private_key"] == "[redacted]"
    assert config["hooks"] == [{"Client-Secret": "[redacted]"}]
    assert config["field"] == "email" and config["token_type"] == "Bearer"
    assert helper.items[0]["attachments"] == ["<binary, 3 bytes>", "<binary, 5 bytes>"]


# -- typed CLI answers: redacted before --query, --output text, --share --------------------------
KEY = json.dumps({"platform_id": {"S": "plat-secret"}})
GET = f"aws dynamodb get-item --table-name {PLATFORMS} --key '{KEY}'"


@pytest.mark.parametrize("query", [
    "Item.oauth.M.client_secret.S", "Item.oauth", "Item.client_secret", "Item.password.S",
    "{cs: Item.oauth.M.client_secret.S, pw: Item.password.S}", "Item.logo", "Item",
    "values(Item.oauth.M)", "join(`\",\"`, values(Item.oauth.M)[*].S)",
])
def test_typed_answers_are_redacted_before_query_runs(world: Any, query: str) -> None:
    result = run(world, f"{GET} --query '{query}'")
    assert isinstance(result, JsonResult), result
    assert_no_secret(every_rendering(result))
    if query == "Item.oauth.M.client_secret.S":
        assert result.data == "[redacted]"
    if query == "Item.logo":
        assert result.data == {"S": f"<binary, {len(BLOB)} bytes>"}


@pytest.mark.parametrize("text", [
    f"{GET} --output text",
    f"{GET} --output text --query Item.oauth",
    f"{GET} --share",
    f"{GET} --query Item.oauth --share",
    f"aws dynamodb scan --table-name {HELPERS} --output text",
    f"aws dynamodb scan --table-name {HELPERS} --output json --share",
    f"aws dynamodb scan --table-name {HELPERS} --query 'Items[].config.M'",
    "aws dynamodb batch-get-item --request-items '" + json.dumps(
        {PLATFORMS: {"Keys": [{"platform_id": {"S": "plat-secret"}}]},
         HELPERS: {"Keys": [{"helper_id": {"S": "helper-secret"}}]}}) + "'",
])
def test_text_output_share_and_batch_answers_redact_secrets(world: Any, text: str) -> None:
    result = run(world, text)
    assert not isinstance(result, ErrorResult), result
    assert_no_secret(every_rendering(result))


# -- pagination tokens are not credentials ------------------------------------------------------
def test_next_token_stays_whole_and_continues_the_scan(world: Any, ddb: Any) -> None:
    """The JSON answer's NextToken is the aws CLI's own token, shown whole, and feeding it
    back as --starting-token continues where the first answer stopped (as the CLI does)."""
    scan = f"aws dynamodb scan --table-name {HELPERS} --max-items 2 --output json"
    first = run(world, scan)
    assert isinstance(first, JsonResult)
    token = first.data["NextToken"]
    # the token botocore's own paginator gives for the same request (what the CLI prints)
    expected = ddb.get_paginator("scan").paginate(
        TableName=HELPERS, PaginationConfig={"MaxItems": 2}).build_full_result()["NextToken"]
    assert token == expected
    for rendered in (render_text(first), json.dumps(render_message(first))):
        assert token in rendered and "[masked credential]" not in rendered
    picked = run(world, f"aws dynamodb scan --table-name {HELPERS} --max-items 2 "
                        f"--query '{{next: NextToken}}'")
    assert isinstance(picked, JsonResult) and picked.data == {"next": token}
    assert token in render_text(picked)
    second = run(world, f"{scan} --starting-token {token}")
    assert isinstance(second, JsonResult)
    direct = ddb.get_paginator("scan").paginate(
        TableName=HELPERS, PaginationConfig={"MaxItems": 2, "StartingToken": token}
    ).build_full_result()
    got = [i["helper_id"]["S"] for i in second.data["Items"]]
    assert got == [i["helper_id"]["S"] for i in direct["Items"]]
    assert not set(got) & {i["helper_id"]["S"] for i in first.data["Items"]}


# -- the guard: no expression, projection or start key may test a secret by name ----------------
@pytest.mark.parametrize(("text", "attr"), [
    ("count platforms --exact --filter \"begins_with(oauth.client_secret, 'Zq8')\"",
     "client_secret"),
    ("count platforms --exact --filter \"password > 'm'\"", "password"),
    ("scan helpers --filter \"contains(config.apiKey, 'Hk3')\"", "apiKey"),
    ("scan helpers --filter \"config.hooks[0].#c = :v\"", "Client-Secret"),
    ("query helpers account_id=" + demo.DEMO_ACCOUNT_ID
     + " --filter \"size(config.private_key) > 3\"", "private_key"),
    (f"aws dynamodb scan --table-name {PLATFORMS} --select COUNT "
     "--filter-expression 'begins_with(#o.#s, :p)' "
     "--expression-attribute-names '{\"#o\": \"oauth\", \"#s\": \"clientSecret\"}' "
     "--expression-attribute-values '{\":p\": {\"S\": \"Zq8\"}}'", "clientSecret"),
    (f"aws dynamodb get-item --table-name {PLATFORMS} --key '{KEY}' "
     "--projection-expression 'oauth.CLIENT_SECRET'", "CLIENT_SECRET"),
    (f"aws dynamodb scan --table-name {PLATFORMS} --exclusive-start-key "
     "'{\"platform_id\": {\"S\": \"a\"}, \"password\": {\"S\": \"T\"}}'", "password"),
    (f"aws dynamodb scan --table-name {HELPERS} --filter-expression 'config = :m' "
     "--expression-attribute-values '{\":m\": {\"M\": {\"passwd\": {\"S\": \"x\"}}}}'", "passwd"),
])
def test_secret_names_cannot_be_tested_and_nothing_is_read(world: Any, text: str,
                                                           attr: str) -> None:
    calls: list[str] = []
    world.client.meta.events.register("before-call.dynamodb.*",
                                      lambda model, **_: calls.append(model.name))
    if "#c" in text:
        text = (f"aws dynamodb scan --table-name {HELPERS} --filter-expression "
                "'config.hooks[0].#c = :v' --expression-attribute-names '{\"#c\": \"Client-Secret\"}' "
                "--expression-attribute-values '{\":v\": {\"S\": \"x\"}}'")
    result = run(world, text)
    assert isinstance(result, ErrorResult), result
    assert f"`{attr}`" in result.message and "Nothing was read" in result.message, result.message
    assert calls == []


def test_names_that_only_describe_a_secret_can_be_tested(world: Any) -> None:
    result = run(world, "count platforms --exact --filter \"begins_with(oauth.token_url, 'https')\"")
    assert not isinstance(result, ErrorResult), result
    assert "1 items matching the filter" in render_text(result)


# -- writes: such names cannot be set from Slack; nothing is requested ---------------------------
@pytest.mark.parametrize(("text", "said"), [
    ("update helpers helper-secret set password=x", "`password` is a secret attribute"),
    ("update helpers helper-secret set notes={\"db\": {\"Password\": \"x\"}}",
     "`notes.db.Password` is a secret attribute"),
    ("update helpers helper-secret set config={\"field\": \"email\"}",
     "`config` holds a secret (`config.password`)"),
    ("update helpers helper-secret remove config", "`config` holds a secret"),
    ("update platforms plat-secret remove client_secret", "`client_secret` is a secret attribute"),
    ("put helpers {\"helper_id\": \"helper-new\", \"apiKey\": \"x\"}",
     "`apiKey` is a secret attribute"),
    ("put helpers {\"helper_id\": \"helper-new\", \"config\": {\"private_key\": \"x\"}}",
     "`config.private_key` is a secret attribute"),
    ("put platforms {\"platform_id\": \"plat-secret\", \"name\": \"x\"} --replace",
     "the existing item holds secret attributes"),
])
def test_setting_a_secret_by_name_is_refused_and_nothing_is_written(world: Any, ddb: Any,
                                                                     text: str, said: str) -> None:
    before = scan_all(ddb)
    result = run(world, text)
    assert isinstance(result, ErrorResult), result
    assert said in result.message and "internal error" not in result.message, result.message
    assert scan_all(ddb) == before  # no request, no change


# -- requests, their stored form, history, App Home, the audit export ---------------------------
def test_a_delete_request_and_its_trail_never_hold_a_secret(world: Any, ddb: Any) -> None:
    request = run(world, "delete helpers helper-secret")
    assert isinstance(request, RequestResult), request
    other = run(world, "delete platforms plat-secret")
    assert isinstance(other, RequestResult), other
    out = shown(render_text(request), render_request(request), render_request(other))
    approved = run(world, f"approve {request.id}", user="U_BOB")
    out += shown(render_text(approved), render_request(approved))
    for text in ("history", "pending"):
        out += shown(every_rendering(run(world, text)))
    out += shown(render_home(home_data(world.context("U_BOB", "C_OPS"))))
    since = datetime.now(UTC) - timedelta(hours=1)
    state = world.settings.state_table
    records = read_records(world.client, state, since, datetime.now(UTC) + timedelta(hours=1))
    out += shown([to_export(r) for r in records])
    assert_no_secret(out)
    # the stored request and audit items themselves: no value under a secret's name at rest
    # either, except in the undo image kept for the executed delete (SECURITY.md, *Undo*);
    # a binary value is no secret by itself and pins the delete like any other attribute
    stored = json.dumps([i for i in scan_all(ddb)[state] if i.get("pk", {}).get("S") != "UNDO"],
                        default=str)
    assert not [s for s in SECRETS[:7] if s in stored]
    assert not any(i["helper_id"]["S"] == "helper-secret" for i in scan_all(ddb)[HELPERS])


def test_undo_of_the_delete_puts_the_secrets_back(world: Any, ddb: Any) -> None:
    request = run(world, "delete helpers helper-secret")
    assert isinstance(request, RequestResult)
    run(world, f"approve {request.id}", user="U_BOB")
    undo = run(world, f"undo {request.id}")
    assert isinstance(undo, RequestResult), undo
    run(world, f"approve {undo.id}", user="U_BOB")
    restored = [i for i in scan_all(ddb)[HELPERS] if i["helper_id"]["S"] == "helper-secret"]
    assert restored and restored[0]["config"]["M"]["password"] == {"S": SECRETS[3]}


# -- logs ---------------------------------------------------------------------------------------
def test_log_records_redact_secret_names_at_any_depth() -> None:
    record = logging.LogRecord("bot", logging.WARNING, __file__, 1, "put failed", (), None)
    record.detail = {"item": HELPER | {"logo": "x"}, "password": SECRETS[1]}
    record.secrets_tried = 2
    out = JsonFormatter().format(record)
    assert_no_secret(out)
    parsed = json.loads(out)
    assert parsed["detail"]["item"]["config"]["apiKey"] == "[redacted]"
    assert parsed["detail"]["item"]["config"]["field"] == "email"
    assert parsed["secrets_tried"] == 2


# -- the digest: error messages quoting a secret under its name ---------------------------------
def test_the_digest_masks_secrets_quoted_by_name_in_error_messages(world: Any, ddb: Any) -> None:
    from bot.render.digest import render_digest
    from commands.digest import DigestResult

    now = datetime.now(UTC)
    for n, quoted in enumerate(('{"clientSecret": "%s"}', "apiKey=%s rejected", "Password: %s",
                                "private_key='%s' is invalid")):
        ddb.put_item(TableName="mfh-dev-executions", Item=serialize_item({
            "execution_id": f"exec-quoted-{n}", "helper_id": "helper-secret",
            "account_id": demo.DEMO_ACCOUNT_ID, "status": "failed", "trigger_type": "webhook",
            "created_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "error_message": "login failed: " + quoted % SECRETS[n]}))
    result = run(world, "digest --since 1d --top 25")
    assert isinstance(result, DigestResult), result
    out = shown(render_text(result), render_digest(result), result.model_dump_json())
    assert_no_secret(out)
    assert "login failed" in out and "[masked credential]" in out
