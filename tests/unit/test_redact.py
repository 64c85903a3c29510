"""Redaction: secret attributes, key_hash prefixes, credential-looking strings, PII."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from commands.results import ErrorResult, ItemsResult, JsonResult, TableResult, TextResult
from dynamo.redact import (
    MASKED,
    REDACTED,
    looks_like_credential,
    mask_text,
    redact_any,
    redact_item,
)
from dynamo.schema import BY_SHORT

AUTHS = BY_SHORT["platform-connection-auths"]
USERS = BY_SHORT["users"]
API_KEYS = BY_SHORT["api-keys"]

KEY_HASH = "29b8c08c7e8be2f62166935a55f1abef585c42d534d639426460b7f6e762a785"

# Credential-shaped strings, each of which must be masked wherever it appears.
CREDENTIALS = [
    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "xoxp-1234567890-abcdefghij",
    "xoxe-1-abcdefghijklmnop",
    "xapp-1-A0123BCDE-4567890123-abcdef0123456789",
    "Bearer abcdefghijklmnop.qrstuv",
    "bearer abc123def456ghi789",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8",
    "sk_live_abcdefgh12345678",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq1\nabcdef==\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",  # truncated PEM
]
# The secret part of each credential (what must not survive).
SECRET_PARTS = [
    "1234567890-0987654321-AbCdEfGhIjKlMnOp", "1234567890-abcdefghij", "abcdefghijklmnop",
    "A0123BCDE-4567890123", "abcdefghijklmnop.qrstuv", "abc123def456ghi789",
    "IOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE", "eyJzdWIiOiJkZW1vIn0", "abcdefgh12345678",
    "4eC39HqLyjWDarjtT1zdp7dc", "abcdefghijklmnopqrstuvwxyz0123456789", "MIIEpAIBAAKCAQEA7bq1",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
]

NOT_CREDENTIALS = [
    "hello world",
    "ada@example.com",
    "user:5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f",
    "2025-02-05T00:00:00Z",
    "Bearer",  # the token_type value, on its own
    "timeout after 512ms waiting for Keap",
    "https://api.example.com/hubspot",
    "mfh_0001",
    "AKIA too short",
    "task_live_update",
]


def secret_item() -> dict[str, Any]:
    return {
        "auth_id": "auth-0001",
        "connection_id": "conn-0001",
        "access_token": "ya29.secret-access",
        "refresh_token": "1//secret-refresh",
        "api_key": "secret-api-key",
        "api_secret": "secret-api-secret",
        "token_type": "Bearer",
        "version": Decimal(1),
        "empty_secret_ok": "",
    }


SECRET_VALUES = ["ya29.secret-access", "1//secret-refresh", "secret-api-key", "secret-api-secret"]


# -- secret attributes ------------------------------------------------------------------
def test_secret_attributes_redacted_at_top_level() -> None:
    out = redact_item(secret_item(), AUTHS)
    for attr in ("access_token", "refresh_token", "api_key", "api_secret"):
        assert out[attr] == REDACTED
    assert out["auth_id"] == "auth-0001"
    assert out["token_type"] == "Bearer"
    assert out["version"] == Decimal(1)


def test_secret_attributes_redacted_in_any_table_and_without_one() -> None:
    item = {"user_id": "user:x", "access_token": "tok-123", "api_secret": "s"}
    for table in (USERS, None):
        out = redact_item(item, table)
        assert out["access_token"] == REDACTED and out["api_secret"] == REDACTED
        assert out["user_id"] == "user:x"


def test_empty_secret_values_stay_empty() -> None:
    out = redact_item({"access_token": "", "refresh_token": None}, AUTHS)
    assert out == {"access_token": "", "refresh_token": None}


def test_secret_attributes_redacted_when_nested() -> None:
    item = {
        "id": "x",
        "config": {
            "access_token": "nested-secret-1",
            "inner": {"api_key": "nested-secret-2", "ok": "visible"},
            "list": [{"refresh_token": "nested-secret-3"}, {"api_secret": "nested-secret-4"}],
        },
        "sessions": [{"access_token": "nested-secret-5"}],
    }
    out = redact_item(item, USERS)
    text = repr(out)
    for i in range(1, 6):
        assert f"nested-secret-{i}" not in text
    assert out["config"]["inner"]["ok"] == "visible"
    assert out["config"]["access_token"] == REDACTED
    assert out["config"]["list"][1]["api_secret"] == REDACTED
    assert out["sessions"][0]["access_token"] == REDACTED


def test_secret_attribute_holding_a_map_or_list_is_redacted_whole() -> None:
    out = redact_item({"api_key": {"value": "inner-secret"}, "x": {"api_key": ["a", "b"]}})
    assert out["api_key"] == REDACTED
    assert out["x"]["api_key"] == REDACTED


def test_redaction_does_not_mutate_the_input() -> None:
    item = secret_item()
    item["nested"] = {"access_token": "n"}
    before = copy.deepcopy(item)
    redact_item(item, AUTHS, mask_pii=True)
    assert item == before


# -- key_hash --------------------------------------------------------------------------
def test_key_hash_shows_a_prefix_only() -> None:
    out = redact_item({"key_id": "key-0001", "key_hash": KEY_HASH}, API_KEYS)
    assert out["key_hash"] == KEY_HASH[:8] + "…"
    assert KEY_HASH not in repr(out)
    assert out["key_id"] == "key-0001"


def test_key_hash_prefix_nested_and_short() -> None:
    out = redact_item({"meta": {"key_hash": KEY_HASH}, "other": {"key_hash": "abc"}})
    assert out["meta"]["key_hash"] == KEY_HASH[:8] + "…"
    assert out["other"]["key_hash"] == "…"  # a short value shows nothing


# -- credential-looking strings ---------------------------------------------------------
@pytest.mark.parametrize(("cred", "secret"), list(zip(CREDENTIALS, SECRET_PARTS, strict=True)))
def test_credentials_in_unexpected_attributes_are_masked(cred: str, secret: str) -> None:
    item = {
        "execution_id": "exec-1",
        "error_message": f"401 from API, request had Authorization: {cred} (retrying)",
        "note": cred,
        "output": {"headers": {"x": cred}, "log": [f"line {cred}", {"deep": cred}]},
    }
    out = redact_item(item, BY_SHORT["executions"])
    text = repr(out)
    assert secret not in text
    assert out["note"] == MASKED or MASKED in out["note"]
    assert out["error_message"].startswith("401 from API, request had Authorization: ")
    assert MASKED in out["error_message"]
    assert MASKED in out["output"]["headers"]["x"]
    assert MASKED in out["output"]["log"][0] and MASKED in out["output"]["log"][1]["deep"]
    assert out["execution_id"] == "exec-1"
    assert looks_like_credential(cred)


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_ordinary_strings_are_left_alone(text: str) -> None:
    assert mask_text(text) == text
    assert not looks_like_credential(text)
    assert redact_item({"note": text}) == {"note": text}


def test_mask_text() -> None:
    assert mask_text("") == ""
    assert mask_text("token xoxb-1234567890-abcdef here") == f"token {MASKED} here"
    assert mask_text("two: AKIAIOSFODNN7EXAMPLE and sk_live_abcdefgh12345678") == (
        f"two: {MASKED} and {MASKED}")


def test_non_string_values_pass_through() -> None:
    item = {"n": Decimal(5), "b": True, "none": None, "set": {"a", "b"}}
    assert redact_item(item) == item


def test_string_sets_are_masked() -> None:
    out = redact_item({"tags": {"ok", "xoxb-1234567890-abcdef"}})
    assert out["tags"] == {"ok", MASKED}


# -- PII ---------------------------------------------------------------------------------
def test_pii_shown_unless_asked_to_mask() -> None:
    item = {"user_id": "user:x", "email": "ada@example.com", "name": "Ada Lovelace",
            "phone_number": "+15557135241"}
    assert redact_item(item, USERS) == item
    masked = redact_item(item, USERS, mask_pii=True)
    assert masked["email"] == "a***@example.com"
    assert masked["name"] == "A***"
    assert masked["phone_number"] == "***41"
    assert masked["user_id"] == "user:x"
    for value in ("ada@example.com", "Ada Lovelace", "+15557135241"):
        assert value not in repr(masked)


def test_pii_default_set_without_a_table() -> None:
    masked = redact_item({"email": "grace@example.com", "name": "Grace"}, None, mask_pii=True)
    assert masked == {"email": "g***@example.com", "name": "G***"}


def test_pii_masked_nested_and_odd_values() -> None:
    masked = redact_item({"contact": {"email": "x@y.z"}, "name": "", "phone_number": "12"},
                         USERS, mask_pii=True)
    assert masked["contact"]["email"] == "x***@y.z"
    assert masked["name"] == ""
    assert masked["phone_number"] == "***"


def test_redact_any() -> None:
    data = {"Table": {"TableName": "t"}, "Items": [{"access_token": "s1",
                                                    "msg": "xoxb-1234567890-abcdef"}]}
    out = redact_any(data)
    assert out["Items"][0]["access_token"] == REDACTED
    assert out["Items"][0]["msg"] == MASKED
    assert redact_any(["AKIAIOSFODNN7EXAMPLE", 3]) == [MASKED, 3]
    assert redact_any("plain") == "plain"


# -- results never carry secrets ----------------------------------------------------------
ALL_SECRETS = SECRET_VALUES + SECRET_PARTS + [KEY_HASH]


def assert_clean(result: Any) -> None:
    dumped = result.model_dump_json()
    python = repr(result.model_dump())
    for secret in ALL_SECRETS:
        assert secret not in dumped, secret
        assert secret not in python, secret


def test_items_result_redacts() -> None:
    items = [secret_item() | {"error": CREDENTIALS[i], "key_hash": KEY_HASH}
             for i in range(len(CREDENTIALS))]
    for table in ("platform-connection-auths", "executions", None, "no-such-table"):
        assert_clean(ItemsResult(table=table, items=items))


def test_items_result_masks_title_and_notes() -> None:
    for cred in CREDENTIALS:
        assert_clean(ItemsResult(title=f"members of {cred}", notes=[f"nothing for `{cred}`"],
                                 table="user-accounts"))


def test_json_result_redacts() -> None:
    data = {"Items": [secret_item()], "Nested": {"deeper": [{"api_secret": "secret-api-secret"}]},
            "Log": CREDENTIALS, "key_hash": KEY_HASH}
    assert_clean(JsonResult(data=data))
    assert_clean(JsonResult(data=[secret_item(), CREDENTIALS]))


def test_error_result_masks() -> None:
    for cred in CREDENTIALS:
        result = ErrorResult(message=f"cannot use {cred} here", usage="/ddb get", title=cred,
                             notes=[cred])
        assert_clean(result)
        assert not result.ok


def test_table_and_text_results_mask() -> None:
    rows = [[c, "x"] for c in CREDENTIALS]
    assert_clean(TableResult(columns=["a", "b"], rows=rows, notes=list(CREDENTIALS)))
    assert_clean(TextResult(sections=[("h", c) for c in CREDENTIALS], title=CREDENTIALS[0]))


# -- secrets by name, binary values, pagination tokens (issue 18, 19) ---------------------------
def test_secrets_by_name_at_any_depth_in_any_table_plain_and_typed() -> None:
    plain = {"platform_id": "p", "password": "pw-1", "Client-Secret": "cs-1",
             "oauth": {"client_id": "visible", "clientSecret": "cs-2",
                       "hooks": [{"PRIVATE_KEY": "pk-1", "url": "https://x"}]},
             "config": {"apiKey": "ak-1", "token_type": "Bearer", "NextToken": "nt"}}
    typed = {"Item": {"oauth": {"M": {"client_secret": {"S": "cs-3"},
                                      "client_id": {"S": "visible"}}},
                      "creds": {"L": [{"M": {"passwd": {"S": "pw-2"}}}]}}}
    for table in (BY_SHORT["platforms"], USERS, None):
        out = redact_item(plain, table)
        assert out["password"] == out["Client-Secret"] == REDACTED
        assert out["oauth"]["clientSecret"] == out["oauth"]["hooks"][0]["PRIVATE_KEY"] == REDACTED
        assert out["oauth"]["client_id"] == "visible" and out["oauth"]["hooks"][0]["url"]
        assert out["config"] == {"apiKey": REDACTED, "token_type": "Bearer", "NextToken": "nt"}
    out = redact_any(typed)
    assert out["Item"]["oauth"]["M"]["client_secret"] == {"S": REDACTED}
    assert out["Item"]["oauth"]["M"]["client_id"] == {"S": "visible"}
    assert out["Item"]["creds"]["L"][0]["M"]["passwd"] == {"S": REDACTED}
    assert not any(s in repr(redact_any(plain)) + repr(out)
                   for s in ("pw-1", "pw-2", "cs-1", "cs-2", "cs-3", "pk-1", "ak-1"))


def test_binary_values_are_shown_by_their_size_only() -> None:
    from boto3.dynamodb.types import Binary

    item = {"logo": b"password=hunter2", "blob": Binary(b"\x00\x01"), "empty": b"",
            "set": {b"ab", b"cd"}, "nested": {"b": bytearray(b"xyz")}, "list": [b"q"]}
    out = redact_item(item)
    assert out == {"logo": "<binary, 16 bytes>", "blob": "<binary, 2 bytes>",
                   "empty": "<binary, 0 bytes>", "set": ["<binary, 2 bytes>"] * 2,
                   "nested": {"b": "<binary, 3 bytes>"}, "list": ["<binary, 1 byte>"]}
    assert redact_any({"B": b"\x00"}) == {"B": "<binary, 1 byte>"}


def test_pagination_tokens_stay_whole_and_credentials_in_them_are_still_masked() -> None:
    token = "eyJFeGNsdXNpdmVTdGFydEtleSI6IHsiaGVscGVyX2lkIjogeyJTIjogImhlbHBlci0wMDAyIn19fQ=="
    for text in (f'"NextToken": "{token}"', f"NextToken: {token}", f"next_token={token}",
                 f'{{"nextPageToken": "{token}"}}', f"PaginationToken = {token}",
                 f"StartingToken: {token}", f'"next": "{token}"'):
        assert mask_text(text) == text
    assert redact_any({"NextToken": token, "next": token}) == {"NextToken": token, "next": token}
    slack = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
    assert mask_text(f'"NextToken": "{slack}"') == f'"NextToken": "{MASKED}"'
    # a credential keyword right after the pagination one still masks
    assert mask_text(f'"NextToken": "{token}", "token": "s3cr3tvalue"') == \
        f'"NextToken": "{token}", "token": "{MASKED}"'
