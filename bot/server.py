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
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest

from bot import STARTED
from bot.config import Settings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # the default listen backlog of 5 drops bursts of connections into 1 s SYN retries
    request_queue_size = 128

    # server_close() must not wait for idle keep-alive connections (threads are daemons)
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App | None) -> None:
        self.app = app  # None: health only (Socket Mode)
        self.draining = False  # stopping: answer what arrives, then close the connection
        self.closed = False  # stopped: refuse (503) what still arrives on an old connection
        self.health: Callable[[], bool] = lambda: not self.draining
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    def enter(self) -> bool:
        with self._idle:
            if self.closed:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def close_when_idle(self, timeout: float) -> bool:
        """Wait until no request is being dispatched (each is acked within 3 s), then
        refuse any more; False if some were still running at the timeout."""
        with self._idle:
            idle = self._idle.wait_for(lambda: self._in_flight == 0, timeout)
            self.closed = True
            return idle


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
            ok = self.server.health()
            self._send(200 if ok else 503, json.dumps({"ok": ok}),
                       {"content-type": "application/json"})
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        if url.path != EVENTS_PATH or self.server.app is None:
            self._send(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, "request too large")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        if not self.server.enter():
            self.close_connection = True
            self._send(503, "shutting down", {"Connection": "close"})
            return
        try:
            resp = self.server.app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            extra = {}
            if self.server.draining:  # no more requests on this connection
                self.close_connection = True
                extra = {"Connection": "close"}
            self._send(resp.status, resp.body, {**resp.headers, **extra})
        finally:
            self.server.leave()


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
        server.draining = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    log.info("ddb-bot serving HTTP on %s:%s%s (stage %s)", host, settings.port, EVENTS_PATH,
             settings.stage, extra={"ready_s": round(time.monotonic() - STARTED, 3)})
    server.serve_forever()  # returns once a signal stopped the accept loop
    if not server.close_when_idle(timeout=5):
        log.warning("requests were still being acknowledged after 5 s; stopping anyway")
    # stop listening before the drain: new connections are refused at once (not left in
    # the backlog until the client times out) and a replacement can bind the port while
    # this process finishes its work
    server.server_close()
    drain(app, services, scheduler)
    return 0


def drain(app: App, services: Any, scheduler: Any) -> None:
    """Finish the work in flight: listeners (Bolt's pool), then the work they handed on
    (the services' pool), then scheduled jobs; nothing new is accepted by then."""
    start = time.monotonic()
    app.listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]
    stop_work = getattr(services, "shutdown", None)
    if stop_work is not None:
        stop_work()
    scheduler.shutdown(wait=True)
    log.info("stopped after finishing work in flight",
             extra={"drain_ms": round((time.monotonic() - start) * 1000, 1)})


def socket_mode(settings: Settings, host: str = "0.0.0.0") -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app

    if settings.slack_app_token is None:
        raise SystemExit("ddb-bot: SLACK_APP_TOKEN is required for Socket Mode")
    from bot.scheduler import start_scheduler

    services = _services(settings)
    app = build_app(services, socket_mode=True)
    scheduler = start_scheduler(services, app.client)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    stop = threading.Event()
    # GET /healthz on PORT in Socket Mode too (one container healthcheck for both modes):
    # healthy while the WebSocket to Slack is up
    health = SlackHTTPServer((host, settings.port), None)
    health.health = lambda: not stop.is_set() and handler.client.is_connected()
    threading.Thread(target=health.serve_forever, name="ddb-bot-health", daemon=True).start()

    def _shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing work in flight, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    handler.connect()
    log.info("ddb-bot started in Socket Mode (stage %s), /healthz on :%s", settings.stage,
             settings.port, extra={"ready_s": round(time.monotonic() - STARTED, 3)})
    stop.wait()
    handler.close()  # no new events; listeners already running finish below
    drain(app, services, scheduler)
    health.shutdown()
    health.server_close()
    return 0
