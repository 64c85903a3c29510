"""A local stand-in for AWS Lambda: the Invoke API, each invocation a fresh process.

``LambdaStub`` serves ``POST /2015-03-31/functions/{name}/invocations`` on 127.0.0.1 (what
boto3 calls; the bot's processes reach it through ``AWS_ENDPOINT_URL_LAMBDA``). An
``Event`` invocation is answered 202 at once and run in a new process
(``python -m testkit.lambda_run``), as Lambda runs an asynchronous invocation; a
``RequestResponse`` one is run and its result returned. Every run is recorded (``runs``)
with its exit status, output and the threads it left behind; ``wait_idle`` waits for the
asynchronous ones.

``http_api_event`` builds the event API Gateway's HTTP API (payload format 2.0) hands the
function for a request, and ``LambdaSender`` is ``testkit.signed.SlackSender`` with its
signed requests delivered that way instead of over HTTP, so the same payload builders
(``slash``, ``click``, ``shortcut``, ``interact``) drive the bot on Lambda.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from testkit.json_http import JsonHandler
from testkit.signed import HttpResult, SlackSender

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVOKE_PREFIX = "/2015-03-31/functions/"
# what the bot's functions may not inherit from the test process's environment
_PRIVATE = ("SLACK_", "DDB_BOT_", "AWS_ENDPOINT", "STAGE")


@dataclass
class Run:
    """One invocation: which function, how it was invoked, what came of it."""

    function: str
    invocation_type: str
    event: Any
    returncode: int | None = None
    output: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""
    seconds: float = 0.0

    @property
    def response(self) -> Any:
        return self.output.get("response")

    @property
    def threads(self) -> list[str]:
        return list(self.output.get("threads") or [])


def http_api_event(body: str, headers: Mapping[str, str], path: str = "/slack/events",
                   method: str = "POST") -> dict[str, Any]:
    """The HTTP API (payload 2.0) event for one request: header names lower-cased, a form
    body base64-encoded (API Gateway does so for a body it does not take for text)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    binary = "json" not in lowered.get("content-type", "")
    now = time.time()
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {**lowered, "content-length": str(len(body.encode())),
                    "host": "abc123.execute-api.us-west-2.amazonaws.com",
                    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-west-2.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "Slackbot 1.0"},
            "requestId": uuid.uuid4().hex[:16], "routeKey": f"{method} {path}",
            "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000)},
        "body": base64.b64encode(body.encode()).decode() if binary else body,
        "isBase64Encoded": binary,
    }


