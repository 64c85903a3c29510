"""Bad input: one clear message with the usage, and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from commands.results import ErrorResult
from commands.writes import DELETE_USAGE, GSI_USAGE, PUT_USAGE, UPDATE_USAGE
from dynamo.store import item_too_large
from testkit import scan_all
from tests.integration.writes.helpers import HELPER, audit, get_item, helper, put_item

# == bad input: one clear message with the usage, and nothing written ===========================
BAD_INPUT = [
    # (command, fragment of the message, usage)
    (f"update helpers {HELPER} set helper_id=helper-9", "key", UPDATE_USAGE),
    ("update user-accounts user:x acct-0001 set account_id=acct-2", "key", UPDATE_USAGE),
    ("update platform-connection-auths auth-0001 set access_token=abc", "secret", UPDATE_USAGE),
    ("update platform-connection-auths auth-0001 remove refresh_token", "secret", UPDATE_USAGE),
    ("update api-keys key-0001 set key_hash=abc", "secret", UPDATE_USAGE),
    (f"update helpers {HELPER} set enabled=maybe", "true or false", UPDATE_USAGE),
    (f"update helpers {HELPER} set execution_count=abc", "number", UPDATE_USAGE),
    (f"update helpers {HELPER} set config=notjson", "JSON object", UPDATE_USAGE),
    ('put platforms {"platform_id":"plat-0100","name":', "JSON", PUT_USAGE),
    ('put platforms ["plat-0100"]', "JSON object", PUT_USAGE),
    ('put platforms {"name":"No key"}', "platform_id", PUT_USAGE),
    ('put platforms {"platform_id":"plat-0100","version":"two"}', "version", PUT_USAGE),
    ('put platform-connection-auths {"auth_id":"auth-9","access_token":"x"}', "secret",
     PUT_USAGE),
    ("update helpers helper-9999 set status=x", "no item", UPDATE_USAGE),
    ("delete helpers helper-9999", "no item", DELETE_USAGE),
    (f"update helpers {HELPER} set", "nothing to change", UPDATE_USAGE),
    (f"update helpers {HELPER}", "set", UPDATE_USAGE),
    (f"update helpers {HELPER} set status=x remove status", "both set and removed",
     UPDATE_USAGE),
    (f"update helpers {HELPER} set status=x status=y", "twice", UPDATE_USAGE),
    (f"update helpers {HELPER} set a.b=1", "nested", UPDATE_USAGE),
    ("update nosuch x set status=x", "unknown table", UPDATE_USAGE),
    ("delete nosuch x", "unknown table", DELETE_USAGE),
    ("update mfh-prod-helpers helper-0001 set status=x", "outside", UPDATE_USAGE),
    ("delete other-table x", "unknown table", DELETE_USAGE),
    ("update user-accounts user:x set status=x", "needs `user_id` and `account_id`",
     UPDATE_USAGE),
    ("gsi delete helpers NoSuchIndex", "no index", GSI_USAGE),
    ("gsi create helpers AccountIdIndex account_id", "already has", GSI_USAGE),
    ("gsi create helpers StatusIndex status --projection EVERYTHING", "projection", GSI_USAGE),
    ("gsi create helpers StatusIndex status --projection INCLUDE:", "INCLUDE", GSI_USAGE),
    ("gsi create helpers StatusIndex status:X", "S, N or B", GSI_USAGE),
    ("gsi create helpers StatusIndex execution_count:S", "declared N", GSI_USAGE),
    ("gsi create helpers StatusIndex", "hash key", GSI_USAGE),
    ("gsi create nosuch StatusIndex status", "unknown table", GSI_USAGE),
]

AWS_BAD = [
    # the seed's update-item, bent in ways that would make the preview a guess
    ("""aws dynamodb update-item --table-name mfh-dev-helpers --key '{"helper_id":{"S":"helper-0001"}}' --update-expression "ADD execution_count :n" --expression-attribute-values '{":n":{"N":"1"}}'""",  # noqa: E501
     "ADD"),
    ("""aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = if_not_exists(#s, :s)" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"}}' --region us-west-2""",  # noqa: E501
     "only `attr = :value`"),
    ("""aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = :s" --expression-attribute-names '{"#s":"status","#x":"email"}' --expression-attribute-values '{":s":{"S":"active"},":u":{"S":"2025-02-05T00:00:00Z"}}' --region us-west-2""",  # noqa: E501
     "not used"),
    ("""aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = :s, updated_at = :u" --condition-expression "attribute_exists(user_id)" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"},":u":{"S":"2025-02-05T00:00:00Z"}}' --region us-west-2""",  # noqa: E501
     "--condition-expression"),
    ("""aws dynamodb delete-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --condition-expression "attribute_exists(user_id)" --region us-west-2""",  # noqa: E501
     "--condition-expression"),
    ("""aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET user_id = :s" --expression-attribute-values '{":s":{"S":"user:xyz"}}'""",  # noqa: E501
     "key"),
    ("""aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:nobody"}}' --update-expression "SET #s = :s" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"}}'""",  # noqa: E501
     "no item"),
    ("""aws dynamodb put-item --table-name mfh-dev-users --item '{"user_id":{"S":"user:abc"},"status":{"S":"x"}}'""",
     "already exists"),
    ("""aws dynamodb delete-item --table-name mfh-prod-users --key '{"user_id":{"S":"user:abc"}}'""",
     "outside"),
]


