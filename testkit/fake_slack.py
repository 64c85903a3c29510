"""A local fake of the Slack Web API and of response_url, as Bolt's own tests use.

A threaded HTTP server on port 0 records every call (path, parsed body) and answers
like Slack. Tests poll ``wait_for`` for work that finishes after the ack. With
``tls=True`` it serves HTTPS, as hooks.slack.com does, under a throwaway CA (trustme):
clients trust ``ca_file`` (for another process: ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from testkit.json_http import JsonHandler


class Call(dict):
    """One recorded request: ``path`` and ``body`` (JSON or form, decoded)."""

    @property
    def path(self) -> str:
        return self["path"]

    @property
    def body(self) -> dict[str, Any]:
        return self["body"]


class FakeSlack:
    def __init__(self, tls: bool = False) -> None:
        self.calls: list[Call] = []
        self.connections = 0  # accepted connections (a kept-alive client opens few)
        self.lock = threading.Lock()
        self.usergroups: dict[str, list[str]] = {}
        # the workspace auth.test names (the bot serves only it: bot.workspace); an org
        # adds "enterprise_id" (and "is_enterprise_install" for an org-wide install)
        self.workspace: dict[str, Any] = {"team_id": "T1", "team": "Test"}
        # path -> list of (status, body, headers) answers to give before the normal one
        self.scripted: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        # path -> event: a call to it is recorded, then held unanswered until the event is
        # set (at most 10 s); ``answered`` lists the held paths once they were answered
        self.gates: dict[str, threading.Event] = {}
        self.answered: list[str] = []
        # seconds each response_url call is held after it is recorded, before its 200: the
        # round trip to hooks.slack.com that loopback lacks (benchmarks; 0 in tests)
        self.response_latency = 0.0
        fake = self

        class Handler(JsonHandler):
            def setup(self) -> None:
                with fake.lock:
                    fake.connections += 1
                super().setup()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                ctype = self.headers.get("Content-Type", "")
                body: dict[str, Any]
                if "json" in ctype:
                    body = json.loads(raw) if raw else {}
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view", "attachments"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                path = urlparse(self.path).path
                with fake.lock:
                    fake.calls.append(Call(path=path, body=body, at=time.monotonic(),
                                           auth=self.headers.get("Authorization")))
                    script = fake.scripted.get(path)
                    answer = script.pop(0) if script else None
                    gate = fake.gates.get(path)
                if fake.response_latency and path.startswith("/response/"):
                    time.sleep(fake.response_latency)
                if gate is not None:
                    gate.wait(10)
                    with fake.lock:
                        fake.answered.append(path)
                if answer is not None:
                    status, payload, headers = answer
                else:
                    status, payload, headers = 200, fake.answer(path, body), {}
                self.answer_json(status, payload, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        self.ca_file: str | None = None
        if tls:
            import trustme  # test-only dependency

            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            # the handshake happens in each connection's own thread, on its first read
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
            with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
                f.write(ca.cert_pem.bytes())
            self.ca_file = f.name
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.ca_file:
            os.unlink(self.ca_file)

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/response/{name}"

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting this fake's CA (HTTPS only)."""
        assert self.ca_file, "FakeSlack(tls=True) only"
        return ssl.create_default_context(cafile=self.ca_file)

    # -- answers -----------------------------------------------------------------------
    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        method = path.removeprefix("/api/")
        if path.startswith("/response/"):
            return {"ok": True}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "user": "ddb-bot",
                    "url": "https://test.slack.com/", **self.workspace}
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts,
                    "message": {"text": body.get("text"), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": "V1", **(body.get("view") or {})}}
        if method == "usergroups.users.list":
            users = self.usergroups.get(body.get("usergroup", ""))
            if users is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": users}
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": body.get("channel"), "name": "general"}}
        return {"ok": True}

    # -- inspection --------------------------------------------------------------------
    def find(self, path_prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.startswith(path_prefix)]

    def wait_for(self, path_prefix: str, count: int = 1, timeout: float = 10.0,
                 where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Poll until ``count`` matching calls arrived; fail loudly on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.find(path_prefix) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.path for c in self.calls]
                raise AssertionError(f"waited {timeout}s for {count} call(s) to {path_prefix}; "
                                     f"got {len(found)}; all calls: {seen}")
            time.sleep(0.02)

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
