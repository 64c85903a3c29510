"""Configuration: defaults, validation naming the variable, comma lists, derived names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

VARS = (
    "STAGE", "AWS_REGION", "AWS_ENDPOINT_URL_DYNAMODB", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT", "DDB_BOT_STATE_TABLE", "DDB_BOT_APPROVAL_CHANNEL",
    "DDB_BOT_ALLOWED_CHANNELS", "DDB_BOT_READERS", "DDB_BOT_REQUESTERS", "DDB_BOT_APPROVERS",
    "DDB_BOT_REQUEST_TTL", "DDB_BOT_DIGEST_CRON", "DDB_BOT_DIGEST_TZ", "DDB_BOT_DIGEST_CHANNEL",
    "DDB_BOT_FAILED_STATUSES", "DDB_BOT_SCAN_CAP", "DDB_BOT_COUNT_CAP", "DDB_BOT_LOG_LEVEL",
    "DDB_BOT_POLICY_FILE", "DDB_BOT_WORKERS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No configuration from the outer environment and no stray `.env`."""
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    s = load_settings()
    assert s.stage == "dev"
    assert s.aws_region == "us-west-2"
    assert s.aws_endpoint_url_dynamodb is None
    assert s.slack_bot_token is None and s.slack_signing_secret is None
    assert s.slack_app_token is None and s.slack_api_url is None
    assert s.port == 3000
    assert s.ddb_bot_request_ttl == timedelta(minutes=30)
    assert s.ddb_bot_digest_cron == "0 9 * * *"
    assert s.ddb_bot_digest_tz == "UTC"
    assert s.ddb_bot_failed_statuses == ["failed", "error", "timeout"]
    assert s.ddb_bot_allowed_channels == []
    assert s.ddb_bot_readers == [] and s.ddb_bot_requesters == [] and s.ddb_bot_approvers == []
    assert s.ddb_bot_approval_channel is None and s.ddb_bot_digest_channel is None
    assert s.state_table == "mfh-dev-ddb-bot"
    assert s.table_prefix == "mfh-dev-"
    assert s.has_slack is False and s.has_aws is False


def test_state_table_follows_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "staging")
    s = load_settings()
    assert s.state_table == "mfh-staging-ddb-bot"
    assert s.table_prefix == "mfh-staging-"
    monkeypatch.setenv("DDB_BOT_STATE_TABLE", "my-own-table")
    assert load_settings().state_table == "my-own-table"


def test_good_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api/")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("DDB_BOT_REQUEST_TTL", "2h")
    monkeypatch.setenv("DDB_BOT_DIGEST_CRON", "30 7 * * 1-5")
    monkeypatch.setenv("DDB_BOT_DIGEST_TZ", "Europe/Berlin")
    monkeypatch.setenv("DDB_BOT_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.aws_region == "eu-central-1"
    assert s.port == 8080
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"
    assert s.has_aws and s.has_slack
    assert s.slack_bot_token is not None
    assert s.slack_bot_token.get_secret_value() == "xoxb-test"
    assert "xoxb-test" not in repr(s)
    assert s.ddb_bot_request_ttl == timedelta(hours=2)
    assert s.ddb_bot_digest_tz == "Europe/Berlin"
    assert s.ddb_bot_log_level == "DEBUG"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30m", timedelta(minutes=30)), ("900", timedelta(seconds=900)), ("1d", timedelta(days=1)),
     ("90s", timedelta(seconds=90)), (" 7d ", timedelta(days=7))],
)
def test_request_ttl_durations(monkeypatch: pytest.MonkeyPatch, raw: str,
                               expected: timedelta) -> None:
    monkeypatch.setenv("DDB_BOT_REQUEST_TTL", raw)
    assert load_settings().ddb_bot_request_ttl == expected


def test_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDB_BOT_APPROVERS", "U123ABC, S0G1 ,U456,")
    monkeypatch.setenv("DDB_BOT_READERS", "U1AA")
    monkeypatch.setenv("DDB_BOT_REQUESTERS", "")
    monkeypatch.setenv("DDB_BOT_ALLOWED_CHANNELS", "C01,C02AB")
    monkeypatch.setenv("DDB_BOT_FAILED_STATUSES", "failed, boom ,")
    s = load_settings()
    assert s.ddb_bot_approvers == ["U123ABC", "S0G1", "U456"]
    assert s.ddb_bot_readers == ["U1AA"]
    assert s.ddb_bot_requesters == []
    assert s.ddb_bot_allowed_channels == ["C01", "C02AB"]
    assert s.ddb_bot_failed_statuses == ["failed", "boom"]


