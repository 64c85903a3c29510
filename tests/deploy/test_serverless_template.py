"""``serverless.yml`` checked by the real tools: the pinned Serverless Framework turns it into
CloudFormation (``serverless package``, no AWS account) and ``cfn-lint`` passes on that
template; then the template itself: IAM exactly ``iam/ddb-bot-policy.json`` plus what
Lambda needs, the protected state table as ``init`` makes it, the functions, schedules,
log retention, no secret in it; and the zip it deploys imports on a bare Python."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dynamo.tables import STATE_TTL, state_table_params
from tests.deploy.conftest import CANARY, STAGE, Packaged

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-west-2"
LAMBDA_PYTHON = (3, 11)  # serverless.yml's runtime
FUNCTIONS = {"SlackLambdaFunction": "bot.aws_lambda.slack_events",
             "DigestLambdaFunction": "bot.aws_lambda.digest",
             "SweepLambdaFunction": "bot.aws_lambda.sweep"}


def _resolved(value: Any) -> Any:
    """``Fn::Sub`` strings with the pseudo parameters filled in, as CloudFormation would."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return (value["Fn::Sub"].replace("${AWS::Region}", REGION).replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Partition}", "aws"))
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def _statements(packaged: Packaged) -> list[dict[str, Any]]:
    role = packaged.resource("IamRoleLambdaExecution")["Properties"]
    [policy] = role["Policies"]
    return _resolved(policy["PolicyDocument"]["Statement"])


def test_serverless_package_and_cfn_lint_pass(packaged: Packaged, tmp_path: Path) -> None:
    assert "Warning" not in packaged.output, packaged.output
    template = tmp_path / "template.json"
    template.write_text(json.dumps(packaged.template))
    lint = subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                           str(template)], capture_output=True, text=True, timeout=600, check=False)
    assert lint.returncode == 0, f"cfn-lint:\n{lint.stdout}{lint.stderr}"


