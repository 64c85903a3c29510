"""``respond()`` over kept-alive connections (bot.messaging.respond): the same message as
Bolt's ``Respond``, one connection for many answers, recovery when the server drops it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt.context.respond import Respond

from bot.messaging import respond as keep
from testkit.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Any:
    f = FakeSlack().start()
    yield f
    f.stop()


def test_same_message_as_bolts_respond(fake: FakeSlack) -> None:
    url = fake.response_url("a")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}]
    Respond(response_url=url)(text="t", blocks=blocks, response_type="ephemeral",
                              replace_original=False)
    resp = keep.KeepAliveRespond(response_url=url)(text="t", blocks=blocks,
                                                   response_type="ephemeral",
                                                   replace_original=False)
    assert resp.status_code == 200
    first, second = fake.find("/response/a")
    assert first.body == second.body
    keep.KeepAliveRespond(response_url=url)({"text": "whole", "delete_original": True})
    assert fake.find("/response/a")[-1].body == {"text": "whole", "delete_original": True}


def test_over_https_one_tls_connection_serves_many_answers() -> None:
    """hooks.slack.com is HTTPS: Bolt's Respond makes a TLS handshake for every answer, the
    kept-alive one for the first only; the messages are the same."""
    fake = FakeSlack(tls=True).start()
    try:
        url = fake.response_url("tls")
        assert url.startswith("https://")
        context = fake.client_context()
        for _ in range(3):
            Respond(response_url=url, ssl=context)(text="t", response_type="ephemeral")
        assert fake.connections == 3
        for _ in range(3):
            resp = keep.KeepAliveRespond(response_url=url, ssl=context)(text="t", response_type="ephemeral")
            assert resp.status_code == 200
        assert fake.connections == 4
        bodies = [c.body for c in fake.find("/response/tls")]
        assert len(bodies) == 6 and all(b == bodies[0] for b in bodies)
    finally:
        fake.stop()


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    connections: list[int] = []
    close_after: int | None = None
    status = 200

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(1)

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"ok"
        self.send_response(type(self).status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/r"


def test_one_connection_for_many_answers() -> None:
    class H(_Counting):
        connections: list[int] = []

    server, url = _serve(H)
    try:
        r = keep.KeepAliveRespond(response_url=url)
        for _ in range(5):
            assert r(text="x").status_code == 200
        assert len(H.connections) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_kept_connection_the_server_dropped_is_replaced_and_the_answer_sent_once() -> None:
    class H(_Counting):
        connections: list[int] = []
        posts: list[int] = []

        def do_POST(self) -> None:
            type(self).posts.append(1)
            super().do_POST()
            self.close_connection = True  # silently: no "Connection: close" for the client

    server, url = _serve(H)
    try:
        r = keep.KeepAliveRespond(response_url=url)
        assert r(text="x").status_code == 200
        assert r(text="y").status_code == 200
        assert len(H.posts) == 2 and len(H.connections) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_error_status_is_returned_not_raised() -> None:
    class H(_Counting):
        connections: list[int] = []
        status = 429

    server, url = _serve(H)
    try:
        resp = keep.KeepAliveRespond(response_url=url)(text="x")
        assert resp.status_code == 429 and resp.body == "ok"
        assert len(H.connections) == 1  # not retried, as WebhookClient does not
    finally:
        server.shutdown()
        server.server_close()


def test_a_proxy_in_the_environment_is_used_and_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``HTTP_PROXY`` set, answers go through Bolt's own ``Respond`` (so via the proxy);
    the environment is read once per process, not on every answer."""

    class Proxy(_Counting):
        connections: list[int] = []
        paths: list[str] = []

        def do_POST(self) -> None:
            type(self).paths.append(self.path)
            super().do_POST()

    server, proxy_url = _serve(Proxy)
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("/r"))
    keep.env_proxied.cache_clear()
    try:
        resp = keep.KeepAliveRespond(response_url="http://slack.invalid/response/x")(text="x")
        assert resp.status_code == 200
        assert Proxy.paths == ["http://slack.invalid/response/x"]  # the proxy's form of a URL
        monkeypatch.delenv("HTTP_PROXY")
        assert keep.env_proxied()  # read once: still the start-up environment
    finally:
        keep.env_proxied.cache_clear()
        server.shutdown()
        server.server_close()
