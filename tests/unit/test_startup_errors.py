"""Start-up errors name the problem: an incomplete Slack configuration stops with the
missing variable's name (never the demo), every bad setting names its variable, a
misspelt variable is named with the one it nearly spells, and ``python -m bot check``
prints the effective configuration (secrets masked) and tests each connection."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-1111-2222-startuperrors"
SECRET = "startup-errors-signing-secret"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No Slack or bot variable from outside, no `.env`; the root logger as it was
    (``main`` configures logging once it gets that far)."""
    for var in list(os.environ):
        if var.upper().startswith(("SLACK_", "DDB_BOT_")) or var.upper() in ("STAGE", "PORT"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
         **env: str) -> tuple[int, str, str]:
    for name, val in env.items():
        monkeypatch.setenv(name, val)
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("argv", "env", "missing"), [
    ([], {"SLACK_BOT_TOKEN": BOT_TOKEN}, ["SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]),
    ([], {"SLACK_SIGNING_SECRET": SECRET}, ["SLACK_BOT_TOKEN"]),
    ([], {"SLACK_APP_TOKEN": "xapp-1-A1-2-x"}, ["SLACK_BOT_TOKEN"]),
    (["serve"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A1-2-x"},
     ["SLACK_SIGNING_SECRET"]),
    (["socket"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET},
     ["SLACK_APP_TOKEN"]),
    (["serve"], {}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
])
def test_an_incomplete_slack_configuration_names_what_is_missing_and_never_starts_the_demo(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
        env: dict[str, str], missing: list[str]) -> None:
    code, out, err = _run(monkeypatch, capsys, argv, **env)
    assert code == 2 and out == ""
    assert "incomplete Slack configuration" in err
    assert all(var in err for var in missing), err
    assert "demo" not in err.replace("to run the demo", "")  # only the way to choose it
    assert BOT_TOKEN not in err and SECRET not in err


def test_a_misspelt_variable_is_named_with_the_one_it_nearly_spells(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(monkeypatch, capsys, [], SLACK_BOT_TOKEN=BOT_TOKEN,
                           SLACK_SIGNING_SECRETS=SECRET)
    assert code == 2
    assert "SLACK_SIGNING_SECRETS is set but is not a setting; did you mean SLACK_SIGNING_SECRET?" \
        in err
    # alone, without any other Slack variable, it does not start the demo either
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, out, err = _run(monkeypatch, capsys, ["demo", "-c", "/ddb tables"])
    assert code == 2 and out == "" and "SLACK_SIGNING_SECRETS" in err


@pytest.mark.parametrize(("var", "value", "words"), [
    ("SLACK_BOT_TOKEN", "xoxp-1-2-3", "must be a bot token, which starts with `xoxb-`; this one "
     "starts with `xoxp-`"),
    ("SLACK_BOT_TOKEN", "", "is set but empty"),
    ("SLACK_APP_TOKEN", "xoxb-1-2-3", "must be a app-level token (Socket Mode), which starts "
     "with `xapp-`"),
    ("SLACK_SIGNING_SECRET", SECRET + "\n", "contains whitespace (a trailing newline"),
    ("SLACK_SIGNING_SECRET_PREVIOUS", SECRET, "SLACK_SIGNING_SECRET_PREVIOUS is set but "
     "SLACK_SIGNING_SECRET is not"),
    ("DDB_BOT_APPROVAL_CHANNEL", "#ops", "must be a Slack channel id"),
    ("DDB_BOT_DIGEST_CHANNEL", "ops", "must be a Slack channel id"),
    ("DDB_BOT_STATE_TABLE", "a b", "must be a DynamoDB table name"),
    ("PORT", "0", "greater than or equal to 1"),
    ("DDB_BOT_WORKERS", "lots", "valid integer"),
])
def test_every_bad_setting_stops_start_up_naming_its_variable(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], var: str,
        value: str, words: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert words in text and (var in text), text
    if var.startswith("SLACK_") and value.strip():
        assert value.strip() not in text  # a secret's value is never echoed
    assert main([]) == 2  # the process: exit 2 with the same lines
    assert words in capsys.readouterr().err


def test_the_same_secret_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET_PREVIOUS", SECRET)
    with pytest.raises(ConfigError, match="is the same as SLACK_SIGNING_SECRET"):
        load_settings()


def test_python_m_bot_with_a_bot_token_alone_exits_2_naming_the_missing_variables(
        tmp_path: Path) -> None:
    """The issue's case, as a process: it used to start the demo's import and say
    ``the demo needs the local extra``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": BOT_TOKEN}
    proc = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "SLACK_SIGNING_SECRET" in proc.stderr and "SLACK_APP_TOKEN" in proc.stderr
    assert "local extra" not in proc.stderr and BOT_TOKEN not in proc.stderr


# -- python -m bot check ---------------------------------------------------------------------
@pytest.fixture
def endpoint() -> Iterator[str]:
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_state_table
    from testkit.moto import threaded_moto_server

    with threaded_moto_server() as url:
        create_state_table(dynamodb_client("us-west-2", url), "mfh-dev-ddb-bot")
        yield url


def test_check_prints_the_configuration_masked_and_tests_each_connection(
        endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from testkit.fake_slack import FakeSlack

    slack = FakeSlack().start()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.api_url, "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
           "DDB_BOT_APPROVERS": "U_BOB"}
    try:
        code, out, err = _run(monkeypatch, capsys, ["check"], **env)
        assert code == 0, out + err
        assert BOT_TOKEN not in out + err and SECRET not in out + err
        assert "SLACK_BOT_TOKEN" in out and "xoxb-… (28 characters, masked)" in out
        assert f"set ({len(SECRET)} characters, masked)" in out
        assert "DDB_BOT_APPROVERS" in out and "U_BOB" in out and "serve" in out
        assert "dynamodb   ok   state table mfh-dev-ddb-bot readable" in out
        assert "slack      ok   team T1 as ddb-bot (UBOT)" in out
        assert slack.find("/api/auth.test")
    finally:
        slack.stop()
    # Slack gone, the state table missing: exit 1, each failure named
    code, out, _err = _run(monkeypatch, capsys, ["check"], DDB_BOT_STATE_TABLE="mfh-dev-nope")
    assert code == 1
    assert "dynamodb   FAIL state table mfh-dev-nope does not exist (python -m bot init)" in out
    assert "slack      FAIL unreachable" in out