def test_iam_is_the_runtime_policy_plus_only_what_lambda_needs(packaged: Packaged) -> None:
    policy = (ROOT / "iam" / "ddb-bot-policy.json").read_text()
    for placeholder, value in {"${AWS_REGION}": REGION, "${ACCOUNT_ID}": ACCOUNT, "${STAGE}": STAGE}.items():
        policy = policy.replace(placeholder, value)
    runtime = json.loads(policy)["Statement"]
    statements = _statements(packaged)
    ours = [s for s in statements if s.get("Sid") in {r["Sid"] for r in runtime}]
    assert ours == runtime  # the same statements, in the same order, word for word
    rest = [s for s in statements if s not in ours]
    logs = [s for s in rest if all(a.startswith("logs:") for a in s["Action"])]
    assert logs and all(r.startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/ddb-bot-{STAGE}")
                        for s in logs for r in s["Resource"])  # its own log groups only
    assert [s for s in rest if s not in logs] == [
        {"Sid": "StartTheWorkAfterEachAck", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ddb-bot-{STAGE}-slack"},
        {"Sid": "ReadTheSlackSecrets", "Effect": "Allow", "Action": ["ssm:GetParameters"],
         "Resource": [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ddb-bot/{STAGE}/slack-bot-token",
                      f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ddb-bot/{STAGE}/slack-signing-secret",
                      f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ddb-bot/{STAGE}/slack-signing-secret-previous"]}]


def test_state_table_is_protected_retained_and_as_init_makes_it(packaged: Packaged) -> None:
    table = packaged.resource("StateTable")
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    init = state_table_params(f"mfh-{STAGE}-ddb-bot")
    for key in ("TableName", "BillingMode", "KeySchema", "AttributeDefinitions", "DeletionProtectionEnabled"):
        assert props[key] == init[key], key
    assert props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": STATE_TTL, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_functions_schedules_route_and_log_retention(packaged: Packaged) -> None:
    import bot.aws_lambda

    functions = packaged.of_type("AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    for logical_id, handler in FUNCTIONS.items():
        props = functions[logical_id]["Properties"]
        assert props["Handler"] == handler and callable(getattr(bot.aws_lambda, handler.rsplit(".", 1)[1]))
        assert props["Runtime"] == "python3.11"
        assert props["Environment"]["Variables"]["STAGE"] == STAGE  # the table prefix: mfh-qa-
    rules = {r["Properties"]["ScheduleExpression"]: r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
             for r in packaged.of_type("AWS::Events::Rule").values()}
    assert rules == {"rate(5 minutes)": "DigestLambdaFunction", "rate(1 minute)": "SweepLambdaFunction"}
    [route] = packaged.of_type("AWS::ApiGatewayV2::Route").values()
    assert route["Properties"]["RouteKey"] == "POST /slack/events"
    [integration] = packaged.of_type("AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    retention = {g["Properties"]["LogGroupName"]: g["Properties"]["RetentionInDays"]
                 for g in packaged.of_type("AWS::Logs::LogGroup").values()}
    assert retention == {f"/aws/lambda/ddb-bot-{STAGE}-{f}": 30 for f in ("slack", "digest", "sweep")}
    # the asynchronous run of the work after an ack is never retried (it would answer twice)
    retries = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"]["MaximumRetryAttempts"]
               for c in packaged.of_type("AWS::Lambda::EventInvokeConfig").values()}
    assert retries == {"SlackLambdaFunction": 0, "DigestLambdaFunction": 0, "SweepLambdaFunction": 0}


def test_no_secret_in_the_template_and_its_settings_are_valid(packaged: Packaged,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    text = json.dumps(packaged.template)
    assert CANARY not in text  # the deploying shell's SLACK_* never reach the template
    env = packaged.resource("SlackLambdaFunction")["Properties"]["Environment"]["Variables"]
    assert not {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"} & set(env)
    assert env["SLACK_BOT_TOKEN_PARAMETER"] == f"/ddb-bot/{STAGE}/slack-bot-token"
    assert env["SLACK_SIGNING_SECRET_PARAMETER"] == f"/ddb-bot/{STAGE}/slack-signing-secret"
    assert not re.search(r"xox[bpa]-|xapp-", text)
    for var in [v for v in os.environ if v.startswith(("SLACK_", "DDB_BOT_", "STAGE"))]:
        monkeypatch.delenv(var)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()  # what the functions start with (before the SSM secrets)
    assert settings.state_table == f"mfh-{STAGE}-ddb-bot" and settings.table_prefix == f"mfh-{STAGE}-"
    assert (settings.ddb_bot_digest_cron, settings.ddb_bot_digest_tz) == ("0 9 * * *", "UTC")


def test_the_deployed_zip_imports_on_a_bare_python(packaged: Packaged, tmp_path: Path) -> None:
    """Lambda's Python imports the zip's root and nothing else: every dependency (compiled
    ones for Linux x86_64, CPython 3.11) must be in it."""
    with zipfile.ZipFile(packaged.artifact) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "task")
    assert not [n for n in names if n.startswith((".", "tests/", "testkit/", "benchmarks/"))]
    # bytecode ahead (the task directory is read-only), when built on Lambda's CPython 3.11
    assert ("bot/__pycache__/aws_lambda.cpython-311.pyc" in names) == (sys.version_info[:2] == LAMBDA_PYTHON)
    assert not [n for n in names if n.endswith(".pyc") and ".cpython-311." not in n]
    assert {"bot/aws_lambda.py", "commands/__init__.py", "dynamo/__init__.py"} <= set(names)
    probe = ("import sys; sys.path[:0] = [sys.argv[1]]; import bot.aws_lambda as m, bot.app, "
             "bot.scheduler, pydantic_core, yaml; assert all(callable(getattr(m, f)) for f in "
             "('slack_events', 'digest', 'sweep')); print(m.__file__)")
    python = sys.executable if sys.version_info[:2] == LAMBDA_PYTHON else shutil.which("python3.11")
    assert python, "the zip holds CPython 3.11 wheels (Lambda's runtime): put python3.11 on PATH"
    proc = subprocess.run([python, "-I", "-S", "-c", probe, str(tmp_path / "task")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(tmp_path / "task" / "bot" / "aws_lambda.py")