def test_overrides_as_arguments() -> None:
    s = load_settings(ddb_bot_count_cap=5, stage="qa")
    assert s.ddb_bot_count_cap == 5 and s.state_table == "mfh-qa-ddb-bot"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("STAGE", "Prod"),
        ("STAGE", "dev stage"),
        ("STAGE", "-dev"),
        ("STAGE", ""),
        ("AWS_REGION", "mars"),
        ("AWS_REGION", "US-WEST-2"),
        ("AWS_REGION", "us-west"),
        ("DDB_BOT_REQUEST_TTL", "soon"),
        ("DDB_BOT_REQUEST_TTL", "30 minutes"),
        ("DDB_BOT_REQUEST_TTL", "0"),
        ("DDB_BOT_REQUEST_TTL", "30s"),  # below 1 minute
        ("DDB_BOT_REQUEST_TTL", "8d"),  # above 7 days
        ("DDB_BOT_DIGEST_CRON", "every morning"),
        ("DDB_BOT_DIGEST_CRON", "0 9 * *"),
        ("DDB_BOT_DIGEST_CRON", "61 9 * * *"),
        ("DDB_BOT_DIGEST_TZ", "Mars/Olympus_Mons"),
        ("DDB_BOT_DIGEST_TZ", "../../etc/passwd"),
        ("DDB_BOT_APPROVERS", "alice,bob"),
        ("DDB_BOT_APPROVERS", "U123,@carol"),
        ("DDB_BOT_READERS", "u123abc"),
        ("DDB_BOT_REQUESTERS", "U1 U2"),
        ("DDB_BOT_ALLOWED_CHANNELS", "#general"),
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "http"),
        ("SLACK_API_URL", "not a url"),
        ("SLACK_API_URL", "ftp://slack.example.com/api/"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000"),
        ("DDB_BOT_SCAN_CAP", "0"),
        ("DDB_BOT_COUNT_CAP", "lots"),
        ("DDB_BOT_LOG_LEVEL", "chatty"),
        ("DDB_BOT_WORKERS", "0"),
        ("DDB_BOT_WORKERS", "257"),
        ("DDB_BOT_WORKERS", "many"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, var: str,
                                      value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert f"{var}:" in text
    assert "bad configuration" in text
    # one problem, one line
    assert len(text.strip().splitlines()) == 2


def test_every_bad_variable_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "PROD")
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("DDB_BOT_DIGEST_TZ", "Nowhere/Land")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    for var in ("STAGE:", "PORT:", "DDB_BOT_DIGEST_TZ:"):
        assert var in text


def test_config_error_stops_the_process() -> None:
    # a ConfigError is a SystemExit: start-up ends with the message, not a traceback
    assert issubclass(ConfigError, SystemExit)


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "super-secret-signing")
    monkeypatch.setenv("PORT", "nope")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "super-secret-signing" not in str(err.value)


def test_dotenv_in_working_directory_is_read(clean_env: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("STAGE=qa\nDDB_BOT_APPROVERS=U1AB,U2CD\n")
    s = load_settings()
    assert s.stage == "qa" and s.ddb_bot_approvers == ["U1AB", "U2CD"]
    # the environment wins over .env
    monkeypatch.setenv("STAGE", "prod")
    assert load_settings().stage == "prod"


def test_bad_value_in_dotenv_names_the_variable(clean_env: Path) -> None:
    (clean_env / ".env").write_text("AWS_REGION=nowhere\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "AWS_REGION:" in str(err.value)


def test_workers_size_the_work_queue_and_the_dynamodb_connection_pool(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import WORKERS, Services

    assert load_settings().ddb_bot_workers == WORKERS == 16
    monkeypatch.setenv("DDB_BOT_WORKERS", "3")
    services = Services.build(load_settings())
    try:
        assert services.work.workers == 3
        # each worker may hold a connection, besides the prompt pool and the digest's readers
        assert services.client.meta.config.max_pool_connections == 3 + 16
    finally:
        services.shutdown()
