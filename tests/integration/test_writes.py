"""Write requests through ``commands.dispatch`` against moto (SPEC §3-§5).

Every write becomes a request; nothing reaches a platform table until a second person
approves, and then exactly once, only if the item is still what the preview showed.
Tests assert on what a user sees (the result) and on what ends up in the tables (read
back with the boto3 client).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, RequestResult, TableResult, TextResult
from commands.writes import GSI_USAGE, PUT_USAGE, UPDATE_USAGE
from dynamo import demo
from dynamo.store import deserialize_item, serialize_item
from testkit import REGION, STAGE, race, scan_all

STATE = f"mfh-{STAGE}-ddb-bot"
HELPER = demo.DEMO_HELPER_ID
FAKE_NOW = 1_900_000_000  # 2030-03-17T17:46:40Z

# -- the seed's write examples, copied verbatim ----------------------------------------------
SEED_UPDATE = """aws dynamodb update-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --update-expression "SET #s = :s, updated_at = :u" --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"active"},":u":{"S":"2025-02-05T00:00:00Z"}}' --region us-west-2"""  # noqa: E501
SEED_DELETE = """aws dynamodb delete-item --table-name mfh-dev-users --key '{"user_id":{"S":"user:abc"}}' --region us-west-2"""  # noqa: E501


# -- helpers -------------------------------------------------------------------------------
class Clock:
    """A controllable ``Requests.clock`` (epoch seconds)."""

    def __init__(self, now: float = FAKE_NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def full(short: str) -> str:
    return f"mfh-{STAGE}-{short}"


def get_item(ddb: Any, short: str, key: dict[str, Any]) -> dict[str, Any] | None:
    raw = ddb.get_item(TableName=full(short), Key=serialize_item(key), ConsistentRead=True)
    return deserialize_item(raw["Item"]) if "Item" in raw else None


def put_item(ddb: Any, short: str, item: dict[str, Any]) -> None:
    ddb.put_item(TableName=full(short), Item=serialize_item(item))


def helper(ddb: Any, helper_id: str = HELPER) -> dict[str, Any] | None:
    return get_item(ddb, "helpers", {"helper_id": helper_id})


def state_items(ddb: Any, pk: str) -> list[dict[str, Any]]:
    resp = ddb.query(TableName=STATE, KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True)
    assert "LastEvaluatedKey" not in resp
    return [deserialize_item(i) for i in resp["Items"]]


def request_item(ddb: Any, request_id: str) -> dict[str, Any]:
    raw = ddb.get_item(TableName=STATE, Key={"pk": {"S": "REQ"}, "sk": {"S": request_id}},
                       ConsistentRead=True)
    return deserialize_item(raw["Item"])


def audit(ddb: Any) -> list[dict[str, Any]]:
    return sorted(state_items(ddb, "AUDIT"), key=lambda r: r["sk"])


def without_audit(snapshot: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every table's items except audit records (refusals are audited, nothing else)."""
    return {t: [i for i in items if not (t == STATE and i["pk"]["S"] == "AUDIT")]
            for t, items in snapshot.items()}


def created(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert result.ok and result.event == "created" and result.status == "PENDING", result
    return result


def executed(result: Any) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert result.ok and result.event == "decided" and result.status == "EXECUTED", result
    return result


def refused(result: Any, *fragments: str) -> RequestResult:
    assert isinstance(result, RequestResult), result
    assert not result.ok and result.event == "refused" and result.refusal, result
    for fragment in fragments:
        assert fragment in result.refusal, result.refusal
    return result


def preview(result: RequestResult) -> dict[str, tuple[str, str]]:
    return {attr: (before, after) for attr, before, after in result.preview}


# -- one small seeded world per module, restored before every test -------------------------------
# Creating the eleven tables costs about a second under moto and every scan pays moto's slow
# response serializer per attribute value, so the module seeds a trimmed copy of the demo data
# once and puts moto's tables back (a deep copy, as moto itself does to roll back a failed
# transaction) before each test. Each test still starts from exactly the same data.
KEEP = {"platforms": 5, "users": 2, "accounts": 1, "user-accounts": 2, "api-keys": 1,
        "connections": 2, "platform-connection-auths": 2, "helpers": 4, "executions": 3,
        "oauth-states": 1}
USER_ABC = {"user_id": "user:abc", "cognito_user_id": "abc", "email": "abc@example.com",
            "status": "disabled", "updated_at": "2025-01-01T00:00:00Z"}


def small_world(client: Any) -> None:
    from dynamo.tables import create_platform_tables, create_state_table

    create_platform_tables(client, STAGE)
    create_state_table(client, STATE)
    data = {short: items[:KEEP[short]] for short, items in demo.generate(1).items()}
    data["users"].append(dict(USER_ABC))  # the seed's example user
    assert any(demo.DEMO_SECRETS[3] in e.get("error_message", "") for e in data["executions"])
    demo.write(client, STAGE, data)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Any, Any, dict[str, Any], list[Any]]]:
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from dynamo.aws import dynamodb_client

    with mock_aws():
        client = dynamodb_client(REGION)
        small_world(client)
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        yield client, backend, copy.deepcopy(backend.tables), []


@pytest.fixture
def ddb(world: tuple[Any, Any, dict[str, Any], list[Any]]) -> Any:
    client, backend, tables, _ = world
    backend.tables = copy.deepcopy(tables)
    return client


@pytest.fixture
def seeded(ddb: Any) -> Any:
    return demo


@pytest.fixture
def pristine(world: tuple[Any, Any, dict[str, Any], list[Any]], ddb: Any) -> Any:
    """``scan_all`` of the world every test starts from (computed once per module)."""
    cache = world[3]
    if not cache:
        cache.append(scan_all(ddb))
    return cache[0]


@pytest.fixture
def run(seeded: Any, as_user: Callable[..., Any]) -> Callable[..., Any]:
    """``run("U_A", "/ddb ...")`` through the dispatcher, as that user, in C_OPS."""

    def _run(user: str, text: str, channel: str = "C_OPS") -> Any:
        return dispatch(text, as_user(user, channel))

    return _run


@pytest.fixture
def clock(services: Any) -> Clock:
    c = Clock()
    services.requests.clock = c
    return c


def approve(run: Callable[..., Any], request_id: str, user: str = "U_B") -> Any:
    return run(user, f"/ddb approve {request_id}")


# == planning ====================================================================================
def test_update_types_values_from_schema_and_touches_updated_at(
        run: Any, ddb: Any, clock: Clock) -> None:
    old = helper(ddb)
    assert old is not None and old["enabled"] is True
    before = scan_all(ddb)
    res = created(run("U_A", f'/ddb update helpers {HELPER} set enabled=false '
                             'execution_count=5 config={"a":1}'))
    assert res.requester == "U_A" and res.change == f"update helpers {HELPER}"
    assert preview(res) == {
        "enabled": ("true", "false"),
        "execution_count": (str(old["execution_count"]), "5"),
        "config": (json.dumps(old["config"], sort_keys=True, separators=(",", ":")), '{"a":1}'),
        "updated_at": (old["updated_at"], iso(FAKE_NOW)),
    }
    # a request, and nothing else, was written
    after = scan_all(ddb)
    assert {t: v for t, v in after.items() if t != STATE} == \
        {t: v for t, v in before.items() if t != STATE}
    assert request_item(ddb, res.id)["status"] == "PENDING"

    executed(approve(run, res.id))
    raw = ddb.get_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}})["Item"]
    assert raw["enabled"] == {"BOOL": False}
    assert raw["execution_count"] == {"N": "5"}
    assert raw["config"] == {"M": {"a": {"N": "1"}}}
    assert raw["updated_at"] == {"S": iso(FAKE_NOW)}
    # untouched attributes stay as they were
    new = helper(ddb)
    assert new is not None
    assert {k: v for k, v in new.items() if k not in ("enabled", "execution_count", "config",
                                                      "updated_at")} == \
        {k: v for k, v in old.items() if k not in ("enabled", "execution_count", "config",
                                                   "updated_at")}


