"""The approval policy file: its model, its one-line start-up errors, rule resolution,
and the strictest rule a change gets when its effect is more than its name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from dynamo.policy import NoCommonApprovers, Policy, PolicyError, Rule, load_policy, parse_policy
from dynamo.requests.model import Kind
from dynamo.requests.plan import judged_by_effect

ROOT = Path(__file__).resolve().parents[2]
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
    assert parse_policy("# nothing but a comment\n").rule("users", "delete") == Rule()
    assert Policy().break_glass == ()
    assert parse_policy("break_glass: []\n").break_glass == ()  # empty: nobody may


def test_kind_rule_beats_star_beats_default() -> None:
    policy = parse_policy("default: {approvals: 3}\ntables:\n  helpers:\n"
                          "    '*': {approvals: 2}\n    update: {approvals: 4}\n")
    assert policy.rule("helpers", "update").approvals == 4
    assert policy.rule("helpers", "delete").approvals == 2
    assert policy.rule("users", "delete").approvals == 3


def test_anchors_and_aliases_still_work_and_keep_their_lines() -> None:
    text = ("tables:\n  users: {delete: &two {approvals: 2}}\n  platforms: {delete: *two}\n")
    policy = parse_policy(text)
    assert policy.rule("platforms", "delete") == policy.rule("users", "delete") == Rule(approvals=2)


@pytest.mark.parametrize(("text", "message"), [
    ("tables:\n  userz: {delete: {approvals: 2}}\n",
     "policy: line 2: tables.userz: unknown table `userz`"),
    ("tables:\n  users: {drop: {approvals: 2}}\n", "policy: line 2: tables.users.drop: unknown kind"),
    ("tables:\n  users: {delete: {approvals: 2, quorum: 3}}\n",
     "policy: line 2: tables.users.delete.quorum: unknown key"),
    ("defaults: {approvals: 2}\n", "policy: line 1: defaults: unknown key"),
    ("tables:\n  users: {delete: {approvals: 0}}\n",
     "policy: line 2: tables.users.delete.approvals: must be between 1 and 5"),
    ("default: {approvals: 6}\n", "policy: line 1: default.approvals: must be between 1 and 5"),
    ("tables:\n  users: {delete: {approvals: two}}\n",
     "policy: line 2: tables.users.delete.approvals: must be a whole number between 1 and 5, "
     'not "two"'),
    ("break_glass: [oncall]\n",
     "policy: line 1: break_glass.0: `oncall` is not a Slack user or user-group id"),
    ("tables:\n  api-keys:\n    '*':\n      approvers:\n        - S0SECURITY\n        - sec-team\n",
     "policy: line 6: tables.api-keys.*.approvers.1: `sec-team` is not a Slack"),
    ("- users\n", "policy: must be a mapping"),
    ("tables: {users: [\n", "policy: line 2: not valid YAML"),
    ("a: 1\n---\nb: 2\n", "policy: line 2: not valid YAML"),
])
def test_bad_policies_fail_with_one_line_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


# -- shapes that used to weaken the policy silently (issue 18, attack 6) --------------------
DUPLICATE_TABLE = """\
default: {approvals: 1}
tables:
  users:
    delete: {approvals: 3}
  helpers: {update: {approvals: 2}}
  users:
    put: {approvals: 1}
