"""One registry of ``/ddb`` subcommands: name, usage, help, handler.

It feeds the dispatcher, ``/ddb help``, the manifest check and README; adding a command
is one decorated function. ``dispatch`` turns every expected failure into an
``ErrorResult`` with the command's usage, so no bad input escapes as an exception.
"""

from __future__ import annotations

import logging
import re
import secrets
import shlex
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError

from commands.ports import AccessPolicy, CommandServices, CommandSettings
from commands.results import ErrorResult, RequestResult, Result
from dynamo.errors import DdbBotError

if TYPE_CHECKING:
    from dynamo.store import Store

log = logging.getLogger(__name__)

# Where ``dispatch`` reports what it ran (command, outcome, duration, consumed capacity)
# for the caller's log line; the Slack edge installs a dict here per request (bot.logs).
OBSERVE: ContextVar[dict[str, Any] | None] = ContextVar("ddb_dispatch_observe", default=None)


class CommandError(DdbBotError, ValueError):
    """Bad input: the message says what is wrong; dispatch adds the usage."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class Context:
    """What a command may use: the caller, the store and settings; never Slack objects.

    ``settings`` and ``services`` are typed ports (commands.ports); None where a caller
    (a test, a bare store) has no bot around it: then there are no write requests and no
    access policy (everyone may read).
    """

    store: Store
    user_id: str = "U_CONSOLE"
    channel_id: str | None = None
    stage: str = "dev"
    region: str = "us-west-2"
    settings: CommandSettings | None = None
    services: CommandServices | None = None
    # where a paged command continues from ("Next page")
    start_key: dict[str, Any] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    text: str = ""

    @property
    def access(self) -> AccessPolicy | None:
        """The access policy, or None when there is none (everyone may do everything)."""
        return self.services.access if self.services is not None else None

    def denial(self, group: str) -> str | None:
        """Why this caller may not run a command of ``group`` here, or None.

        The one home of the check: ``dispatch`` asks it for each command's declared
        group (as Bolt middleware runs before a listener); a command reached another way
        (the lookup shortcut) or one whose input decides the group (a pasted ``aws`` write)
        asks it for that group.
        """
        access = self.access
        return access.denial(group, self.user_id, self.channel_id) if access else None


Handler = Callable[[list[str], Context], Result]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    handler: Handler
    group: str = "read"
    details: str = ""
    examples: tuple[str, ...] = ()


REGISTRY: dict[str, Command] = {}


def command(
    name: str,
    usage: str,
    *,
    group: str = "read",
    examples: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a subcommand; its docstring's first line is the help summary."""

    def deco(fn: Handler) -> Handler:
        doc = (fn.__doc__ or "").strip()
        summary, _, details = doc.partition("\n")
        REGISTRY[name] = Command(
            name=name, usage=usage, summary=summary.strip(), handler=fn, group=group,
            details=details.strip(), examples=examples,
        )
        return fn

    return deco


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def _json_span(text: str, start: int) -> int:
    """End index (exclusive) of the balanced JSON value at ``start``, or -1."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _protect_json(text: str) -> tuple[str, list[str]]:
    """Swap unquoted JSON values for markers so shlex does not strip their quotes.

    ``/ddb put platforms {"slug":"x"}`` must reach the JSON parser intact, as must
    ``set settings={"max":1}``; quoted JSON (``--key '{...}'``) is left to shlex.
    """
    out, saved, i, quote = [], [], 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            out.append(ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch in "{[" and (i == 0 or text[i - 1].isspace() or text[i - 1] == "="):
            end = _json_span(text, i)
            if end > 0:
                saved.append(text[i:end])
                out.append(f"\x00{len(saved) - 1}\x00")
                i = end
                continue
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out), saved


_MARK = re.compile("\x00(\\d+)\x00")


# text with none of these splits on whitespace alone, as shlex would split it (no quotes,
# no escapes, no JSON to guard): most commands, which then skip shlex's per-character loop
_SHELL_WS = re.compile(r"[ \t\r\n]+")
_PLAIN = re.compile(r"[^'\"\\{\[“”‘’]*")


def tokenize(text: str) -> list[str]:
    """Split command text like a shell; Slack's smart quotes count as plain quotes."""
    if _PLAIN.fullmatch(text):
        return [t for t in _SHELL_WS.split(text) if t]
    protected, saved = _protect_json(text.translate(_QUOTES))
    try:
        tokens = shlex.split(protected)
    except ValueError as exc:
        raise CommandError(f"cannot read the command: {exc} (check the quotes)") from None
    return [_MARK.sub(lambda m: saved[int(m.group(1))], t) for t in tokens]