def test_update_no_touch_leaves_updated_at(run: Any, ddb: Any, clock: Clock) -> None:
    old = helper(ddb)
    assert old is not None
    res = created(run("U_A", f"/ddb update helpers {HELPER} set status=paused --no-touch"))
    assert preview(res) == {"status": ("active", "paused")}
    executed(approve(run, res.id))
    new = helper(ddb)
    assert new is not None
    assert new["status"] == "paused" and new["updated_at"] == old["updated_at"]


def test_update_remove_and_set_undeclared_json_literal(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set priority=3 note=hello "
                             "remove description --no-touch"))
    rows = preview(res)
    assert rows["priority"] == ("(absent)", "3")
    assert rows["note"] == ("(absent)", "hello")
    assert rows["description"][1] == "(absent)" and rows["description"][0] != "(absent)"
    executed(approve(run, res.id))
    raw = ddb.get_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}})["Item"]
    assert raw["priority"] == {"N": "3"} and raw["note"] == {"S": "hello"}
    assert "description" not in raw


def test_update_with_dynamodb_json_key(run: Any, ddb: Any, clock: Clock) -> None:
    uid = demo.DEMO_USER_ID
    res = created(run("U_A", f'/ddb update users {{"user_id":{{"S":"{uid}"}}}} '
                             "set status=suspended"))
    executed(approve(run, res.id))
    user = get_item(ddb, "users", {"user_id": uid})
    assert user is not None and user["status"] == "suspended"
    assert user["updated_at"] == iso(FAKE_NOW)


