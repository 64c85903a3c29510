"""HTTP and Socket Mode entry points, served by waitress.

HTTP mode is a WSGI app on waitress: ``POST /slack/events`` goes through Bolt's own WSGI
adapter (``slack_bolt.adapter.wsgi``; the signature and timestamp are verified by
``bot.edge``), ``GET /healthz`` (liveness) answers 200 while serving and 503 once draining,
``GET /readyz`` (readiness) also checks DynamoDB and Slack (``bot.health``, cached) and
answers 503 naming what fails, ``GET /metrics`` is the Prometheus exposition
(``bot.metrics``). Socket Mode serves the same WSGI app without a Bolt app behind it, for
its health, readiness and metrics.

Why waitress (see README, *Benchmarks*): it reads every request whole in one event-loop
thread before a worker thread sees it, so a client that stalls mid-headers or mid-body
costs a socket and a small buffer, not a thread; it drops a connection idle for
``DDB_BOT_HTTP_IDLE_TIMEOUT``, refuses a body over the limit from its Content-Length
before reading it (413), caps the header block (431) and the number of open connections.
The worker threads are fixed. Beyond that this module only adds the header-count limit,
the health answer, and the graceful stop waitress does not have.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import TcpWSGIServer, create_server

from bot import STARTED
from bot.config import Settings

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from bot.health import Readiness

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
ACK_DRAIN_S = 5  # on SIGTERM, how long requests already read may take to be acked


@dataclass(frozen=True)
class Limits:
    """What one client may cost. Memory for buffered requests is at most about
    ``connections * (max_header_bytes + in_memory_body)``; bigger bodies spill to a
    temporary file, and no body may exceed ``max_body``."""

    idle_timeout: int = 30  # seconds: drop a connection silent this long (mid-request too)
    connections: int = 1500  # open connections; further ones wait in the listen backlog
    threads: int = 8  # WSGI worker threads (each waits for Bolt's ack, not the work)
    max_body: int = 1 << 20  # Slack's payloads are a few KB; block_actions carry a message
    max_header_bytes: int = 8 << 10
    max_headers: int = 64
    in_memory_body: int = 32 << 10
    backlog: int = 1024

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(idle_timeout=settings.ddb_bot_http_idle_timeout,
                   connections=settings.ddb_bot_http_connection_limit,
                   threads=settings.ddb_bot_http_threads)


def _respond(start_response: StartResponse, status: str, body: str,
             content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


class SlackWSGI:
    """The WSGI app: Slack events (Bolt's adapter), health, and the draining states.

    ``draining``: stopping — /healthz 503, requests still arriving are answered.
    ``closed``: stopped — refuse (503) what still arrives on an old connection; the
    server then closes every connection (a WSGI app may not send ``Connection``)."""

    def __init__(self, app: App | None, limits: Limits) -> None:
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None
        self.limits = limits
        self.draining = False
        self.closed = False
        self.health: Callable[[], bool] = lambda: not self.draining
        # readiness: health, then the dependencies' checks (None: health alone)
        self.readiness: Readiness | None = None
        self._in_flight = 0
        self._idle = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = sum(1 for k in environ if k.startswith("HTTP_") or k in ("CONTENT_TYPE",
                                                                            "CONTENT_LENGTH"))
        if headers > self.limits.max_headers:
            return _respond(start_response, "431 Request Header Fields Too Large",
                            "too many headers")
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok = self.health()
            return _respond(start_response, "200 OK" if ok else "503 Service Unavailable",
                            json.dumps({"ok": ok}), "application/json")
        if path == "/readyz" and method in ("GET", "HEAD"):
            ok, body = self.ready()
            return _respond(start_response, "200 OK" if ok else "503 Service Unavailable",
                            body, "application/json")
        if path == "/metrics" and method in ("GET", "HEAD"):
            from bot.metrics import exposition

            data, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type),
                                      ("Content-Length", str(len(data)))])
            return [data]
        if path != EVENTS_PATH or method != "POST" or self.slack is None:
            return _respond(start_response, "404 Not Found", "not found")
        if not self._enter():
            return _respond(start_response, "503 Service Unavailable", "shutting down")
        try:
            return self.slack(environ, start_response)
        finally:
            self._leave()

    def ready(self) -> tuple[bool, str]:
        """(ready, JSON body): not while stopping, nor while a dependency check fails."""
        if not self.health():
            return False, json.dumps({"ok": False, "failing": ["process: not serving (stopping "
                                                            "or disconnected)"]})
        if self.readiness is None:
            return True, json.dumps({"ok": True, "failing": []})
        return self.readiness.answer()

    def _enter(self) -> bool:
        with self._idle:
            if self.closed:
                return False
            self._in_flight += 1
            return True

    def _leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def close_when_idle(self, timeout: float) -> bool:
        """Wait until no Slack request is being dispatched (each is acked within 3 s), then
        refuse any more; False if some were still running at the timeout."""
        with self._idle:
            idle = self._idle.wait_for(lambda: self._in_flight == 0, timeout)
            self.closed = True
            return idle


class HttpServer:
    """waitress serving :class:`SlackWSGI`, with the stop sequence waitress lacks: stop
    accepting, answer requests already read, close idle connections, end the loop."""

    def __init__(self, app: App | None, host: str, port: int, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.wsgi = SlackWSGI(app, self.limits)
        lim = self.limits
        server = create_server(
            self.wsgi, host=host, port=port, threads=lim.threads,
            channel_timeout=lim.idle_timeout,
            cleanup_interval=max(1, min(lim.idle_timeout // 4, 5)),  # waitress takes ints
            connection_limit=lim.connections, backlog=lim.backlog,
            max_request_body_size=lim.max_body, max_request_header_size=lim.max_header_bytes,
            inbuf_overflow=lim.in_memory_body,
            asyncore_use_poll=True,  # select() stops at file descriptor 1024
            asyncore_loop_timeout=1, ident="ddb-bot", expose_tracebacks=False,  # (an int)
        )
        assert isinstance(server, TcpWSGIServer)  # one host:port, one listening socket
        self.server = server
        self.port: int = int(server.effective_port)  # type: ignore[arg-type]
        self._stopped = threading.Event()
        self._loop_done = threading.Event()

    @property
    def health(self) -> Callable[[], bool]:
        return self.wsgi.health

    @health.setter
    def health(self, check: Callable[[], bool]) -> None:
        self.wsgi.health = check

    def serve_forever(self) -> None:
        """Run the event loop in this thread until :meth:`close`."""
        try:
            while not self._stopped.is_set():
                wasyncore.loop(timeout=self.server.adj.asyncore_loop_timeout,
                               map=self.server._map, use_poll=True, count=1)
        finally:
            self._loop_done.set()

    def start(self) -> HttpServer:
        threading.Thread(target=self.serve_forever, name="ddb-bot-http", daemon=True).start()
        return self

    def _in_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the event-loop thread (waitress's channels are not thread-safe)."""
        done = threading.Event()

        def thunk() -> None:
            try:
                fn()
            finally:
                done.set()

        if self._loop_done.is_set():
            fn()
            return
        self.server.trigger.pull_trigger(thunk)
        done.wait(5)

    def stop_accepting(self) -> None:
        """Close the listening socket: new connections are refused at once (not left in
        the backlog until the client times out) and a replacement can bind the port."""

        def close_listener() -> None:
            self.server.accepting = False
            if self.server.socket is not None:
                wasyncore.dispatcher.close(self.server)

        self._in_loop(close_listener)

    def _tasks_idle(self) -> bool:
        tasks = self.server.task_dispatcher
        with tasks.lock:
            return not tasks.queue and tasks.active_count == 0

    def drain(self, timeout: float) -> bool:
        """Answer the requests already read, refuse later ones, close every connection
        once its answer is flushed; False if requests were still running at the timeout."""
        deadline = time.monotonic() + timeout
        self.wsgi.draining = True
        while not self._tasks_idle() and time.monotonic() < deadline:
            time.sleep(0.02)
        idle = self.wsgi.close_when_idle(max(0.0, deadline - time.monotonic()))

        def close_connections() -> None:
            for channel in list(self.server.active_channels.values()):
                channel.will_close = True  # after flushing what it has to send

        self._in_loop(close_connections)
        flush_by = time.monotonic() + 1.0
        while self.server.active_channels and time.monotonic() < flush_by:
            time.sleep(0.02)
        return idle

    def close(self) -> None:
        """Stop the loop and the worker threads; safe to call twice."""
        self._stopped.set()
        if not self._loop_done.is_set():
            self.server.trigger.pull_trigger()
            self._loop_done.wait(5)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(self.server._map)


def start_http(app: App | None, host: str, port: int, limits: Limits | None = None) -> HttpServer:
    """Serve in a background thread (tests, benchmarks); port 0 picks a free one."""
    return HttpServer(app, host, port, limits).start()


def _services(settings: Settings) -> Any:
    from bot.services import Services

    return Services.build(settings)


def wait_for_signal(stop: threading.Event, slice_s: float = 0.2) -> None:
    """Block the main thread until a signal handler sets ``stop``.

    In short waits, never one long one: the kernel may deliver SIGTERM to any thread, and
    CPython runs the Python handler only when the main thread next runs bytecode, so a
    main thread parked in ``Event.wait(3600)`` (or ``wait()``) would sleep through it while
    another thread took the signal (seen under load: the process ignored SIGTERM)."""
    while not stop.wait(slice_s):
        pass


def serve(settings: Settings, host: str = "0.0.0.0") -> int:
    from bot.app import build_app
    from bot.health import Readiness, probe_checks

    services = _services(settings)
    app = build_app(services)
    http = HttpServer(app, host, settings.port, Limits.of(settings))
    http.wsgi.readiness = Readiness(lambda: probe_checks(settings))  # built on first use
    stop = threading.Event()

    def _shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing requests in flight, then stopping", signum)
        http.wsgi.draining = True  # /healthz 503 at once
        stop.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    http.start()
    log.info("ddb-bot serving HTTP on %s:%s%s (stage %s)", host, http.port, EVENTS_PATH,
             settings.stage, extra={"ready_s": round(time.monotonic() - STARTED, 3),
                                    "http_threads": http.limits.threads,
                                    "idle_timeout_s": http.limits.idle_timeout,
                                    "connection_limit": http.limits.connections})
    authorization = getattr(app, "authorization", None)
    if authorization is not None:  # auth.test off the request path (bot.edge)
        authorization.refresh()
    # the scheduler once the port is open: no request needs it, and its import
    # (APScheduler's background scheduler) and start would only delay readiness
    from bot.scheduler import start_scheduler

    scheduler = start_scheduler(services, app.client)
    wait_for_signal(stop)
    # stop listening before the drain: new connections are refused at once and a
    # replacement can bind the port while this process finishes its work
    http.stop_accepting()
    if not http.drain(timeout=ACK_DRAIN_S):
        log.warning("requests were still being acknowledged after %s s; stopping anyway",
                    ACK_DRAIN_S)
    http.close()
    log.info("HTTP server closed; finishing the work in flight")
    drain(app, services, scheduler)
    return 0


def drain(app: App, services: Any, scheduler: Any) -> None:
    """Finish the work in flight: listeners (Bolt's pool), then the work they handed on
    (the services' queue), then scheduled jobs; nothing new is accepted by then."""
    start = time.monotonic()
    app.listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]
    log.debug("listeners finished")
    stop_work = getattr(services, "shutdown", None)
    if stop_work is not None:
        stop_work()
    log.debug("work after ack finished")
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
    # GET /healthz on PORT in Socket Mode too (one container healthcheck for both modes),
    # on the same server and limits as HTTP mode: healthy while the WebSocket is up
    limits = Limits.of(settings)
    health = HttpServer(None, host, settings.port,
                        Limits(idle_timeout=limits.idle_timeout, connections=limits.connections,
                               threads=2))
    health.health = lambda: not stop.is_set() and handler.client.is_connected()
    from bot.health import Readiness, probe_checks

    health.wsgi.readiness = Readiness(lambda: probe_checks(settings))
    health.start()

    def _shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing work in flight, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    handler.connect()
    log.info("ddb-bot started in Socket Mode (stage %s), /healthz on :%s", settings.stage,
             settings.port, extra={"ready_s": round(time.monotonic() - STARTED, 3)})
    wait_for_signal(stop)
    handler.close()  # no new events; listeners already running finish below
    drain(app, services, scheduler)
    health.stop_accepting()
    health.close()
    return 0
