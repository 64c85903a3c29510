"""Bolt's two built-in middlewares that hold secrets or call Slack, replaced in place.

- **Signature verification** accepts ``SLACK_SIGNING_SECRET`` and, while a rotation is under
  way, ``SLACK_SIGNING_SECRET_PREVIOUS`` (README, *Rotating secrets*): Slack signs with the
  new secret as soon as it is regenerated, while replicas still hold the old one until
  they restart. Which one verified goes on the request's log line (``signed_with``) and
  into ``ddb_bot_signature_checks_total``. A refused request is logged without its body
  (Bolt's own line carried the whole body: what a person typed).
- **Authorization** never calls Slack on a request's path. Bolt's single-workspace
  authorization calls ``auth.test`` on the first request and, while that fails, on every
  request: with Slack's API unreachable each request took ~2.5 s of retries and ended in a
  500 before any listener ran, so nobody was answered and nothing was logged. Here
  ``auth.test`` runs in the background (at start, and again at most every
  ``RETRY_S`` while it fails); until it has answered, requests go on with what the request
  itself says (team, user) and the bot token, which is all the listeners use, so the ack
  and the answer at ``response_url`` do not depend on the Web API.

Bolt builds its middleware list in ``App.__init__`` and has no API to swap a built-in one,
so ``install`` replaces the two entries of that list by type (and fails loudly if Bolt
stops building them), and puts the request-log middleware right after verification, before
anything that may fail, so every verified request gets its line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware import Middleware, RequestVerification, SingleTeamAuthorization
from slack_bolt.middleware.authorization.internals import _is_no_auth_required
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot import metrics

log = logging.getLogger(__name__)
RETRY_S = 30.0  # a failed auth.test is tried again this long after, on the next request
AUTH_TEST_TIMEOUT_S = 2


class RotatingRequestVerification(RequestVerification):
    """Bolt's signature check, trying the current signing secret, then the previous one."""

    def __init__(self, current: str, previous: str | None = None,
                 base_logger: logging.Logger | None = None) -> None:
        super().__init__(current, base_logger=base_logger)
        self.previous = SignatureVerifier(previous) if previous else None

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse:
        if self._can_skip(req.mode, req.body):
            return next()
        body = req.raw_body
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        signature = req.headers.get("x-slack-signature", [""])[0]
        if self.verifier.is_valid(body, timestamp, signature):
            used = "current"
        elif self.previous is not None and self.previous.is_valid(body, timestamp, signature):
            used = "previous"
        else:
            metrics.signature("invalid")
            try:
                age: float | None = round(time.time() - int(timestamp), 1)
            except ValueError:
                age = None
            log.warning("refused a request whose signature no signing secret verifies (401)",
                        extra={"timestamp_age_s": age, "secrets_tried": 2 if self.previous else 1})
            return self._build_error_response()
        metrics.signature(used)
        req.context["signed_with"] = used
        return next()


class BackgroundAuthorization(SingleTeamAuthorization):
    """Single-workspace authorization from an ``auth.test`` fetched off the request path."""

    def __init__(self, client: WebClient, base_logger: logging.Logger | None = None) -> None:
        super().__init__(base_logger=base_logger)
        # the app's client (token, URL, TLS, proxy), but trying once with a short timeout:
        # whoever waits for this answer (bot.workspace) waits seconds at most
        self.client = WebClient(token=client.token, base_url=client.base_url, ssl=client.ssl,
                                proxy=client.proxy, headers=client.headers,
                                timeout=AUTH_TEST_TIMEOUT_S, retry_handlers=[])
        self._lock = threading.Lock()
        self._running = False
        self._tried_at = float("-inf")

    @property
    def fetching(self) -> bool:
        """Whether an ``auth.test`` is under way (its answer may come any moment)."""
        return self._running

    def refresh(self, wait: bool = False) -> None:
        """Fetch ``auth.test`` in a background thread unless one runs or one failed lately."""
        with self._lock:
            if self.auth_test_result or self._running or \
                    time.monotonic() - self._tried_at < RETRY_S:
                return
            self._running = True
            self._tried_at = time.monotonic()
        thread = threading.Thread(target=self._fetch, name="ddb-auth-test", daemon=True)
        thread.start()
        if wait:
            thread.join()

    def _fetch(self) -> None:
        try:
            self.auth_test_result = self.client.auth_test()
        except SlackApiError as exc:
            log.error("Slack refused SLACK_BOT_TOKEN (auth.test: %s); answers at response_url "
                      "still work, Web API calls fail", exc.response.get("error"))
        except Exception as exc:
            log.warning("Slack's API is unreachable (auth.test: %s); retrying in %.0f s",
                        type(exc).__name__, RETRY_S)
        finally:
            with self._lock:
                self._running = False

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse:
        if self.auth_test_result or _is_no_auth_required(req):
            return super().process(req=req, resp=resp, next=next)
        self.refresh()
        client = req.context.client
        req.context.set_authorize_result(AuthorizeResult(
            enterprise_id=req.context.enterprise_id, team_id=req.context.team_id,
            user_id=req.context.user_id, bot_token=client.token if client else None))
        return next()


def install(app: App, first: Middleware, client: WebClient,
            secrets: tuple[str, str | None] | None) -> BackgroundAuthorization:
    """Replace Bolt's verification (``secrets``: the current and previous signing secret;
    None in Socket Mode, which verifies nothing) and authorization in ``app``'s middleware
    list, and put ``first`` (the request log) right after verification."""
    chain: list[Any] = app._middleware_list  # see the module docstring
    auth = BackgroundAuthorization(client)
    verifications = [i for i, m in enumerate(chain) if type(m) is RequestVerification]
    authorizations = [i for i, m in enumerate(chain) if type(m) is SingleTeamAuthorization]
    if len(authorizations) != 1 or len(verifications) != (1 if secrets else 0):
        raise RuntimeError("Bolt's built-in middlewares changed; bot.edge cannot replace them")
    if secrets:
        chain[verifications[0]] = RotatingRequestVerification(*secrets)
    chain[authorizations[0]] = auth
    chain.insert(authorizations[0], first)
    return auth
