"""The request handler the local stand-ins share (fake Slack, the Lambda Invoke API):
HTTP/1.1 kept alive, quiet, answering JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; without TCP_NODELAY a kept-alive client
    # (bot.messaging.respond) waits for its own delayed ACK (~40 ms) each time
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def answer_json(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        """``payload`` as JSON (``None``: an empty body) with ``status`` and ``headers``."""
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
