"""The Slack Web API client every part of the bot posts with (listeners and scheduler alike).

Retries: 429s wait for ``Retry-After`` (3 times), connection errors retry twice. It is a
``SlackClient``: every message and view it sends has its plain text escaped
(``bot.messaging.outbound``). As a ``BotClient`` it also counts every call by method and
outcome, and every 429 (``bot.metrics``): ``api_call`` is the one method every Web API
method of slack_sdk goes through, and a retry handler is the one place that sees each 429
answer, the retried ones too. Bolt builds a plain ``WebClient`` for each request (copying
this one's retry handlers); the request middleware swaps in ``BotClient.like`` it.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot import metrics
from bot.messaging.outbound import SlackClient
from bot.services import Services


class CountedRateLimits(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (wait for ``Retry-After``), counting every 429 answer,
    including the last one it no longer retries."""

    def can_retry(self, *, state: RetryState, request: HttpRequest,
                  response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            metrics.slack_rate_limited(urlsplit(request.url).path.rsplit("/", 1)[-1])
        return super().can_retry(state=state, request=request, response=response, error=error)


class BotClient(SlackClient):
    """The bot's ``SlackClient``, counting each call: ok, error (Slack said ``ok: false``),
    rate_limited (429 after the retries), unreachable (no answer after the retries)."""

    def api_call(self, api_method: str, *, http_verb: str = "POST", files: dict | None = None,
                 data: dict | None = None, params: dict | None = None,
                 json: dict | None = None, headers: dict | None = None,
                 auth: dict | None = None) -> SlackResponse:
        start = time.monotonic()
        outcome = "error"
        try:
            resp = super().api_call(api_method, http_verb=http_verb, files=files, data=data,
                                    params=params, json=json, headers=headers, auth=auth)
            outcome = "ok"
            return resp
        except SlackApiError as exc:
            outcome = "rate_limited" if exc.response.status_code == 429 else "error"
            raise
        except OSError:  # urllib's URLError, timeouts, refused connections
            outcome = "unreachable"
            raise
        finally:
            metrics.slack_call(api_method, outcome, time.monotonic() - start)


def web_client(services: Services) -> BotClient:
    s = services.settings
    kwargs: dict[str, object] = {}
    if s.slack_api_url:
        kwargs["base_url"] = s.slack_api_url.rstrip("/") + "/"
    return BotClient(
        token=s.slack_bot_token.get_secret_value() if s.slack_bot_token else None,
        retry_handlers=[CountedRateLimits(max_retry_count=3),
                        ConnectionErrorRetryHandler(max_retry_count=2)],
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )
