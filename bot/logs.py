"""Structured logs: one JSON object per line, secrets masked, one line per Slack request.

``serve`` and ``socket`` log JSON (``ts, level, logger, msg`` plus any ``extra`` fields)
so a log pipeline can index them; the console and demo keep plain text for people.

A Slack request's work runs in other threads (Bolt's listener pool, then the work pool
after ``ack()``), so a middleware alone cannot time it. Instead the request is tracked
in a context variable that travels with every job submitted for it (``bind``): each job
holds the request open, and when the last one finishes one line is logged with what was
run, by whom, the outcome, the time to ``ack()`` and the total duration.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import secrets as _secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bot import metrics
from dynamo.redact import REDACTED, mask_text
from dynamo.schema import is_secret

log = logging.getLogger("bot.requests")

# LogRecord's own attributes; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; every string passes ``mask_text`` and the known secrets
    (the process's own tokens, whatever their shape) are replaced outright."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for s in self.secrets:
                value = value.replace(s, REDACTED)
            return mask_text(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, dict):
            # what a secret's name holds (``client_secret``, ``password``) goes whole, at any
            # depth; a count or flag under such a name (``secrets_tried``) is no secret
            return {str(k): REDACTED if v and not isinstance(v, bool | int | float)
                    and is_secret(str(k)) else self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(v) for v in value]
        return self._clean(str(value))

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            + "Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        info = CURRENT.get()
        if info is not None:
            out["request_id"] = info.id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(self._clean(out), separators=(",", ":"), default=str)


class TextFormatter(logging.Formatter):
    """The plain format for people (console, demo, init, seed), masked the same way."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._json = JsonFormatter(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._json._clean(super().format(record))


def setup(level: str, *, json_lines: bool, secrets: Iterable[str | None] = ()) -> None:
    """Configure the root logger on stderr (replacing earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if json_lines else TextFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # job errors still show
    # waitress warns of its task queue on every request past the idle threads; a full
    # work queue is what matters and is logged (note_busy)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


# -- one line per Slack request ---------------------------------------------------------
class RequestInfo:
    """What one Slack request ran and how it went, filled in as its jobs run."""

    def __init__(self, kind: str, user: str | None, channel: str | None, name: str | None) -> None:
        self.id = _secrets.token_hex(6)
        self.start = time.monotonic()
        self.fields: dict[str, Any] = {"kind": kind, "user": user, "channel": channel}
        if name:
            self.fields["target"] = name
        self.ack_ms: float | None = None
        self.failed = False
        self.error: str | None = None  # the class of what failed in its work, if anything
        self._pending = 0
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._pending += 1

    def release(self) -> None:
        with self._lock:
            self._pending -= 1
            done = self._pending == 0
        if done:
            self.emit()

    def emit(self) -> None:
        fields = dict(self.fields)
        noted = fields.pop("outcome", "ok")  # dispatch's, when a command ran
        outcome = "exception" if self.failed else noted
        what = fields.get("command") or fields.get("target") or fields["kind"]
        duration_ms = round((time.monotonic() - self.start) * 1000, 1)
        if self.error:
            fields["error"] = self.error
        log.info("%s %s %s", fields["kind"], what, outcome, extra={
            "request_id": self.id, **{k: v for k, v in fields.items() if v is not None},
            "outcome": outcome,
            "ack_ms": self.ack_ms,
            "duration_ms": duration_ms})
        metrics.request_done(fields["kind"], fields.get("command"), fields.get("target"),
                             outcome, self.ack_ms, duration_ms)


CURRENT: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "ddb_bot_request", default=None)

_busy_lock = threading.Lock()
_busy_total = 0


def note_busy(capacity: int) -> int:
    """Count a request turned away because the work queue was full: its request line says
    ``outcome: busy`` and a warning carries the process's running total."""
    global _busy_total
    with _busy_lock:
        _busy_total += 1
        total = _busy_total
    metrics.busy()
    info = CURRENT.get()
    if info is not None:
        info.fields["outcome"] = "busy"
    logging.getLogger("bot.overload").warning(
        "work queue full (%d jobs): answered busy", capacity,
        extra={"busy_total": total, "work_capacity": capacity})
    return total


def busy_total() -> int:
    with _busy_lock:
        return _busy_total


def bind(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` to run in another thread within this request: same context variables, and
    the request's log line waits until it has finished."""
    ctx = contextvars.copy_context()
    info = ctx.get(CURRENT)
    if info is None:
        return functools.partial(ctx.run, fn)
    info.hold()

    def run() -> Any:
        try:
            return ctx.run(fn)
        except BaseException as exc:
            info.failed = True
            info.error = type(exc).__name__
            raise
        finally:
            info.release()

    return run


class ContextExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, carrying the request's context into the listener thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(bind(functools.partial(fn, *args, **kwargs)))


@functools.cache
def _timed_ack_class() -> type:
    """Bolt's ``Ack`` noting when it was called (the time Slack waits for); built on first
    use so the console, which never imports Bolt, does not pay for it."""
    from slack_bolt.context.ack import Ack

    class TimedAck(Ack):
        def __init__(self, info: RequestInfo) -> None:
            super().__init__()
            self._info = info

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if self._info.ack_ms is None:
                self._info.ack_ms = round((time.monotonic() - self._info.start) * 1000, 1)
            return super().__call__(*args, **kwargs)

        def __deepcopy__(self, memo: dict[int, Any]) -> TimedAck:
            """Bolt deep-copies a request for its lazy listeners (AWS Lambda): the copy
            belongs to the same request, so it shares its ``RequestInfo`` (and its lock)."""
            copied = TimedAck(self._info)
            copied.response = self.response
            return copied

    return TimedAck


def _describe(body: dict[str, Any]) -> tuple[str, str | None]:
    """(kind, name) of a request: the subcommand, action id, callback id or event type.

    Only names are logged, never the command's arguments (they may hold PII)."""
    if "command" in body:
        words = str(body.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        if not re.fullmatch(r"[a-z][a-z-]{0,29}", sub):  # not a subcommand name: maybe data
            sub = "?"
        return "command", f"{str(body['command'])[:30]} {sub}"
    kind = str(body.get("type") or "event")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind, str(actions[0].get("action_id", ""))[:80]
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id", ""))[:80]
    if kind in ("shortcut", "message_action"):
        return kind, str(body.get("callback_id", ""))[:80]
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", ""))[:80]
    return kind, None


def request_middleware(body: dict[str, Any], context: Any, next: Callable[[], Any]) -> Any:
    """Bolt global middleware: start tracking this request (see module docstring)."""
    kind, name = _describe(body if isinstance(body, dict) else {})
    info = RequestInfo(kind, context.get("user_id"), context.get("channel_id"), name)
    if "signed_with" in context:  # which signing secret verified it (bot.edge)
        info.fields["signed_with"] = context["signed_with"]
    CURRENT.set(info)  # this thread's context; Bolt's pool copies it (ContextExecutor)
    context["ack"] = _timed_ack_class()(info)
    from commands.registry import OBSERVE

    OBSERVE.set(info.fields)  # dispatch() adds command, outcome, duration, capacity
    # the listener runs on this thread after the middleware chain (process_before_response):
    # the line waits for it (released by ``dispatched``) and for the work it handed on
    # (``bind``), and is written once, by whichever ends last
    info.hold()
    return next()


def dispatched() -> None:
    """The app finished dispatching this thread's request: release the listener's hold."""
    info = CURRENT.get()
    if info is not None:
        CURRENT.set(None)
        info.release()