def test_delete_previews_the_item_and_deletes_it_on_approval(
        run: Any, ddb: Any, clock: Clock) -> None:
    # a helper has maps (config) and BOOL / N attributes: the condition compares them all
    old = helper(ddb, "helper-0002")
    assert old is not None
    res = created(run("U_A", "/ddb delete helpers helper-0002"))
    rows = preview(res)
    assert set(rows) == set(old)
    assert all(after == "(absent)" for _before, after in rows.values())
    assert rows["name"] == (old["name"], "(absent)")
    assert helper(ddb, "helper-0002") == old  # nothing written yet
    executed(approve(run, res.id))
    assert helper(ddb, "helper-0002") is None
    assert helper(ddb) is not None  # only that one


def test_put_new_item(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"Pipedrive",'
                             '"slug":"pipedrive","version":2,"api_config":{"rate":5}}'))
    assert preview(res)["name"] == ("(absent)", "Pipedrive")
    assert preview(res)["platform_id"] == ("(absent)", "plat-0100")
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) is None
    executed(approve(run, res.id))
    raw = ddb.get_item(TableName=full("platforms"),
                       Key={"platform_id": {"S": "plat-0100"}})["Item"]
    assert raw == {"platform_id": {"S": "plat-0100"}, "name": {"S": "Pipedrive"},
                   "slug": {"S": "pipedrive"}, "version": {"N": "2"},
                   "api_config": {"M": {"rate": {"N": "5"}}}}
    # and it is found by slug, like any platform
    res = run("U_A", "/ddb platform pipedrive")
    assert res.ok and res.items[0]["platform_id"] == "plat-0100"


def test_put_refuses_overwrite_without_replace(run: Any, ddb: Any) -> None:
    before = scan_all(ddb)
    res = run("U_A", '/ddb put platforms {"platform_id":"plat-0001","name":"HubSpot 2"}')
    assert isinstance(res, ErrorResult), res
    assert "already exists" in res.message and "--replace" in res.message
    assert res.usage == PUT_USAGE
    assert scan_all(ddb) == before


def test_put_replace_overwrites_the_whole_item(run: Any, ddb: Any, clock: Clock) -> None:
    old = get_item(ddb, "platforms", {"platform_id": "plat-0001"})
    assert old is not None and old["name"] == "HubSpot"
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0001","name":"HubSpot 2",'
                             '"slug":"hubspot"} --replace'))
    rows = preview(res)
    assert rows["name"] == ("HubSpot", "HubSpot 2")
    assert rows["category"] == ("crm", "(absent)")
    assert "slug" not in rows  # unchanged attributes are not listed
    executed(approve(run, res.id))
    assert get_item(ddb, "platforms", {"platform_id": "plat-0001"}) == \
        {"platform_id": "plat-0001", "name": "HubSpot 2", "slug": "hubspot"}


def test_gsi_create_then_delete(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb gsi create helpers StatusIndex status --projection KEYS_ONLY"))
    assert res.change == "create GSI StatusIndex on helpers"
    assert preview(res) == {"GSI StatusIndex": ("(absent)", "status:S, projection KEYS_ONLY")}
    live = ddb.describe_table(TableName=full("helpers"))["Table"]["GlobalSecondaryIndexes"]
    assert "StatusIndex" not in {g["IndexName"] for g in live}  # not yet

    executed(approve(run, res.id))
    listed = run("U_B", "/ddb gsi list helpers")
    assert isinstance(listed, TableResult), listed
    rows = {r[0]: r for r in listed.rows}
    assert rows["StatusIndex"][1] == "status" and rows["StatusIndex"][2] == "KEYS_ONLY"
    described = run("U_B", "/ddb describe helpers")
    assert isinstance(described, TextResult), described
    assert "StatusIndex" in dict(described.sections)["Global secondary indexes"]
    assert request_item(ddb, res.id)["status"] == "EXECUTED"

    res = created(run("U_A", "/ddb gsi delete helpers StatusIndex"))
    assert preview(res) == {"GSI StatusIndex": ("exists", "deleted")}
    executed(approve(run, res.id))
    listed = run("U_B", "/ddb gsi list helpers")
    assert "StatusIndex" not in {r[0] for r in listed.rows}
    assert "AccountIdIndex" in {r[0] for r in listed.rows}
    assert "StatusIndex" not in dict(run("U_B", "/ddb describe helpers").sections)[
        "Global secondary indexes"]


def test_gsi_create_with_range_and_include_projection(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb gsi create executions StatusCreatedIndex status created_at "
                             "--projection INCLUDE:helper_id,error_message"))
    executed(approve(run, res.id))
    live = {g["IndexName"]: g for g in
            ddb.describe_table(TableName=full("executions"))["Table"]["GlobalSecondaryIndexes"]}
    idx = live["StatusCreatedIndex"]
    assert [(k["AttributeName"], k["KeyType"]) for k in idx["KeySchema"]] == \
        [("status", "HASH"), ("created_at", "RANGE")]
    assert idx["Projection"] == {"ProjectionType": "INCLUDE",
                                 "NonKeyAttributes": ["helper_id", "error_message"]}


