"""``python -m bot init`` on every endpoint: the state table protected, unsupported settings
skipped by name, and the exit code saying whether the tables are usable.

Runs on the engine ``DDB_TEST_ENGINE`` chooses (moto's server, or DynamoDB Local, which
has no point-in-time recovery); the in-process cases make the endpoint answer as another
one would (DynamoDB Local's UnknownOperationException, IAM's AccessDeniedException)
through a botocore ``before-call`` hook, so both answers are checked on either engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from dynamo import tables
from testkit import engine
from testkit.engine import Endpoint

ROOT = Path(__file__).resolve().parents[2]
STATE = "mfh-qa-ddb-bot"
UNSUPPORTED = "point-in-time recovery: skipped (this endpoint does not support UpdateContinuousBackups)"


def init(endpoint: Endpoint, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_", "AWS_"))}
    env.update(endpoint.env(), STAGE="qa")
    return subprocess.run([sys.executable, "-m", "bot", "init", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with engine.endpoint("init") as ep:
        yield ep


def test_init_creates_the_state_table_protected(endpoint: Endpoint) -> None:
    proc = init(endpoint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    client = endpoint.client()
    desc = client.describe_table(TableName=STATE)["Table"]
    assert desc["DeletionProtectionEnabled"] is True
    assert [k["AttributeName"] for k in desc["KeySchema"]] == ["pk", "sk"]
    ttl = client.describe_time_to_live(TableName=STATE)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    lines = proc.stdout.splitlines()
    assert lines[:4] == [f"{STATE}: created", "  time to live on `ttl`: on",
                         lines[2], "  deletion protection: on"]
    if engine.on_moto():
        assert lines[2] == "  point-in-time recovery: on"
        pitr = client.describe_continuous_backups(TableName=STATE)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert lines[-1] == "tables usable"
    else:  # DynamoDB Local: no PITR, said by name; the table is usable
        assert lines[2] == f"  {UNSUPPORTED}"
        assert lines[-1] == ("tables usable; skipped (this endpoint does not support them): "
                             "point-in-time recovery")
    again = init(endpoint)
    assert again.returncode == 0 and again.stdout.startswith(f"{STATE}: exists\n"), again.stdout


def test_init_all_creates_every_table_on_this_endpoint(endpoint: Endpoint) -> None:
    proc = init(endpoint, "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = set(endpoint.client().list_tables()["TableNames"])
    assert names == {STATE} | {t.full_name("qa") for t in tables.TABLES}
    for name in names:
        assert f"{name}: created" in proc.stdout
    pitr_lines = [line for line in proc.stdout.splitlines()
                  if line.startswith("  point-in-time recovery")]
    declared = 1 + sum(t.pitr for t in tables.TABLES)  # the state table and users, accounts, ...
    assert len(pitr_lines) == declared
    expected = "  point-in-time recovery: on" if engine.on_moto() else f"  {UNSUPPORTED}"
    assert set(pitr_lines) == {expected}


def test_an_existing_unprotected_state_table_gets_pitr_and_is_told_about_deletion_protection(
        endpoint: Endpoint) -> None:
    """A state table made by an older init (no PITR, no deletion protection): init turns PITR
    on where it can and says how to turn deletion protection on; exit 3, still usable."""
    client = endpoint.client()
    params = {**tables.state_table_params(STATE), "DeletionProtectionEnabled": False}
    client.create_table(**params)
    proc = init(endpoint)
    assert proc.returncode == tables.EXIT_UNPROTECTED, proc.stdout + proc.stderr
    assert f"{STATE}: exists" in proc.stdout
    assert ("  deletion protection: off (the table existed without it; turn it on with `aws "
            f"dynamodb update-table --table-name {STATE} --deletion-protection-enabled`)"
            ) in proc.stdout
    assert f"NOT protected: {STATE} deletion protection" in proc.stderr
    assert client.describe_time_to_live(TableName=STATE)["TimeToLiveDescription"][
        "TimeToLiveStatus"] == "ENABLED"
    if engine.on_moto():
        assert "  point-in-time recovery: on" in proc.stdout


def test_a_state_table_with_other_keys_is_not_usable(endpoint: Endpoint) -> None:
    endpoint.client().create_table(
        TableName=STATE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    proc = init(endpoint, "--all")
    assert proc.returncode == tables.EXIT_UNUSABLE, proc.stdout + proc.stderr
    assert f"{STATE}: NOT USABLE: it exists with key" in proc.stdout
    assert f"tables NOT usable: {STATE}" in proc.stderr
    assert endpoint.client().list_tables()["TableNames"] == [STATE]  # --all stopped there


def test_an_unreachable_endpoint_is_said_without_a_traceback() -> None:
    from dynamo.local_engine import free_port

    proc = init(Endpoint(f"http://127.0.0.1:{free_port()}"))
    assert proc.returncode == tables.EXIT_UNUSABLE
    assert f"{STATE}: NOT USABLE: CreateTable failed: Could not connect" in proc.stdout
    assert "Traceback" not in proc.stderr


# -- the endpoint's answers, on either engine ----------------------------------------------------
def answer_with(client: Any, operation: str, code: str) -> None:
    """``operation`` answers DynamoDB's error ``code`` (HTTP 400) without being sent."""

    def respond(**_kw: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {"Error": {"Code": code, "Message": f"{code} for {operation}"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("http://endpoint", 400, {}, None), body

    client.meta.events.register(f"before-call.dynamodb.{operation}", respond)


OTHER = "mfh-dev-ddb-bot-next"  # a second state table beside the one ``ddb`` made


def test_an_operation_the_endpoint_lacks_is_skipped_by_name(ddb: Any) -> None:
    answer_with(ddb, "UpdateContinuousBackups", "UnknownOperationException")
    report = tables.ensure_state_table(ddb, OTHER)
    assert report.usable and report.created
    assert [(s.name, s.outcome) for s in report.settings] == [
        ("time to live on `ttl`", "on"), ("point-in-time recovery", "skipped"),
        ("deletion protection", "on")]
    assert tables.exit_code([report]) == tables.EXIT_USABLE


def test_access_denied_to_pitr_is_not_hidden_as_unsupported(ddb: Any) -> None:
    answer_with(ddb, "UpdateContinuousBackups", "AccessDeniedException")
    report = tables.ensure_state_table(ddb, OTHER)
    assert report.usable
    pitr = report.settings[1]
    assert (pitr.outcome, pitr.reason) == (
        "off", "UpdateContinuousBackups failed: AccessDeniedException: AccessDeniedException "
        "for UpdateContinuousBackups")
    assert tables.exit_code([report]) == tables.EXIT_UNPROTECTED
    assert tables.summary([report]) == f"tables usable; NOT protected: {OTHER} point-in-time recovery"
    with pytest.raises(tables.TablesNotReady, match="point-in-time recovery: off"):
        tables.create_state_table(ddb, OTHER)