def general_usage() -> str:
    names = " | ".join(sorted(REGISTRY))
    return f"/ddb <subcommand> [args]   subcommands: {names}\nTry `/ddb help`."


def dispatch(text: str, ctx: Context) -> Result:
    """Run ``/ddb`` text as ``ctx.user_id``; always returns a result, never raises on input.

    Timed here, at the one place every surface runs a command through: the outcome,
    duration and consumed capacity go to ``OBSERVE`` (the Slack request's log line) and
    to a DEBUG line.
    """
    start = time.perf_counter()
    result = _dispatch(text, ctx)
    words = text.split()
    if words and words[0] == "/ddb":
        words = words[1:]
    name = words[0].lower() if words else "help"
    fields: dict[str, Any] = {
        "command": name if name in REGISTRY else "unknown",
        "outcome": _outcome(result),
        "command_ms": round((time.perf_counter() - start) * 1000, 1),
    }
    consumed = getattr(result, "consumed", None)
    if consumed:
        fields["consumed_capacity"] = consumed
    sink = OBSERVE.get()
    if sink is not None:
        sink.update(fields)
    log.debug("command %s: %s in %s ms", fields["command"], fields["outcome"],
              fields["command_ms"], extra=fields)
    return result


def _outcome(result: Result) -> str:
    if isinstance(result, RequestResult):
        return "refused" if result.event == "refused" else f"request_{result.status.lower()}"
    if isinstance(result, ErrorResult):
        return "internal_error" if result.message.startswith("internal error") else "error"
    return "ok"


def _dispatch(text: str, ctx: Context) -> Result:
    ctx.text = text.strip()
    try:
        tokens = tokenize(text)
    except CommandError as exc:
        return ErrorResult(message=str(exc), usage=general_usage())
    if tokens and tokens[0] == "/ddb":
        tokens = tokens[1:]
    if not tokens:
        tokens = ["help"]
    name, args = tokens[0].lower(), tokens[1:]
    cmd = REGISTRY.get(name)
    if cmd is None:
        return ErrorResult(message=f"unknown subcommand `{tokens[0]}`", usage=general_usage())
    denial = ctx.denial(cmd.group)
    if denial:
        return ErrorResult(title=cmd.name, message=denial, usage="")
    share = "--share" in args
    if share:
        args = [a for a in args if a != "--share"]
    try:
        result = cmd.handler(args, ctx)
    except DdbBotError as exc:
        if exc.logged:
            log.warning("store error in %s: %s", cmd.name, exc)
        return ErrorResult(title=cmd.name, message=str(exc), usage=exc.usage or cmd.usage)
    except BotoCoreError as exc:
        log.warning("DynamoDB unreachable in %s: %s", cmd.name, exc)
        return ErrorResult(title=cmd.name, usage=cmd.usage, message=(
            f"DynamoDB could not be reached ({type(exc).__name__}); nothing was changed. "
            "Try again in a moment"))
    except Exception:
        # a bug, not bad input: logged with its traceback, and the user is told plainly
        ref = secrets.token_hex(4)
        log.exception("command %s failed (ref %s)", cmd.name, ref)
        return ErrorResult(title=cmd.name, message=f"internal error (ref {ref}); it was logged",
                           usage=cmd.usage)
    result.share = share and result.ok
    return result