@pytest.fixture
def user_abc(ddb: Any, seeded: Any) -> dict[str, Any]:
    """The seed's example user (its update-item/delete-item examples act on it)."""
    assert get_item(ddb, "users", {"user_id": "user:abc"}) == USER_ABC
    return dict(USER_ABC)


def test_pasted_seed_update_item_becomes_a_request(
        run: Any, ddb: Any, user_abc: dict[str, Any], clock: Clock) -> None:
    res = created(run("U_A", f"/ddb {SEED_UPDATE}"))
    assert preview(res) == {"status": ("disabled", "active"),
                            "updated_at": ("2025-01-01T00:00:00Z", "2025-02-05T00:00:00Z")}
    assert get_item(ddb, "users", {"user_id": "user:abc"}) == user_abc
    refused(approve(run, res.id, "U_A"), "second person")
    executed(approve(run, res.id))
    assert get_item(ddb, "users", {"user_id": "user:abc"}) == {
        **user_abc, "status": "active", "updated_at": "2025-02-05T00:00:00Z"}


def test_pasted_seed_delete_item_becomes_a_request(
        run: Any, ddb: Any, user_abc: dict[str, Any], clock: Clock) -> None:
    res = created(run("U_A", SEED_DELETE))  # without the /ddb prefix, as pasted
    assert preview(res)["email"] == ("abc@example.com", "(absent)")
    assert get_item(ddb, "users", {"user_id": "user:abc"}) == user_abc
    executed(approve(run, res.id))
    assert get_item(ddb, "users", {"user_id": "user:abc"}) is None
    assert get_item(ddb, "users", {"user_id": demo.DEMO_USER_ID}) is not None


