"""HTTP and Socket Mode entry points.

The HTTP adapter only translates types (like Bolt's own adapters): an HTTP request
becomes a ``BoltRequest``, ``app.dispatch`` runs it (Bolt verifies the signature and
timestamp), and the ``BoltResponse`` is written back. A threading server keeps one slow
client from delaying the next ack.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest

from bot.config import Settings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # the default listen backlog of 5 drops bursts of connections into 1 s SYN retries
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet access log
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: str, headers: dict[str, Any] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            for item in v if isinstance(v, list | tuple) else [v]:
                if k.lower() != "content-length":
                    self.send_header(k, item)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if urlparse(self.path).path == "/healthz":
            self._send(200, json.dumps({"ok": True}), {"content-type": "application/json"})
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        if url.path != EVENTS_PATH:
            self._send(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, "request too large")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        resp = self.server.app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
        self._send(resp.status, resp.body, resp.headers)


def start_http(app: App, host: str, port: int) -> tuple[SlackHTTPServer, threading.Thread]:
    """Serve in a background thread (tests, benchmarks); port 0 picks a free one."""
    server = SlackHTTPServer((host, port), app)
    thread = threading.Thread(target=server.serve_forever, name="ddb-bot-http", daemon=True)
    thread.start()
    return server, thread


def _services(settings: Settings) -> Any:
    from bot.services import Services

    return Services.build(settings)


def serve(settings: Settings, host: str = "0.0.0.0") -> int:
    from bot.app import build_app
    from bot.scheduler import start_scheduler

    services = _services(settings)
    app = build_app(services)
    server = SlackHTTPServer((host, settings.port), app)
    scheduler = start_scheduler(services, app.client)
    stop = threading.Event()

    def _shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing requests in flight, then stopping", signum)
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    log.info("ddb-bot serving HTTP on %s:%s%s (stage %s)", host, settings.port, EVENTS_PATH,
             settings.stage)
    server.serve_forever()
    scheduler.shutdown(wait=True)
    server.server_close()
    return 0


def socket_mode(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app

    if settings.slack_app_token is None:
        raise SystemExit("ddb-bot: SLACK_APP_TOKEN is required for Socket Mode")
    from bot.scheduler import start_scheduler

    services = _services(settings)
    app = build_app(services, socket_mode=True)
    start_scheduler(services, app.client)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    log.info("ddb-bot connecting in Socket Mode (stage %s)", settings.stage)
    handler.start()
    return 0