class LambdaStub:
    """The Invoke API on a free port; ``functions`` maps a function name to its handler
    (``module.function``). ``env`` is the functions' environment (on top of this process's,
    less its ``SLACK_*``, ``DDB_BOT_*`` and endpoint variables); tests change it freely."""

    def __init__(self, functions: Mapping[str, str], env: Mapping[str, str] | None = None) -> None:
        self.functions = dict(functions)
        self.env: dict[str, str] = dict(env or {})
        self.runs: list[Run] = []
        self._lock = threading.Lock()
        self._pending = 0  # Event invocations not yet ended (held ones too)
        self._holding = False
        self._held: list[tuple[str, Any]] = []
        stub = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                name = stub.function_of(self.path)
                kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
                if name not in stub.functions:
                    self.answer_json(404, {"Type": "User", "message": f"Function not found: {name}"},
                                 {"x-amzn-ErrorType": "ResourceNotFoundException"})
                    return
                event = json.loads(payload or b"{}")
                if kind == "Event":
                    stub.start(name, event)
                    self.answer_json(202, None, {})
                    return
                run = stub.invoke(name, event)
                extra = {"X-Amz-Executed-Version": "$LATEST"}
                if run.returncode != 0:
                    extra["X-Amz-Function-Error"] = "Unhandled"
                    self.answer_json(200, {"errorMessage": run.output.get("error", run.stderr[-500:])}, extra)
                else:
                    self.answer_json(200, run.response, extra)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start_serving(self) -> LambdaStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def function_of(path: str) -> str:
        """The function name in an Invoke path: a name, or an ARN (qualifier dropped)."""
        name = unquote(path.split("?", 1)[0].removeprefix(INVOKE_PREFIX).removesuffix("/invocations"))
        if name.startswith("arn:"):
            name = name.split(":function:", 1)[1]
        return name.split(":", 1)[0]

    # -- invocations -----------------------------------------------------------------------
    def environ(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE)}
        env.update({"AWS_ENDPOINT_URL_LAMBDA": self.url, "AWS_LAMBDA_FUNCTION_NAME": name,
                    "PYTHONPATH": ROOT, **self.env})
        return env

    def invoke(self, name: str, event: Any, invocation_type: str = "RequestResponse") -> Run:
        """Run one invocation now, in a fresh process; it ends when the handler returns."""
        run = Run(name, invocation_type, event)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "testkit.lambda_run", self.functions[name], name],
                              input=json.dumps(event), capture_output=True, text=True, cwd=ROOT,
                              env=self.environ(name), timeout=60)
        run.seconds = time.monotonic() - started
        run.returncode, run.stderr = proc.returncode, proc.stderr
        lines = proc.stdout.strip().splitlines()
        run.output = json.loads(lines[-1]) if lines else {}
        with self._lock:
            self.runs.append(run)
        return run

    def hold(self) -> None:
        """Queue ``Event`` invocations instead of running them, until ``release``."""
        with self._lock:
            self._holding = True

    def release(self) -> int:
        """Run the queued ``Event`` invocations; how many there were."""
        with self._lock:
            self._holding, held, self._held = False, self._held, []
        for name, event in held:
            self._run_async(name, event)
        return len(held)

    def start(self, name: str, event: Any) -> None:
        """An ``Event`` invocation: run in the background, as Lambda's async queue does."""
        with self._lock:
            self._pending += 1
            if self._holding:
                self._held.append((name, event))
                return
        self._run_async(name, event)

    def _run_async(self, name: str, event: Any) -> None:
        def go() -> None:
            try:
                self.invoke(name, event, "Event")
            finally:
                with self._lock:
                    self._pending -= 1

        threading.Thread(target=go, daemon=True).start()

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until every asynchronous invocation has ended (those started by them too)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._pending == 0:
                    return
                if self._held:
                    raise AssertionError("Event invocations are held: release() them first")
            if time.monotonic() > deadline:
                raise AssertionError(f"asynchronous invocations still running after {timeout}s")
            time.sleep(0.02)

    def asynchronous(self) -> list[Run]:
        with self._lock:
            return [r for r in self.runs if r.invocation_type == "Event"]


class LambdaSender(SlackSender):
    """``SlackSender`` whose signed requests reach the function as HTTP API events, each
    invocation a fresh process (``LambdaStub.invoke``); the function's answer is the
    ``HttpResult``."""

    def __init__(self, stub: LambdaStub, function: str, signing_secret: str,
                 response_url: str) -> None:
        super().__init__("http://lambda.invalid", signing_secret, response_url)
        self.stub = stub
        self.function = function
        self.last: Run | None = None

    def post(self, body: str, *, content_type: str = "application/x-www-form-urlencoded",
             timestamp: int | None = None, signature: str | None = None,
             timeout: float = 10, headers: Mapping[str, str] | None = None) -> HttpResult:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        event = http_api_event(body, {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                                      "X-Slack-Signature": sig, **(headers or {})})
        run = self.last = self.stub.invoke(self.function, event)
        if run.returncode != 0:
            raise AssertionError(f"the handler failed: {run.output.get('error')}\n{run.stderr}")
        resp = run.response or {}
        body_out = resp.get("body") or ""
        return HttpResult(int(resp.get("statusCode", 0)), body_out)