def test_pasted_put_item_becomes_a_request(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", """aws dynamodb put-item --table-name mfh-dev-oauth-states --item '{"state_id":{"S":"st-1"},"user_id":{"S":"user:abc"},"expires_at":{"N":"1900000600"}}' --condition-expression "attribute_not_exists(state_id)" --region us-west-2"""))  # noqa: E501
    executed(approve(run, res.id))
    raw = ddb.get_item(TableName=full("oauth-states"), Key={"state_id": {"S": "st-1"}})["Item"]
    assert raw["expires_at"] == {"N": "1900000600"} and raw["user_id"] == {"S": "user:abc"}


# -- secrets never leave the bot --------------------------------------------------------------
def _auth_secrets(ddb: Any, auth_id: str = "auth-0001") -> list[str]:
    item = get_item(ddb, "platform-connection-auths", {"auth_id": auth_id})
    assert item is not None
    values = [item[a] for a in ("access_token", "refresh_token", "api_key", "api_secret")]
    assert set(demo.DEMO_SECRETS[:3]) <= set(values)
    return values


def test_delete_of_an_auth_never_shows_or_stores_its_secrets(
        run: Any, ddb: Any, clock: Clock) -> None:
    secrets_ = _auth_secrets(ddb)
    res = created(run("U_A", "/ddb delete platform-connection-auths auth-0001"))
    rows = preview(res)
    assert rows["connection_id"] == ("conn-0001", "(absent)")
    for attr in ("access_token", "refresh_token", "api_key", "api_secret"):
        assert attr not in rows or rows[attr][0] == "[redacted]"
    stored = request_item(ddb, res.id)
    done = executed(approve(run, res.id))
    assert get_item(ddb, "platform-connection-auths", {"auth_id": "auth-0001"}) is None
    history = run("U_B", "/ddb history --limit 100")
    pending = run("U_B", "/ddb pending")
    raw_state = json.dumps(scan_all(ddb)[STATE])
    for shown in (res.model_dump_json(), done.model_dump_json(), history.model_dump_json(),
                  pending.model_dump_json(), json.dumps(stored, default=str), raw_state):
        for secret in secrets_:
            assert secret not in shown


def test_update_of_an_auth_keeps_secrets_out(run: Any, ddb: Any, clock: Clock) -> None:
    secrets_ = _auth_secrets(ddb)
    res = created(run("U_A", "/ddb update platform-connection-auths auth-0001 "
                             "set status=revoked refresh_attempts=3"))
    assert set(preview(res)) == {"status", "refresh_attempts", "updated_at"}
    executed(approve(run, res.id))
    item = get_item(ddb, "platform-connection-auths", {"auth_id": "auth-0001"})
    assert item is not None and item["status"] == "revoked"
    assert item["refresh_attempts"] == Decimal(3)
    assert [item[a] for a in ("access_token", "refresh_token", "api_key", "api_secret")] \
        == secrets_  # untouched
    raw_state = json.dumps(scan_all(ddb)[STATE])
    assert not any(s in raw_state for s in secrets_)


def test_credential_in_a_plain_attribute_is_masked_in_preview_and_audit(
        run: Any, ddb: Any, clock: Clock) -> None:
    bearer = demo.DEMO_SECRETS[3]
    execs = [deserialize_item(i) for i in scan_all(ddb)[full("executions")]]
    exec_id = next(e["execution_id"] for e in execs if bearer in e.get("error_message", ""))
    res = created(run("U_A", f"/ddb delete executions {exec_id}"))
    assert bearer not in res.model_dump_json()
    assert "[masked credential]" in preview(res)["error_message"][0]
    done = executed(approve(run, res.id))
    assert bearer not in done.model_dump_json()
    assert bearer not in run("U_B", "/ddb history").model_dump_json()
    assert bearer not in json.dumps(audit(ddb), default=str)


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
    ("delete helpers helper-9999", "no item", "/ddb delete <table> <key>"),
    (f"update helpers {HELPER} set", "nothing to change", UPDATE_USAGE),
    (f"update helpers {HELPER}", "set", UPDATE_USAGE),
    (f"update helpers {HELPER} set status=x remove status", "both set and removed",
     UPDATE_USAGE),
    (f"update helpers {HELPER} set status=x status=y", "twice", UPDATE_USAGE),
    (f"update helpers {HELPER} set a.b=1", "nested", UPDATE_USAGE),
    ("update nosuch x set status=x", "unknown table", UPDATE_USAGE),
    ("delete nosuch x", "unknown table", "/ddb delete <table> <key>"),
    ("update mfh-prod-helpers helper-0001 set status=x", "outside", UPDATE_USAGE),
    ("delete other-table x", "unknown table", "/ddb delete <table> <key>"),
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


# == rules: who may ask, who may decide ==========================================================
def test_self_approval_is_refused_and_changes_nothing(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_A"), "second person")
    assert without_audit(scan_all(ddb)) == before
    assert request_item(ddb, res.id)["status"] == "PENDING"
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    # the refusal is audited
    assert [(r["actor"], r["action"]) for r in audit(ddb)][-1] == ("U_A", "approve refused")
    # a second person still can
    executed(approve(run, res.id))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_approver_outside_ddb_bot_approvers_is_refused(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["U_BOSS"])
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    before = without_audit(scan_all(ddb))
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    # nor may a non-approver reject someone else's request
    refused(dispatch(f"/ddb reject {res.id} no", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    executed(dispatch(f"/ddb approve {res.id}", svc.context("U_BOSS", "C_OPS")))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_approver_who_is_also_the_requester_is_still_refused(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["U_BOSS"])
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_BOSS", "C_OPS")))
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_BOSS", "C_OPS")),
            "second person")
    assert request_item(ddb, res.id)["status"] == "PENDING"


def test_user_group_approvers_without_slack_refuse(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_approvers=["S0OPS"])
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    before = without_audit(scan_all(ddb))
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")),
            "DDB_BOT_APPROVERS")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_requester_outside_ddb_bot_requesters_is_refused_at_request_time(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_requesters=["U_A"])
    before = scan_all(ddb)
    for text in (f"/ddb update helpers {HELPER} set enabled=false", "/ddb delete helpers "
                 f"{HELPER}", '/ddb put platforms {"platform_id":"p-9"}',
                 "/ddb gsi create helpers StatusIndex status", f"/ddb {SEED_DELETE}"):
        res = dispatch(text, svc.context("U_C", "C_OPS"))
        assert isinstance(res, ErrorResult), res
        assert "DDB_BOT_REQUESTERS" in res.message
    assert scan_all(ddb) == before
    # a listed requester can; and U_C may still approve it (approvers are unrestricted)
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    executed(dispatch(f"/ddb approve {res.id}", svc.context("U_C", "C_OPS")))


def test_allowed_channels_refuse_other_channels(
        seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_allowed_channels=["C_OPS"])
    before = scan_all(ddb)
    res = dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                   svc.context("U_A", "C_RANDOM"))
    assert isinstance(res, ErrorResult) and "DDB_BOT_ALLOWED_CHANNELS" in res.message, res
    assert scan_all(ddb) == before
    req = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    res = dispatch(f"/ddb approve {req.id}", svc.context("U_B", "C_RANDOM"))
    assert isinstance(res, ErrorResult) and "DDB_BOT_ALLOWED_CHANNELS" in res.message, res
    assert request_item(ddb, req.id)["status"] == "PENDING"
    executed(dispatch(f"/ddb approve {req.id}", svc.context("U_B", "C_OPS")))


def test_reject_with_reason_then_approve_is_refused(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    done = run("U_B", f"/ddb reject {res.id} wrong helper, use helper-0002")
    assert isinstance(done, RequestResult) and done.ok, done
    assert done.status == "REJECTED" and done.decided_by == "U_B"
    assert done.reason == "wrong helper, use helper-0002"
    stored = request_item(ddb, res.id)
    assert stored["status"] == "REJECTED" and stored["reason"] == done.reason
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_C"), "already REJECTED", "U_B")
    refused(run("U_C", f"/ddb reject {res.id}"), "already REJECTED")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_requester_may_withdraw(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    done = run("U_A", f"/ddb reject {res.id}")
    assert isinstance(done, RequestResult) and done.status == "REJECTED", done
    assert done.decided_by == "U_A" and done.reason is None
    refused(approve(run, res.id), "already REJECTED")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_unknown_request_id_is_refused(run: Any, ddb: Any) -> None:
    before = without_audit(scan_all(ddb))
    refused(approve(run, "RNOSUCHREQUEST"), "no write request")
    refused(run("U_B", "/ddb reject RNOSUCHREQUEST"), "no write request")
    assert without_audit(scan_all(ddb)) == before
    res = run("U_B", "/ddb approve")
    assert isinstance(res, ErrorResult) and res.usage == "/ddb approve <request id>"


# == exactly once ================================================================================
def test_approving_an_executed_request_again_changes_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    executed(approve(run, res.id))
    # someone flips it back by other means; a second approval must not redo the change
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET enabled = :t",
                    ExpressionAttributeValues={":t": {"BOOL": True}})
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id, "U_C"), "already EXECUTED", "U_B")
    refused(approve(run, res.id, "U_B"), "already EXECUTED")
    assert without_audit(scan_all(ddb)) == before
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_item_changed_since_preview_goes_stale_and_writes_nothing(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false status=paused"))
    # a concurrent change of a touched attribute
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": "archived"}})
    changed = helper(ddb)
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert done.error and "changed" in done.error
    assert helper(ddb) == changed  # the concurrent change survives, nothing else written
    assert request_item(ddb, res.id)["status"] == "STALE"
    refused(approve(run, res.id, "U_C"), "already STALE")
    assert helper(ddb) == changed


def test_update_stale_when_the_item_was_deleted(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set priority=1 --no-touch"))
    ddb.delete_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb) is None  # the update did not recreate a half item


def test_update_stale_when_a_removed_or_absent_attribute_appeared(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set priority=1 --no-touch"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET priority = :p",
                    ExpressionAttributeValues={":p": {"N": "7"}})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb)["priority"] == Decimal(7)  # type: ignore[index]


def test_change_of_an_untouched_attribute_does_not_block(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false --no-touch"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": HELPER}},
                    UpdateExpression="SET #n = :n", ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":n": {"S": "Renamed"}})
    executed(approve(run, res.id))
    item = helper(ddb)
    assert item is not None and item["enabled"] is False and item["name"] == "Renamed"


def test_delete_stale_when_the_item_changed(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb delete helpers helper-0002"))
    ddb.update_item(TableName=full("helpers"), Key={"helper_id": {"S": "helper-0002"}},
                    UpdateExpression="SET execution_count = execution_count + :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    changed = helper(ddb, "helper-0002")
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert helper(ddb, "helper-0002") == changed


def test_put_new_stale_when_someone_created_it_meanwhile(
        run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"Mine"}'))
    put_item(ddb, "platforms", {"platform_id": "plat-0100", "name": "Theirs"})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "Theirs"}


def test_put_replace_stale_when_an_attribute_it_adds_appeared_meanwhile(
        run: Any, ddb: Any, clock: Clock) -> None:
    """The preview said `logo_alt: (absent) → new`; if it is no longer absent, it is stale."""
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0001","name":"HubSpot",'
                             '"logo_alt":"new"} --replace'))
    assert preview(res)["logo_alt"] == ("(absent)", "new")
    ddb.update_item(TableName=full("platforms"), Key={"platform_id": {"S": "plat-0001"}},
                    UpdateExpression="SET logo_alt = :v",
                    ExpressionAttributeValues={":v": {"S": "theirs"}})
    changed = get_item(ddb, "platforms", {"platform_id": "plat-0001"})
    done = approve(run, res.id)
    assert isinstance(done, RequestResult) and done.status == "STALE", done
    assert get_item(ddb, "platforms", {"platform_id": "plat-0001"}) == changed


def _one_executed(results: list[Any]) -> RequestResult:
    for r in results:
        assert isinstance(r, RequestResult), r
    winners = [r for r in results if r.ok]
    assert len(winners) == 1, results
    assert winners[0].status == "EXECUTED"
    for r in results:
        if not r.ok:
            assert r.event == "refused" and "already" in (r.refusal or ""), r
    return winners[0]


def _audit_outcomes(ddb: Any, request_id: str) -> list[tuple[str, str]]:
    return [(r["action"], r["outcome"]) for r in audit(ddb) if r["request_id"] == request_id]


def test_concurrent_approvals_by_eight_approvers_execute_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"Pipedrive",'
                             '"slug":"pipedrive"}'))
    results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    winner = _one_executed(results)
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "Pipedrive", "slug": "pipedrive"}
    stored = request_item(ddb, res.id)
    assert stored["status"] == "EXECUTED" and stored["decided_by"] == winner.decided_by
    assert _audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1


def test_concurrent_approvals_of_an_update_write_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set execution_count=100"))
    results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    _one_executed(results)
    assert helper(ddb)["execution_count"] == Decimal(100)  # type: ignore[index]
    assert _audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1
    assert sum(1 for a, _ in _audit_outcomes(ddb, res.id) if a == "approve refused") == 7


def test_double_click_executes_once(run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", '/ddb put platforms {"platform_id":"plat-0100","name":"X"}'))
    results = race(2, lambda _i: dispatch(f"/ddb approve {res.id}", as_user("U_B")))
    _one_executed(results)
    assert _audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1
    assert get_item(ddb, "platforms", {"platform_id": "plat-0100"}) == \
        {"platform_id": "plat-0100", "name": "X"}


def test_concurrent_gsi_approvals_run_update_table_once(
        run: Any, ddb: Any, as_user: Any, clock: Clock) -> None:
    res = created(run("U_A", "/ddb gsi create helpers StatusIndex status"))
    calls: list[str] = []

    def count(**_kw: Any) -> None:
        calls.append("UpdateTable")

    ddb.meta.events.register("before-call.dynamodb.UpdateTable", count)
    try:
        results = race(8, lambda i: dispatch(f"/ddb approve {res.id}", as_user(f"U_AP{i}")))
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.UpdateTable", count)
    _one_executed(results)
    assert calls == ["UpdateTable"]
    live = ddb.describe_table(TableName=full("helpers"))["Table"]["GlobalSecondaryIndexes"]
    assert "StatusIndex" in {g["IndexName"] for g in live}


def test_restart_between_request_and_approval(
        run: Any, ddb: Any, make_services: Any, services: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    restarted = make_services()  # a new process: nothing shared but the tables
    assert restarted is not services and restarted.requests is not services.requests
    restarted.requests.clock = clock
    assert [r[0] for r in dispatch("/ddb pending", restarted.context("U_B", "C_OPS")).rows] \
        == [res.id]
    executed(dispatch(f"/ddb approve {res.id}", restarted.context("U_B", "C_OPS")))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]
    refused(dispatch(f"/ddb approve {res.id}", make_services().context("U_C", "C_OPS")),
            "already EXECUTED")
    refused(approve(run, res.id, "U_C"), "already EXECUTED")
    assert _audit_outcomes(ddb, res.id).count(("approve", "EXECUTED")) == 1


# == expiry =====================================================================================
def test_late_approval_is_refused_as_expired(
        run: Any, ddb: Any, services: Any, clock: Clock) -> None:
    ttl = int(services.settings.ddb_bot_request_ttl.total_seconds())
    assert ttl == 30 * 60
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    assert res.expires_at == FAKE_NOW + ttl
    clock.now = FAKE_NOW + ttl  # expires_at is exclusive
    before = without_audit(scan_all(ddb))
    refused(approve(run, res.id), "expired")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    stored = request_item(ddb, res.id)
    assert stored["status"] == "EXPIRED"
    after = without_audit(scan_all(ddb))
    assert {t: v for t, v in after.items() if t != STATE} == \
        {t: v for t, v in before.items() if t != STATE}
    refused(approve(run, res.id, "U_C"), "already EXPIRED")
    assert ("expire", "EXPIRED") in _audit_outcomes(ddb, res.id)


def test_approval_just_before_expiry_runs(run: Any, ddb: Any, clock: Clock) -> None:
    res = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    clock.now = res.expires_at - 1  # type: ignore[operator]
    executed(approve(run, res.id))
    assert helper(ddb)["enabled"] is False  # type: ignore[index]


def test_shorter_request_ttl_from_settings(seeded: Any, ddb: Any, make_services: Any) -> None:
    svc = make_services(ddb_bot_request_ttl="5m")
    svc.requests.clock = clock_ = Clock()
    res = created(dispatch(f"/ddb update helpers {HELPER} set enabled=false",
                           svc.context("U_A", "C_OPS")))
    assert res.expires_at == FAKE_NOW + 300
    clock_.now = FAKE_NOW + 301
    refused(dispatch(f"/ddb approve {res.id}", svc.context("U_B", "C_OPS")), "expired")
    assert helper(ddb)["enabled"] is True  # type: ignore[index]


def test_expire_due_expires_only_overdue_pending_and_is_idempotent(
        run: Any, ddb: Any, services: Any, clock: Clock) -> None:
    old = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    old_done = created(run("U_A", "/ddb update helpers helper-0002 set enabled=false"))
    executed(approve(run, old_done.id))
    old_rejected = created(run("U_A", "/ddb update helpers helper-0003 set enabled=false"))
    run("U_B", f"/ddb reject {old_rejected.id}")
    clock.now = FAKE_NOW + 20 * 60
    fresh = created(run("U_A", "/ddb delete helpers helper-0004"))
    clock.now = FAKE_NOW + 31 * 60  # past the first requests' TTL, not the fresh one's

    expired = services.requests.expire_due()
    assert [r.id for r in expired] == [old.id]
    assert expired[0].status.value == "EXPIRED"
    assert services.requests.expire_due() == []
    assert request_item(ddb, old.id)["status"] == "EXPIRED"
    assert request_item(ddb, old_done.id)["status"] == "EXECUTED"
    assert request_item(ddb, old_rejected.id)["status"] == "REJECTED"
    assert request_item(ddb, fresh.id)["status"] == "PENDING"
    assert [r[0] for r in run("U_B", "/ddb pending").rows] == [fresh.id]
    refused(approve(run, old.id), "already EXPIRED")
    executed(approve(run, fresh.id))
    assert helper(ddb, "helper-0004") is None
    assert helper(ddb)["enabled"] is True  # type: ignore[index]
    expire_records = [r for r in audit(ddb) if r["action"] == "expire"]
    assert [(r["actor"], r["request_id"]) for r in expire_records] == [("ddb-bot", old.id)]


# == pending and history =========================================================================
def test_pending_lists_open_requests(run: Any, ddb: Any, clock: Clock) -> None:
    empty = run("U_B", "/ddb pending")
    assert isinstance(empty, TableResult) and empty.rows == [] and empty.notes
    first = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    clock.now += 1
    second = created(run("U_C", "/ddb delete helpers helper-0002"))
    clock.now += 1
    third = created(run("U_A", "/ddb gsi create helpers StatusIndex status"))
    executed(approve(run, second.id))
    res = run("U_B", "/ddb pending")
    assert isinstance(res, TableResult), res
    assert [r[0] for r in res.rows] == [third.id, first.id]  # newest first
    row = {r[0]: r for r in res.rows}[first.id]
    assert row[1] == f"update helpers {HELPER}" and row[2] == "<@U_A>"
    assert run("U_B", "/ddb pending extra").ok is False


def test_history_lists_every_step_with_its_actor(run: Any, ddb: Any, clock: Clock) -> None:
    a = created(run("U_A", f"/ddb update helpers {HELPER} set enabled=false"))
    refused(approve(run, a.id, "U_A"))
    executed(approve(run, a.id, "U_B"))
    b = created(run("U_C", "/ddb delete helpers helper-0002"))
    run("U_B", f"/ddb reject {b.id} not today")
    c = created(run("U_A", "/ddb delete helpers helper-0003"))
    clock.now += 3600
    refused(approve(run, c.id, "U_B"), "expired")

    res = run("U_B", "/ddb history --limit 50")
    assert isinstance(res, TableResult), res
    steps = [(row[1], row[2], row[3], row[5]) for row in reversed(res.rows)]  # oldest first
    assert steps == [
        ("<@U_A>", "request", a.id, "PENDING"),
        ("<@U_A>", "approve refused", a.id, steps[1][3]),
        ("<@U_B>", "approve", a.id, "EXECUTED"),
        ("<@U_C>", "request", b.id, "PENDING"),
        ("<@U_B>", "reject", b.id, "REJECTED"),
        ("<@U_A>", "request", c.id, "PENDING"),
        ("ddb-bot", "expire", c.id, "EXPIRED"),
        ("<@U_B>", "approve refused", c.id, steps[7][3]),
    ]
    assert "second person" in steps[1][3] and "expired" in steps[7][3]
    assert {row[4] for row in res.rows if row[3] == a.id and row[2] != "approve refused"} == \
        {f"update helpers {HELPER}"}
    # the audit records keep the preview and the reason
    rejected = next(r for r in audit(ddb) if r["action"] == "reject")
    assert rejected["detail"]["reason"] == "not today"
    assert rejected["detail"]["preview"]
    limited = run("U_B", "/ddb history --limit 2")
    assert len(limited.rows) == 2
    assert isinstance(run("U_B", "/ddb history --limit 0"), ErrorResult)
