"""``python -m testkit.lambda_run MODULE.FUNCTION NAME``: one Lambda invocation, as Lambda runs it.

The event (JSON) is read from stdin; the handler is imported and called once with a
Lambda-like context; one JSON line goes to stdout — ``{"response": ..., "threads": [...],
"ms": {...}}`` — and the process ends with ``os._exit`` at once. Any thread still running
(work left in a pool after the handler returned) dies with it, as it would in a process
that Lambda freezes and throws away: such work is lost here too, so a test sees it.

``threads`` names the threads still alive when the handler returned (there should be
none); ``ms`` has ``import`` (the handler module's import: Lambda's init phase, where a
handler may build what it needs) and ``handler`` (the call). As Lambda's runtime does, it
sets ``_HANDLER`` and ``AWS_LAMBDA_RUNTIME_API`` (nothing listens there: no handler may
call it).
A handler that raises prints ``{"error": ...}`` (as Lambda's ``errorMessage``) and exits 1.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

ACCOUNT = "123456789012"
REGION = "us-west-2"
TIMEOUT_MS = 30_000


@dataclass
class Context:
    """The attributes of Lambda's Python context object that handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _deadline: float = field(default_factory=lambda: time.monotonic() + TIMEOUT_MS / 1000)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def run(target: str, name: str, event: object) -> dict[str, object]:
    """Import ``target`` (``module.function``), call it once; what the process prints."""
    module_name, _, function = target.rpartition(".")
    started = time.monotonic()
    handler = getattr(importlib.import_module(module_name), function)
    imported = time.monotonic()
    response = handler(event, Context(name))
    done = time.monotonic()
    alive = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    return {"response": response, "threads": alive,
            "ms": {"import": round((imported - started) * 1000, 1),
                   "handler": round((done - imported) * 1000, 1)}}


def main() -> None:
    target, name = sys.argv[1], sys.argv[2]
    # what Lambda's runtime sets: the handler, and that the process runs inside the runtime
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", name)
    os.environ["_HANDLER"] = target
    os.environ.setdefault("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    event = json.loads(sys.stdin.read())
    code = 0
    try:
        out: dict[str, object] = run(target, name, event)
    except BaseException as exc:  # SystemExit too: Lambda reports it as the invocation's error
        traceback.print_exc()
        out, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # now: no atexit join of worker threads, no waiting for anything


if __name__ == "__main__":
    main()
