"""The Slack Web API client every part of the bot posts with (listeners and scheduler alike).

Retries: 429s wait for ``Retry-After`` (3 times), connection errors retry twice.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.services import Services


def web_client(services: Services) -> WebClient:
    s = services.settings
    kwargs: dict[str, object] = {}
    if s.slack_api_url:
        kwargs["base_url"] = s.slack_api_url.rstrip("/") + "/"
    return WebClient(
        token=s.slack_bot_token.get_secret_value() if s.slack_bot_token else None,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3),
                        ConnectionErrorRetryHandler(max_retry_count=2)],
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )
