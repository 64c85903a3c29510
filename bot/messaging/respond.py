"""``respond()`` over kept-alive connections.

Bolt's ``Respond`` builds a new slack_sdk ``WebhookClient`` for every answer, and that
opens a new connection through urllib each time: a TCP (in production TLS) handshake,
urllib's opener chain and a socket teardown on every answer. Measured in process
(``benchmarks/cpu.py``) that was ~0.2-0.3 ms of CPU per answer on loopback HTTP, before
any TLS. ``KeepAliveRespond`` sends the same message (Bolt's own ``_build_message`` and
slack_sdk's ``_build_body``, so the JSON is identical) on a connection kept per worker
thread and per host, and returns the same ``WebhookResponse``.

Failure handling matches ``WebhookClient``'s defaults: a non-2xx status is returned, not
raised (so a 429 is not retried, as before); a connection error is retried once (slack_sdk's
``ConnectionErrorRetryHandler``). A kept connection the server has closed in the meantime
is replaced and the request sent again at once; that does not count as the retry (the
same request WebhookClient would have sent on a new connection in the first place). With a
proxy configured (``proxy=`` or the ``*_PROXY`` environment) it falls back to Bolt's
``Respond`` unchanged. The environment is read for proxies once per process, like the
settings: ``urllib.request.getproxies()`` walks all of ``os.environ`` and cost more CPU
per answer than the rest of this module (``benchmarks/cpu.py --profile``).
"""

from __future__ import annotations

import functools
import http.client
import json
import ssl as _ssl
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.context.respond import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.web.internal_utils import get_user_agent
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.internal_utils import _build_body

from bot.messaging.outbound import finish

TIMEOUT_S = 30  # WebhookClient's default
IDLE_S = 20.0  # a connection idle longer is not reused (servers drop idle ones)
RETRY_AFTER_S = 0.5  # slack_sdk's first backoff for connection errors
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError, http.client.CannotSendRequest, http.client.BadStatusLine)
# what WebhookClient's ConnectionErrorRetryHandler retries once, besides connect errors
_RETRIED = (http.client.RemoteDisconnected, ConnectionResetError)
_local = threading.local()
_HEADERS: dict[str, str] = {}
_SSL: list[_ssl.SSLContext] = []


@functools.cache
def env_proxied() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY`` and the like), read once."""
    return bool(urllib.request.getproxies())


def _headers() -> dict[str, str]:
    if not _HEADERS:
        _HEADERS.update({"Content-Type": "application/json;charset=utf-8",
                         "User-Agent": get_user_agent()})
    return _HEADERS


def _default_ssl() -> _ssl.SSLContext:
    if not _SSL:
        _SSL.append(_ssl.create_default_context())
    return _SSL[0]


def _connection(scheme: str, host: str, port: int | None, context: _ssl.SSLContext | None,
                fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
    """This thread's connection to ``host`` and whether it was used before."""
    pool: dict[tuple[str, str, int | None], tuple[http.client.HTTPConnection, float]] = \
        _local.__dict__.setdefault("pool", {})
    key = (scheme, host, port)
    kept = pool.pop(key, None)
    if kept is not None:
        conn, last = kept
        if not fresh and time.monotonic() - last < IDLE_S and conn.sock is not None:
            return conn, True
        conn.close()
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT_S,
                                           context=context or _default_ssl())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    return conn, False


def _keep(scheme: str, host: str, port: int | None, conn: http.client.HTTPConnection) -> None:
    _local.__dict__.setdefault("pool", {})[(scheme, host, port)] = (conn, time.monotonic())


def post(url: str, message: dict[str, Any], context: _ssl.SSLContext | None = None) -> WebhookResponse:
    """POST ``message`` as JSON to a response_url on a kept-alive connection."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Invalid URL detected: {url}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    data = json.dumps(_build_body(message) or {}).encode("utf-8")
    retried = False
    fresh = False
    while True:
        conn, reused = _connection(scheme, parts.hostname, parts.port, context, fresh)
        fresh = True
        try:
            if conn.sock is None:
                conn.connect()
        except OSError:  # urllib's URLError: retried once, as WebhookClient does
            conn.close()
            if retried:
                raise
            retried = True
            time.sleep(RETRY_AFTER_S)
            continue
        try:
            conn.request("POST", path, body=data, headers=_headers())
            resp = conn.getresponse()
            body = resp.read()
        except _STALE as exc:
            conn.close()
            if reused:
                continue  # the server closed a kept connection: send again on a new one
            if retried or not isinstance(exc, _RETRIED):
                raise
            retried = True
            time.sleep(RETRY_AFTER_S)
            continue
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            _keep(scheme, parts.hostname, parts.port, conn)
        charset = resp.headers.get_content_charset() or "utf-8"
        return WebhookResponse(url=url, status_code=resp.status, body=body.decode(charset),
                               headers=dict(resp.headers.items()))


class KeepAliveRespond(Respond):
    """Bolt's ``respond()``, sent over a kept-alive connection (see module docstring), its
    plain text escaped (``bot.messaging.outbound.finish``) whichever way it goes."""

    def __call__(self, text: str | dict[str, Any] = "", blocks: Any = None, attachments: Any = None,
                 response_type: str | None = None, replace_original: bool | None = None,
                 delete_original: bool | None = None, unfurl_links: bool | None = None,
                 unfurl_media: bool | None = None, thread_ts: str | None = None,
                 metadata: dict[str, Any] | None = None) -> WebhookResponse:
        if isinstance(text, dict):
            message = _build_message(**text)
        elif isinstance(text, str):
            message = _build_message(
                text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                replace_original=replace_original, delete_original=delete_original,
                unfurl_links=unfurl_links, unfurl_media=unfurl_media, thread_ts=thread_ts,
                metadata=metadata)
        else:
            raise ValueError(f"The arg is unexpected type ({type(text)})")
        message = finish(message)  # plain text escaped (bot.messaging.outbound)
        if self.response_url is None or self.proxy is not None or env_proxied():
            return super().__call__(message)
        return post(self.response_url, message, self.ssl)