@pytest.mark.parametrize(("text", "fragment", "usage"), BAD_INPUT,
                         ids=[c[0][:60] for c in BAD_INPUT])
def test_bad_input_is_one_clear_message_and_writes_nothing(
        run: Any, ddb: Any, pristine: Any, text: str, fragment: str, usage: str) -> None:
    res = run("U_A", f"/ddb {text}")
    assert isinstance(res, ErrorResult), res
    assert fragment.lower() in res.message.lower(), res.message
    assert res.usage == usage
    assert scan_all(ddb) == pristine
    # and the bot keeps serving
    assert run("U_A", "/ddb pending").ok


@pytest.mark.parametrize(("text", "fragment"), AWS_BAD, ids=[c[1] for c in AWS_BAD])
def test_bad_pasted_write_is_refused_and_writes_nothing(
        run: Any, ddb: Any, pristine: Any, user_abc: dict[str, Any], text: str,
        fragment: str) -> None:
    res = run("U_A", f"/ddb {text}")
    assert isinstance(res, ErrorResult), res
    assert fragment.lower() in res.message.lower(), res.message
    assert "update-item (write request)" in res.usage
    assert scan_all(ddb) == pristine


# == items near DynamoDB's 400 KB limit =========================================================
def _largest_helper(ddb: Any, helper_id: str) -> dict[str, Any]:
    """A helper item as close to the 400 KB limit as DynamoDB (moto) accepts, found by
    asking it, so the test does not depend on how the limit is counted."""
    item = dict(helper(ddb) or {}, helper_id=helper_id)
    for size in range(409_600, 390_000, -200):
        try:
            put_item(ddb, "helpers", dict(item, notes="n" * size))
        except ClientError as exc:
            assert item_too_large(exc), exc
            continue
        return dict(item, notes="n" * size)
    raise AssertionError("no size fitted")


def test_a_request_too_large_to_keep_is_refused_clearly_and_writes_nothing(
        run: Any, ddb: Any) -> None:
    big = _largest_helper(ddb, "helper-big")
    before = scan_all(ddb)
    res = run("U_A", "/ddb delete helpers helper-big")
    assert isinstance(res, ErrorResult), res
    assert "too large to request" in res.message and "400 KB" in res.message
    assert res.usage == DELETE_USAGE
    assert "internal error" not in res.message
    assert scan_all(ddb) == before  # no request, no audit record, the item untouched
    assert get_item(ddb, "helpers", {"helper_id": "helper-big"}) == big


def test_a_large_value_is_kept_whole_by_the_request_and_cut_in_the_audit(
        run: Any, ddb: Any, services: Any) -> None:
    """A request of an item of 300 KB runs; each of its audit records stays small (a record
    per step would otherwise repeat the whole value), and says how much it left out."""
    item = dict(helper(ddb) or {}, helper_id="helper-wide", notes="w" * 300_000)
    put_item(ddb, "helpers", item)
    res = run("U_A", "/ddb delete helpers helper-wide")
    assert res.ok, res
    assert services.requests.get(res.id).before["notes"] == "w" * 300_000
    assert run("U_B", f"/ddb approve {res.id}").ok
    assert get_item(ddb, "helpers", {"helper_id": "helper-wide"}) is None
    records = [r for r in audit(ddb) if r["request_id"] == res.id]
    assert [r["outcome"] for r in records] == ["PENDING", "EXECUTED"]
    for record in records:
        notes = next(row for row in record["detail"]["preview"] if row[0] == "notes")
        assert notes[1] == "w" * 2000 + "… (+298,000 characters)"
        assert len(json.dumps(record, default=str)) < 10_000
