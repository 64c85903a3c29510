"""``/ddb describe`` against the team's own table definitions (DDB_BOT_SCHEMA_FILE), and the
start-up report of what the file and the bot do not share (issue 19, item 6)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from commands import dispatch
from commands.results import ErrorResult, TextResult
from testkit import engine
from tests.unit.test_schema_file import FIXTURE, with_status_index


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    """The team's serverless.yml after they added GSI ``StatusIndex`` to helpers."""
    path = tmp_path / "serverless.yml"
    path.write_text(with_status_index(FIXTURE.read_text()))
    return path


def _drift(services: Any, short: str) -> tuple[str, str]:
    result = dispatch(f"describe {short}", services.context("U_ALICE"))
    assert isinstance(result, TextResult), getattr(result, "message", result)
    title, body = result.sections[-1]
    return title, body


def _add_status_index(ddb: Any) -> None:
    """The GSI deployed, as the team's file says (KEYS_ONLY on ``status``)."""
    ddb.update_table(
        TableName="mfh-dev-helpers",
        AttributeDefinitions=[{"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "StatusIndex",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])


def test_a_gsi_in_the_file_is_drift_against_the_file_not_the_bot(
        make_services: Any, ddb: Any, team_file: Path) -> None:
    with_file = make_services(ddb_bot_schema_file=str(team_file))
    without = make_services()
    # not deployed yet: the file says it should be there
    assert _drift(with_file, "helpers") == (
        "Drift vs serverless.yml", "• GSI `StatusIndex` is declared but missing")
    assert _drift(without, "helpers")[1] == "none: matches the declared schema"
    _add_status_index(ddb)
    # deployed: it matches the truth; the bot's own restatement calls it undeclared
    assert _drift(with_file, "helpers") == ("Drift vs serverless.yml",
                                            "none: matches serverless.yml")
    assert _drift(without, "helpers") == (
        "Drift vs declared schema", "• GSI `StatusIndex` exists but is not declared")


def test_the_files_ttl_stream_pitr_protection_and_billing_are_compared(
        make_services: Any, ddb: Any, tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    for old, new in [
        ("          AttributeName: ttl\n          Enabled: true",
         "          AttributeName: ttl\n          Enabled: false"),
        ("        TableName: mfh-${opt:stage, 'dev'}-oauth-states\n        BillingMode: PAY_PER_REQUEST",
         "        TableName: mfh-${opt:stage, 'dev'}-oauth-states\n        BillingMode: PROVISIONED"),
        ("        TableName: mfh-${sls:stage}-helpers\n        BillingMode: PAY_PER_REQUEST\n"
         "        DeletionProtectionEnabled: true",
         "        TableName: mfh-${sls:stage}-helpers\n        BillingMode: PAY_PER_REQUEST\n"
         "        DeletionProtectionEnabled: false\n"
         "        StreamSpecification: {StreamViewType: NEW_IMAGE}\n"
         "        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}"),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "tables.yml"
    path.write_text(text)
    services = make_services(ddb_bot_schema_file=str(path))
    assert _drift(services, "executions")[1] == "• TTL is on `ttl` but not declared"
    assert _drift(services, "oauth-states")[1] == (
        "• billing is PAY_PER_REQUEST, declared PROVISIONED")
    # DynamoDB Local has no PITR operations: the bot then says nothing of PITR (engine
    # difference, tests/integration/test_engine_differences.py)
    pitr = ["• PITR is off, declared on"] if engine.on_moto() else []
    assert _drift(services, "helpers")[1].split("\n") == [
        "• stream is off, declared NEW_IMAGE", *pitr,
        "• deletion protection is on, declared off"]
    assert _drift(services, "users") == ("Drift vs tables.yml", "none: matches tables.yml")


def test_a_table_the_file_does_not_define_is_held_against_the_bots_schema(
        make_services: Any, tmp_path: Path) -> None:
    text = FIXTURE.read_text().replace("TableName: mfh-${sls:stage}-helpers",
                                       "TableName: mfh-${sls:stage}-helpers-v2")
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    services = make_services(ddb_bot_schema_file=str(path))
    assert _drift(services, "helpers") == (
        f"Drift vs declared schema (not in {path})", "none: matches the declared schema")


def test_a_file_broken_after_start_is_a_clear_error_in_describe(
        make_services: Any, team_file: Path) -> None:
    services = make_services(ddb_bot_schema_file=str(team_file))
    team_file.write_text(team_file.read_text().replace("KeyType: RANGE", "KeyType: SORT"))
    result = dispatch("describe users", services.context("U_ALICE"))
    assert isinstance(result, ErrorResult)
    assert f"{team_file}: line" in result.message and "`SORT` is not one of HASH, RANGE" in (
        result.message)


def test_start_up_logs_what_the_file_and_the_bot_do_not_share(
        make_services: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = with_status_index(FIXTURE.read_text()).replace(
        "TableName: mfh-${opt:stage, 'dev'}-oauth-states", "TableName: mfh-${sls:stage}-sessions")
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="bot.services"):
        make_services(ddb_bot_schema_file=str(path))
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    line = {name: text[:text.index(name)].count("\n") + 1
            for name in ("HelpersTable:", "OAuthStatesTable:")}
    assert warned == [
        f"DDB_BOT_SCHEMA_FILE: {path}: line {line['OAuthStatesTable:']}: table "
        "`mfh-dev-sessions` is in the file but not in the bot",
        f"DDB_BOT_SCHEMA_FILE: {path}: line {line['HelpersTable:']}: `mfh-dev-helpers` GSI "
        "`StatusIndex` is in the file but not in the bot",
        f"DDB_BOT_SCHEMA_FILE: table `mfh-dev-oauth-states` is in the bot but not in {path}",
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.services"):
        make_services(ddb_bot_schema_file=str(FIXTURE))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_python_m_bot_with_the_teams_file_and_with_a_broken_one(
        team_file: Path, tmp_path: Path) -> None:
    """What a person sees: the start-up warning and the drift in the demo console; a
    broken file stops the process (exit 2) with the setting, the file, the line, the reason."""
    from tests.integration.test_cli import run

    proc = run("demo", "-c", "/ddb describe helpers",
               env={"DDB_BOT_SCHEMA_FILE": str(team_file)})
    assert proc.returncode == 0, proc.stderr
    assert "Drift vs serverless.yml" in proc.stdout
    assert "GSI `StatusIndex` is declared but missing" in proc.stdout
    assert "`mfh-dev-helpers` GSI `StatusIndex` is in the file but not in the bot" in proc.stderr

    broken = tmp_path / "broken.yml"
    broken.write_text(FIXTURE.read_text().replace("TableName: mfh-${sls:stage}-helpers",
                                                  "TableName: mfh-${env:STAGE}-helpers"))
    proc = run("demo", "-c", "/ddb tables", env={"DDB_BOT_SCHEMA_FILE": str(broken)})
    line = broken.read_text().split("\n").index("        TableName: mfh-${env:STAGE}-helpers") + 1
    assert proc.returncode == 2 and proc.stdout == ""
    assert (f"DDB_BOT_SCHEMA_FILE: {broken}: line {line}: `HelpersTable` TableName: "
            "`${env:STAGE}` cannot be resolved by the bot") in proc.stderr
