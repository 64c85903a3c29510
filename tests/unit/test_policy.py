"""The approval policy file: its model, its one-line start-up errors, rule resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from dynamo.policy import Policy, PolicyError, Rule, load_policy, parse_policy

ISSUE_EXAMPLE = """\
default: {approvals: 1}                 # optional; approvers default to DDB_BOT_APPROVERS
tables:
  users:    {delete: {approvals: 2}}
  api-keys: {"*": {approvals: 2, approvers: [S0SECURITY]}}
break_glass: [U0ONCALL, S0ONCALL]       # user or user-group ids
"""


def test_the_issues_example_parses_and_resolves_most_specific_first() -> None:
    policy = parse_policy(ISSUE_EXAMPLE)
    assert policy.rule("users", "delete") == Rule(approvals=2)
    assert policy.rule("users", "update") == Rule(approvals=1)  # the default
    assert policy.rule("api-keys", "update") == Rule(approvals=2, approvers=("S0SECURITY",))
    assert policy.rule("api-keys", "gsi-create").approvers == ("S0SECURITY",)
    assert policy.rule("helpers", "put") == Rule(approvals=1, approvers=None)
    assert policy.break_glass == ("U0ONCALL", "S0ONCALL")
    assert policy.approver_lists() == [("S0SECURITY",)]


def test_no_file_and_an_empty_file_mean_one_approval_by_ddb_bot_approvers() -> None:
    assert load_policy(None).rule("users", "delete") == Rule()
    assert parse_policy("").rule("users", "delete") == Rule()
    assert Policy().break_glass == ()


def test_kind_rule_beats_star_beats_default() -> None:
    policy = parse_policy("default: {approvals: 3}\ntables:\n  helpers:\n"
                          "    '*': {approvals: 2}\n    update: {approvals: 4}\n")
    assert policy.rule("helpers", "update").approvals == 4
    assert policy.rule("helpers", "delete").approvals == 2
    assert policy.rule("users", "delete").approvals == 3


@pytest.mark.parametrize(("text", "message"), [
    ("tables:\n  userz: {delete: {approvals: 2}}\n", "policy: tables: unknown table `userz`"),
    ("tables:\n  users: {drop: {approvals: 2}}\n", "policy: tables.users.drop: unknown kind"),
    ("tables:\n  users: {delete: {approvals: 2, quorum: 3}}\n",
     "policy: tables.users.delete.quorum: unknown key"),
    ("defaults: {approvals: 2}\n", "policy: defaults: unknown key"),
    ("tables:\n  users: {delete: {approvals: 0}}\n",
     "policy: tables.users.delete.approvals: must be between 1 and 5"),
    ("default: {approvals: 6}\n", "policy: default.approvals: must be between 1 and 5"),
    ("tables:\n  users: {delete: {approvals: two}}\n", "policy: tables.users.delete.approvals:"),
    ("break_glass: [oncall]\n", "policy: break_glass.0: `oncall` is not a Slack user or user-group id"),
    ("tables:\n  api-keys: {'*': {approvers: [security-team]}}\n",
     "policy: tables.api-keys.*.approvers.0: `security-team` is not a Slack"),
    ("- users\n", "policy: must be a mapping"),
    ("tables: {users: [\n", "policy: line 2 not valid YAML"),
])
def test_bad_policies_fail_with_one_line_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_settings_refuse_a_bad_policy_file_naming_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {delete: {approvals: 9}}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(ddb_bot_policy_file=str(path))
    lines = str(info.value).splitlines()
    assert lines[1] == (f"  DDB_BOT_POLICY_FILE: {path}: tables.users.delete.approvals: "
                        "must be between 1 and 5")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(ddb_bot_policy_file=str(tmp_path / "missing.yml"))
    path.write_text(ISSUE_EXAMPLE)
    assert load_settings(ddb_bot_policy_file=str(path)).ddb_bot_policy_file == str(path)


def test_start_up_stops_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {truncate: {approvals: 2}}\n")
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "-c", "/ddb help"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DDB_BOT_POLICY_FILE": str(path),
                               "HOME": str(tmp_path)}, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2
    assert f"DDB_BOT_POLICY_FILE: {path}: tables.users.truncate: unknown kind" in proc.stderr
    assert proc.stdout == ""
