"""AWS Lambda entry points (``serverless.yml``): Slack over the HTTP API, the digest, the sweep.

- ``slack_events``: ``POST /slack/events`` from API Gateway (HTTP API, payload 2.0), served
  by Bolt's Lambda adapter. Every listener acks and registers its work as a lazy listener
  (``Services.after = AfterAck.LAZY``, ``bot.listeners.acked``): the adapter invokes this
  same function again, asynchronously (``InvocationType=Event``), and that invocation runs
  only the work. Nothing is left in a thread: Lambda freezes the process once the handler
  returns, so such work would never run.
- ``digest`` and ``sweep``: EventBridge schedules. Each call is one synchronous
  ``digest_tick`` / ``sweep_expired``; the digest's window lock in the state table posts a
  window once however many invocations overlap.

Settings come from the environment, as ``serve`` reads them. The two Slack secrets may be
named instead by ``SLACK_BOT_TOKEN_PARAMETER`` / ``SLACK_SIGNING_SECRET_PARAMETER``: SSM
Parameter Store names (SecureString), read once per cold start, so the values are never in
the function's configuration. Everything is built once per process (a warm container reuses
it), on Lambda while the module is imported (the init phase, before the first event waits
on it), and no scheduler or thread pool is started.

An invocation that carries ``x-slack-bolt-lazy-*`` headers runs only a lazy listener and
skips its ack step (Bolt's lazy mode). Anyone on the internet can send headers through the
HTTP API, but not a top-level key of the event: only our own asynchronous invocation
(``SelfInvoke``, IAM-guarded) marks the event with ``LAZY_MARK``. Unmarked events lose
those headers before Bolt sees them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.aws_lambda.handler import (
    SlackRequestHandler,
    not_found,
    to_aws_response,
    to_bolt_request,
)
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from bot.config import ConfigError, Settings, load_settings
from bot.listeners.acked import CARRIED, NO_WORK_KEY
from bot.services import AfterAck, Services

log = logging.getLogger(__name__)
# environment variable naming the SSM parameter → the setting it holds
SECRET_PARAMETERS = {"SLACK_BOT_TOKEN_PARAMETER": "slack_bot_token",
                     "SLACK_SIGNING_SECRET_PARAMETER": "slack_signing_secret",
                     # set only while a signing-secret rotation is under way (README)
                     "SLACK_SIGNING_SECRET_PREVIOUS_PARAMETER": "slack_signing_secret_previous"}
LAZY_MARK = "ddb_bot_lazy"  # top-level event key: this invocation is our own lazy run
LAZY_HEADERS = ("x-slack-bolt-lazy-only", "x-slack-bolt-lazy-function-name")
NOT_STARTED = ("ddb-bot could not start this (the AWS Lambda Invoke call failed: {error}). "
               "Nothing was run; try again, and tell whoever runs ddb-bot if it persists.")


class LambdaContext(Protocol):
    """What the handlers use of the Lambda runtime's context object."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str


# -- settings ----------------------------------------------------------------------------------
def secrets_from_ssm(environ: Mapping[str, str] | None = None, client: Any | None = None) -> dict[str, str]:
    """The Slack secrets whose SSM parameter names the environment gives, decrypted; {} when
    it names none (local runs and tests take ``SLACK_*`` from the environment)."""
    env = os.environ if environ is None else environ
    wanted = {env[var]: field for var, field in SECRET_PARAMETERS.items() if env.get(var)}
    if not wanted:
        return {}
    if client is None:
        import boto3

        client = boto3.client("ssm")
    try:
        resp = client.get_parameters(Names=sorted(wanted), WithDecryption=True)
    except (ClientError, BotoCoreError) as exc:
        raise ConfigError(f"ddb-bot: could not read the Slack secrets from SSM: {exc}") from None
    missing = sorted(set(resp.get("InvalidParameters", [])) | (set(wanted) - {
        p["Name"] for p in resp.get("Parameters", [])}))
    if missing:
        raise ConfigError("ddb-bot: SSM parameter(s) not found: " + ", ".join(missing))
    return {wanted[p["Name"]]: p["Value"] for p in resp["Parameters"]}


@cache
def _settings() -> Settings:
    settings = load_settings(**secrets_from_ssm())
    from bot.logs import setup

    tokens = (settings.slack_bot_token, settings.slack_signing_secret,
              settings.slack_signing_secret_previous)
    setup(settings.ddb_bot_log_level, json_lines=True,
          secrets=[t.get_secret_value() for t in tokens if t is not None])
    return settings


@cache
def _services() -> Services:
    return Services.build(_settings(), after=AfterAck.LAZY)