"""


@pytest.mark.parametrize(("text", "message"), [
    # a table listed twice: YAML keeps the last entry, and the delete rule vanished
    (DUPLICATE_TABLE, "policy: line 6: tables.users: listed twice (first on line 3)"),
    ("tables:\n  users:\n    delete: {approvals: 3}\n    delete: {approvals: 1}\n",
     "policy: line 4: tables.users.delete: listed twice (first on line 3)"),
    ("tables:\n  users: {delete: {approvals: 3, approvals: 1}}\n",
     "policy: line 2: tables.users.delete.approvals: listed twice (first on line 2)"),
    ("break_glass: [U0ONCALL]\ndefault: {approvals: 2}\nbreak_glass: [U0OTHER]\n",
     "policy: line 3: break_glass: listed twice (first on line 1)"),
    ("tables:\n  'users': {delete: {approvals: 3}}\n  \"users\": {put: {approvals: 1}}\n",
     "policy: line 3: tables.users: listed twice (first on line 2)"),
    # not a count: YAML's true is not 1, nor are "2" and 2.0 two
    ("tables:\n  users:\n    delete:\n      approvals: true\n",
     "policy: line 4: tables.users.delete.approvals: must be a whole number between 1 and 5, "
     "not true"),
    ("tables:\n  users:\n    delete:\n      approvals: '2'\n",
     'policy: line 4: tables.users.delete.approvals: must be a whole number between 1 and 5, '
     'not "2"'),
    ("default:\n  approvals: 2.0\n",
     "policy: line 2: default.approvals: must be a whole number between 1 and 5, not 2.0"),
    ("default:\n  approvals: 1.5\n", "policy: line 2: default.approvals: must be a whole number"),
    ("default:\n  approvals:\n", "policy: line 2: default.approvals: must be a whole number"),
    ("default:\n  approvals: -1\n", "policy: line 2: default.approvals: must be between 1 and 5"),
    # an empty approver list read as "anyone but the requester"
    ("tables:\n  users:\n    delete:\n      approvals: 2\n      approvers: []\n",
     "policy: line 5: tables.users.delete.approvers: an empty approver list would admit anyone"),
    ("default: {approvers: [7]}\n", "policy: line 1: default.approvers.0: must be a name or id"),
    ("default: {approvers: S0TEAM}\n", "policy: line 1: default.approvers: must be a list"),
    # an unknown key at any depth
    ("tables:\n  users:\n    delete:\n      approvals: 2\n      aprovers: [U0SEC]\n",
     "policy: line 5: tables.users.delete.aprovers: unknown key"),
    ("default: {approvals: 1}\ntable:\n  users: {delete: {approvals: 2}}\n",
     "policy: line 2: table: unknown key"),
    ("tables:\n  users:\n    delete:\n", "policy: line 3: tables.users.delete: must be a rule"),
    ("tables:\n  users:\n", "policy: line 2: tables.users: must be a mapping"),
    # what would hide where a value came from
    ("base: &b {approvals: 2}\n", "policy: line 1: base: unknown key"),
    ("tables:\n  users:\n    delete:\n      <<: {approvals: 1}\n",
     "policy: line 4: merge keys (`<<`) are not supported"),
    ("tables: &t\n  users: *t\n",
     "policy: line 2: tables.users: an alias refers to the value it is part of"),
    ("? [users]\n: 1\n", "policy: line 1: a key must be a plain name"),
    ("tables: !!set {users}\n", "policy: line 1: `tag:yaml.org,2002:set` is not supported"),
])
def test_a_policy_cannot_weaken_itself_silently(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_aliases_cannot_blow_up_the_reader() -> None:
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    with pytest.raises(PolicyError, match="more than 10000 values"):
        parse_policy("\n".join(lines) + "\n")


def test_settings_refuse_a_bad_policy_file_naming_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {delete: {approvals: 9}}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(ddb_bot_policy_file=str(path))
    lines = str(info.value).splitlines()
    assert lines[1] == (f"  DDB_BOT_POLICY_FILE: {path}: line 2: tables.users.delete.approvals: "
                        "must be between 1 and 5")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(ddb_bot_policy_file=str(tmp_path / "missing.yml"))
    path.write_text(ISSUE_EXAMPLE)
    assert load_settings(ddb_bot_policy_file=str(path)).ddb_bot_policy_file == str(path)


def _start(mode: list[str], policy: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot <mode>`` with only the policy file (and what serve needs) set."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "DDB_BOT_POLICY_FILE": str(policy), "SLACK_BOT_TOKEN": "xoxb-1-2-3",
           "SLACK_SIGNING_SECRET": "startup-test-secret", "SLACK_APP_TOKEN": "xapp-1-2-3",
           "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x"}
    return subprocess.run([sys.executable, "-m", "bot", *mode], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


def test_start_up_stops_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {truncate: {approvals: 2}}\n")
    proc = _start(["demo", "-c", "/ddb help"], path, tmp_path)
    assert proc.returncode == 2
    assert f"DDB_BOT_POLICY_FILE: {path}: line 2: tables.users.truncate: unknown kind" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("mode", [["serve"], ["socket"], ["console", "-c", "/ddb help"]])
def test_serve_socket_and_console_refuse_a_policy_that_lists_a_table_twice(
        mode: list[str], tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(DUPLICATE_TABLE)
    proc = _start(mode, path, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("ddb-bot: bad configuration:\n"
                           f"  DDB_BOT_POLICY_FILE: {path}: line 6: tables.users: listed twice "
                           "(first on line 3); YAML would keep only the last one, so merge them "
                           "into one entry\n")
    assert proc.stdout == ""


# -- the strictest rule: a change judged by its effect (issue 18, attack 5) -----------------
def test_a_change_falls_under_the_rules_of_what_it_does() -> None:
    assert judged_by_effect(Kind.PUT, remove=(), existed=True) == (
        ("put", "update", "delete"), "replaces the item")
    assert judged_by_effect(Kind.PUT, remove=(), existed=False) == (("put",), "")
    assert judged_by_effect(Kind.UPDATE, remove=["email"], existed=True) == (
        ("update", "delete"), "removes attributes")
    assert judged_by_effect(Kind.UPDATE, remove=[], existed=True) == (("update",), "")
    assert judged_by_effect(Kind.DELETE, remove=(), existed=True) == (("delete",), "")
    assert judged_by_effect(Kind.GSI_CREATE, remove=(), existed=False) == (("gsi-create",), "")


REPLACE = ("put", "update", "delete")


@pytest.mark.parametrize(("text", "kinds", "rule", "by"), [
    # the issue's policy: a replacing put needs the delete rule's two
    ("tables: {users: {delete: {approvals: 2}}}", REPLACE, Rule(approvals=2), ("delete",)),
    ("tables: {users: {delete: {approvals: 2}}}", ("update", "delete"), Rule(approvals=2),
     ("delete",)),
    # the most approvals any of them asks, wherever it comes from
    ("tables: {users: {update: {approvals: 3}, delete: {approvals: 2}}}", REPLACE,
     Rule(approvals=3), ("update",)),
    ("tables: {users: {put: {approvals: 2}, delete: {approvals: 2}}}", REPLACE,
     Rule(approvals=2), ()),  # the put rule already is the strictest
    ("default: {approvals: 2}", REPLACE, Rule(approvals=2), ()),
    ("", REPLACE, Rule(), ()),
    # approvers: every named list must admit them; a rule without one adds none
    ("tables: {users: {delete: {approvals: 1, approvers: [S0SEC]}}}", REPLACE,
     Rule(approvals=1, approvers=("S0SEC",)), ("delete",)),
    ("tables: {users: {put: {approvers: [S0SEC, U0LEAD]}, delete: {approvals: 2}}}", REPLACE,
     Rule(approvals=2, approvers=("S0SEC", "U0LEAD")), ("put", "delete")),
    ("tables: {users: {put: {approvers: [S0OPS, S0SEC, U0LEAD]}, "
     "delete: {approvals: 2, approvers: [U0LEAD, S0SEC]}}}", REPLACE,
     Rule(approvals=2, approvers=("S0SEC", "U0LEAD")), ("put", "delete")),
    ("tables: {users: {'*': {approvals: 2, approvers: [S0SEC]}}}", REPLACE,
     Rule(approvals=2, approvers=("S0SEC",)), ()),
])
def test_the_strictest_rule_is_the_most_approvals_by_people_every_rule_admits(
        text: str, kinds: tuple[str, ...], rule: Rule, by: tuple[str, ...]) -> None:
    strictest = parse_policy(text).strictest("users", kinds)
    assert (strictest.rule, strictest.by) == (rule, by)
    # never weaker than any one of the rules it falls under
    for kind in kinds:
        own = parse_policy(text).rule("users", kind)
        assert strictest.rule.approvals >= own.approvals
        if own.approvers:
            assert set(strictest.rule.approvers or ()) <= set(own.approvers)


def test_approver_lists_with_no_id_in_common_admit_nobody() -> None:
    policy = parse_policy("tables: {users: {put: {approvers: [S0OPS]}, "
                          "delete: {approvals: 2, approvers: [S0SEC]}}}")
    with pytest.raises(NoCommonApprovers) as info:
        policy.strictest("users", REPLACE)
    assert str(info.value) == ("the put and delete rules of `users` name different approvers "
                               "(put: S0OPS; delete: S0SEC) and no id is in all of them, so "
                               "nobody could approve this change")
    assert policy.strictest("users", ("put",)).rule == Rule(approvers=("S0OPS",))
