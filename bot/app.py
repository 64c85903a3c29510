"""The Bolt app factory: one App, its Web API client, and every listener registered.

The Web API client points at ``SLACK_API_URL`` when set (tests point it at a local fake)
and retries 429s and connection errors with slack_sdk's own retry handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot import edge, metrics
from bot.listeners import register_listeners, surfaces
from bot.logs import ContextExecutor, dispatched, request_middleware
from bot.messaging.client import BotClient, web_client
from bot.messaging.respond import KeepAliveRespond
from bot.services import Services
from bot.workspace import OneWorkspace

log = logging.getLogger(__name__)


class RequestMiddleware(Middleware):
    """Every request: start its log line (``bot.logs.request_middleware``), give it a
    ``respond`` that keeps its connection alive (``bot.messaging.respond``) and a Web API
    client that escapes plain text (``bot.messaging.outbound``): both finish what they send.

    A ``Middleware`` subclass rather than a function: Bolt wraps a function middleware in
    one that inspects and injects its arguments on every request, which is CPU on the
    path of every ack."""

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        context = req.context
        client = context.client  # Bolt's, built for this request
        if client is not None and not isinstance(client, BotClient):
            client = context["client"] = BotClient.like(client)
        url = context.response_url
        if url is not None and "respond" not in context:
            # as Bolt's own: the Web API client's proxy and TLS
            context["respond"] = KeepAliveRespond(
                response_url=url, proxy=client.proxy if client else None,
                ssl=client.ssl if client else None)
        return request_middleware(req.body, context, next)


class DdbBotApp(App):
    """Bolt's App, ending each request's log line once its listener has returned.

    With ``process_before_response`` the listener runs on the dispatching thread after the
    middleware chain, so no middleware can wrap it; ``dispatch`` (HTTP and Socket Mode both
    call it) can."""

    # Bolt's authorization, replaced by one that calls auth.test off the request path
    # (bot.edge); serve() starts its first auth.test once the port is open
    authorization: edge.BackgroundAuthorization | None = None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        try:
            return super().dispatch(req)
        finally:
            dispatched()


def build_app(services: Services, *, socket_mode: bool = False) -> App:
    """The Bolt app: signature verification on in HTTP mode (Bolt's own check)."""
    s = services.settings
    if s.slack_bot_token is None:
        raise SystemExit("ddb-bot: SLACK_BOT_TOKEN is required to run the Slack app")
    if not socket_mode and s.slack_signing_secret is None:
        raise SystemExit("ddb-bot: SLACK_SIGNING_SECRET is required for HTTP mode")
    bolt_logger = logging.getLogger("slack_bolt")
    if bolt_logger.level == logging.NOTSET:
        # a level of its own, as Bolt's default logger has (the root's): Bolt reads NOTSET
        # as DEBUG and then formats a debug line per middleware on every request
        bolt_logger.setLevel(bolt_logger.getEffectiveLevel())
    app = DdbBotApp(
        # named: without a name Bolt calls inspect.stack() to take the caller's file name,
        # which resolves every loaded module's path (~50 ms of CPU at start)
        name="ddb-bot",
        client=web_client(services),
        signing_secret=s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None,
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
        # the listener runs on the request's thread and its response goes back when it
        # returns: every listener acks and hands its work to the bounded work queue
        # (``Services.after_ack``), so that is at once. With False, Bolt runs the listener
        # on its executor and polls every 10 ms for the ack: ~10 ms on every ack, and a
        # second thread hop before the work queue's
        process_before_response=True,
        logger=bolt_logger,
        # Bolt's default pool size, but carrying each request's log context (bot.logs);
        # serve()/socket_mode() drain it on SIGTERM
        listener_executor=ContextExecutor(max_workers=5, thread_name_prefix="bolt-listener"),
    )
    # one structured log line per request: what ran, for whom, outcome, ack and total time;
    # first after the signature check (either signing secret during a rotation), before
    # authorization, which never calls Slack on a request's path (bot.edge)
    previous = s.slack_signing_secret_previous
    app.authorization = edge.install(
        app, RequestMiddleware(), app.client,
        None if socket_mode or s.slack_signing_secret is None else (
            s.slack_signing_secret.get_secret_value(),
            previous.get_secret_value() if previous else None))
    # one workspace: a request from any other is refused before a listener reads anything
    app.middleware(OneWorkspace(app.authorization))
    services.access.client = app.client  # user groups resolve through the same client
    register_listeners(app, services)
    metrics.instrument(services, (ident for _kind, ident in surfaces(app)))

    @app.error
    def on_error(error: Exception, body: dict, logger: logging.Logger) -> BoltResponse | None:
        logger.exception("unhandled error in a listener: %s", type(error).__name__)
        return None

    return app