# -- Slack events ------------------------------------------------------------------------------
class SelfInvoke(LambdaLazyListenerRunner):
    """Bolt's Lambda lazy runner, marking the event as ours (``LAZY_MARK``) with what the
    ack step carried, and starting nothing when the ack step said there is no work."""

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        context = request.context
        if context.get(NO_WORK_KEY):
            return
        event = dict(context["lambda_request"])
        headers = dict(event.get("headers") or {})
        headers[LAZY_HEADERS[0]] = "1"
        headers[LAZY_HEADERS[1]] = str(request.lazy_function_name)
        event["headers"] = headers
        event[LAZY_MARK] = {CARRIED: context.get(CARRIED)}
        try:
            self.lambda_client.invoke(FunctionName=context["aws_lambda_invoked_function_arn"],
                                      InvocationType="Event", Payload=json.dumps(event))
        except (ClientError, BotoCoreError) as exc:
            log.exception("could not start %s asynchronously", request.lazy_function_name)
            respond = context.respond
            if respond is not None:
                code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
                respond(response_type="ephemeral", replace_original=False,
                        text=NOT_STARTED.format(error=code or type(exc).__name__))


class SlackEvents(SlackRequestHandler):
    """Bolt's Lambda handler for ``POST /slack/events`` (see the module docstring)."""

    def __init__(self, app: App, lambda_client: Any) -> None:
        super().__init__(app)
        app.listener_runner.lazy_listener_runner = SelfInvoke(self.logger, lambda_client)

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        http = (event.get("requestContext") or {}).get("http") or {}
        if http.get("method") != "POST":
            return not_found()
        lazy = event.get(LAZY_MARK)
        if not isinstance(lazy, dict):
            lazy = None
            headers = event.get("headers") or {}
            event = {**event, "headers": {k: v for k, v in headers.items()
                                          if k.lower() not in LAZY_HEADERS}}
        req = to_bolt_request(event)
        req.context["aws_lambda_function_name"] = context.function_name
        req.context["aws_lambda_invoked_function_arn"] = context.invoked_function_arn
        req.context["lambda_request"] = {k: v for k, v in event.items() if k != LAZY_MARK}
        if lazy is not None and lazy.get(CARRIED) is not None:
            req.context[CARRIED] = lazy[CARRIED]
        return to_aws_response(self.app.dispatch(req))


@cache
def _slack_handler() -> SlackEvents:
    import boto3
    from botocore.config import Config

    from bot.access import closed_by_default, open_access_warning
    from bot.app import build_app

    services = _services()
    # closed by default, as serve and socket: an empty DDB_BOT_READERS / _APPROVERS opens
    # the bot to the whole workspace only when DDB_BOT_OPEN_ACCESS=true says so
    refusal = closed_by_default(services.settings)
    if refusal:
        raise ConfigError(refusal)
    warning = open_access_warning(services.settings)
    if warning:
        logging.getLogger("bot.access").warning(warning)
    app = build_app(services)
    # auth.test (the token's workspace, bot.edge / bot.workspace) now, in the cold start,
    # rather than in a thread that a frozen process would leave half done
    authorization = getattr(app, "authorization", None)
    if authorization is not None:
        authorization.refresh(wait=True)
    # an Event invocation answers 202 at once; retried once on a connection error
    lambda_client = boto3.client("lambda", region_name=services.settings.aws_region, config=Config(
        connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}))
    return SlackEvents(app, lambda_client)


def slack_events(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``POST /slack/events`` (HTTP API) and the function's own lazy invocations."""
    return _slack_handler().handle(event, context)


# -- schedules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scheduled:
    """The Web API client for the scheduled functions (they need no Bolt app)."""

    services: Services
    client: Any


@cache
def _scheduled() -> Scheduled:
    from bot.messaging.client import web_client

    services = _services()
    return Scheduled(services, web_client(services))


def digest(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge, every few minutes: post the due digest window if no run did yet (the
    window lock), retry windows whose run died unposted. Up to ``DIGEST_GRACE`` late still
    posts; later, the next window covers it (as ``serve``'s scheduler does)."""
    from bot.scheduler import DIGEST_GRACE, digest_tick

    run = _scheduled()
    outcomes = digest_tick(run.services, run.client, max_late=DIGEST_GRACE)
    log.info("digest: %s", "; ".join(outcomes))
    return {"outcomes": outcomes}


def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge, every minute: expire overdue requests and update their messages."""
    from bot.scheduler import sweep_expired

    run = _scheduled()
    return {"expired": sweep_expired(run.services, run.client)}


# -- the init phase ----------------------------------------------------------------------------
def _prepare(handler: str) -> None:
    """Build what ``handler`` (Lambda's ``_HANDLER``, ``module.function``) needs, now."""
    function = handler.rpartition(".")[2]
    if function == slack_events.__name__:
        _slack_handler()
    elif function in (digest.__name__, sweep.__name__):
        _scheduled()


if os.environ.get("AWS_LAMBDA_RUNTIME_API"):  # inside Lambda's runtime (or testkit.lambda_run)
    _prepare(os.environ.get("_HANDLER", ""))
