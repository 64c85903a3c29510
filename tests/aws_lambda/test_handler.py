"""The Lambda handler's own edges: forged lazy headers, bad signatures, other methods, a
failed asynchronous invocation, and the Slack secrets read from SSM Parameter Store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.aws_lambda import NOT_STARTED, secrets_from_ssm
from bot.config import ConfigError
from dynamo import demo
from testkit.lambda_invoke import http_api_event
from testkit.moto import threaded_moto_server
from tests.aws_lambda.conftest import BOT_TOKEN, SIGNING_SECRET, SLACK_FN, LambdaBot, change_submission

SSM_TOKEN = "xoxb-9999-8888-fromparameterstore"
SSM_SECRET = "ssm-signing-secret-3c5e7a9b1d"


def _async(lam: LambdaBot) -> list[Any]:
    return [r for r in lam.settle() if r.invocation_type == "Event"]


def test_lazy_headers_from_the_internet_are_ignored(lam: LambdaBot) -> None:
    """Bolt runs only a named lazy function, skipping the ack step, for a request that says
    so in its headers; from API Gateway anyone could send them with a replayed request.
    Here the ack step still runs (the change modal's validation refuses the submission)
    and no work starts."""
    form = change_submission("helpers", demo.DEMO_HELPER_ID, "enabled=maybe")
    resp = lam.sender.post(urlencode({"payload": json.dumps(form)}), headers={
        "x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "post_submitted"})
    assert resp.status == 200 and json.loads(resp.body)["response_action"] == "errors"
    assert _async(lam) == []
    assert not lam.slack.find("/api/chat.postMessage")


def test_bad_signature_is_refused_and_starts_nothing(lam: LambdaBot) -> None:
    assert lam.sender.slash("tables", signature="v0=" + "0" * 64).status == 401
    assert _async(lam) == [] and not lam.slack.find("/response/")


def test_other_methods_are_not_found(lam: LambdaBot) -> None:
    run = lam.stub.invoke(SLACK_FN, http_api_event("", {}, method="GET"))
    assert run.response["statusCode"] == 404


def test_a_failed_asynchronous_invocation_is_told_to_the_person(lam: LambdaBot) -> None:
    lam.errors_expected = True  # the failed Invoke call is logged as an error
    lam.configure(AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:9")  # nothing listens there
    assert lam.sender.slash(f"get users {demo.DEMO_USER_ID}").status == 200
    told = lam.answers("could not start this")[0]
    assert told["response_type"] == "ephemeral"
    assert told["text"] == NOT_STARTED.format(error="EndpointConnectionError")
    assert _async(lam) == []


def test_closed_by_default_as_serve_is(lam: LambdaBot) -> None:
    lam.configure(DDB_BOT_OPEN_ACCESS="false", DDB_BOT_APPROVERS="U_BOB")
    lam.failures_expected = 1
    run = lam.stub.invoke(SLACK_FN, http_api_event("", {}))
    assert run.returncode == 1
    assert "DDB_BOT_READERS is empty" in run.output["error"] and "DDB_BOT_OPEN_ACCESS=true" in run.output["error"]
    assert not lam.slack.find("/api/")  # refused before anything reached Slack


# -- Slack secrets from SSM Parameter Store -----------------------------------------------------
@pytest.fixture(scope="module")
def ssm_url() -> Iterator[str]:
    import boto3

    with threaded_moto_server() as url:
        ssm = boto3.client("ssm", region_name="us-west-2", endpoint_url=url)
        ssm.put_parameter(Name="/ddb-bot/dev/slack-bot-token", Value=SSM_TOKEN, Type="SecureString")
        ssm.put_parameter(Name="/ddb-bot/dev/slack-signing-secret", Value=SSM_SECRET,
                          Type="SecureString")
        yield url


def test_slack_secrets_are_read_from_ssm_at_cold_start(lam: LambdaBot, ssm_url: str) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        lam.stub.env.pop(var)
    lam.configure(AWS_ENDPOINT_URL_SSM=ssm_url,
                  SLACK_BOT_TOKEN_PARAMETER="/ddb-bot/dev/slack-bot-token",
                  SLACK_SIGNING_SECRET_PARAMETER="/ddb-bot/dev/slack-signing-secret")
    lam.sender.verifier.signing_secret = SSM_SECRET
    assert lam.sender.slash("tables").status == 200
    assert "Tables of stage" in lam.answers()[0]["text"]
    lam.settle()
    auths = {c["auth"] for c in lam.slack.find("/api/") if c.get("auth")}
    assert auths == {f"Bearer {SSM_TOKEN}"}  # every Web API call used the stored token
    # a request signed with any other secret is refused
    lam.sender.verifier.signing_secret = SIGNING_SECRET
    assert lam.sender.slash("tables").status == 401
    logged = "".join(r.stderr for r in lam.settle())
    assert SSM_TOKEN not in logged and SSM_SECRET not in logged and BOT_TOKEN not in logged


def test_a_rotation_under_way_accepts_the_previous_secret_from_ssm(lam: LambdaBot, ssm_url: str) -> None:
    """The old signing secret's parameter, named while a rotation is under way: requests
    signed with either secret are served, any other is refused."""
    import boto3

    previous = "ssm-previous-signing-secret-7f1e"
    boto3.client("ssm", region_name="us-west-2", endpoint_url=ssm_url).put_parameter(
        Name="/ddb-bot/dev/slack-signing-secret-previous", Value=previous,
        Type="SecureString", Overwrite=True)
    lam.stub.env.pop("SLACK_SIGNING_SECRET")
    lam.configure(AWS_ENDPOINT_URL_SSM=ssm_url,
                  SLACK_SIGNING_SECRET_PARAMETER="/ddb-bot/dev/slack-signing-secret",
                  SLACK_SIGNING_SECRET_PREVIOUS_PARAMETER="/ddb-bot/dev/slack-signing-secret-previous")
    for secret in (SSM_SECRET, previous):
        lam.sender.verifier.signing_secret = secret
        assert lam.sender.slash("tables").status == 200
    assert all("Tables of stage" in a["text"] for a in lam.answers()[:2])
    lam.sender.verifier.signing_secret = SIGNING_SECRET
    assert lam.sender.slash("tables").status == 401
    logged = "".join(r.stderr for r in lam.settle())
    assert previous not in logged and SSM_SECRET not in logged


def test_a_missing_parameter_is_named(ssm_url: str) -> None:
    import boto3

    ssm = boto3.client("ssm", region_name="us-west-2", endpoint_url=ssm_url)
    env = {"SLACK_BOT_TOKEN_PARAMETER": "/ddb-bot/dev/slack-bot-token",
           "SLACK_SIGNING_SECRET_PARAMETER": "/ddb-bot/dev/no-such-secret"}
    with pytest.raises(ConfigError, match="SSM parameter\\(s\\) not found: /ddb-bot/dev/no-such-secret"):
        secrets_from_ssm(env, ssm)
    assert secrets_from_ssm({}, ssm) == {}  # none named: SLACK_* from the environment
    env["SLACK_SIGNING_SECRET_PARAMETER"] = "/ddb-bot/dev/slack-signing-secret"
    assert secrets_from_ssm(env, ssm) == {"slack_bot_token": SSM_TOKEN, "slack_signing_secret": SSM_SECRET}
