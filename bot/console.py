"""A terminal driver over the same commands and renderers the Slack app uses.

``-c`` runs one command: the answer goes to stdout and the exit code is 0, or the error
goes to stderr and the exit code is 1. Without ``-c`` it is a small REPL: type
``/ddb ...`` (the ``/ddb`` is optional), ``next`` for the next page, ``as U123`` to act
as another user, ``quit`` to leave.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from bot.render.outcomes import outcome_text
from bot.render.text import render_text
from bot.services import Services
from commands import dispatch
from commands.results import ItemsResult, RequestResult, Result
from dynamo.requests import notices

PROMPT = "ddb> "
BANNER = (
    "ddb-bot console (stage {stage}, region {region}) as {user}. Type `/ddb help`, "
    "`next` for the next page, `as <user id> [command]` to switch user (and run a command as them), `quit` to leave."
)


class Console:
    def __init__(self, services: Services, user_id: str, out: IO[str] | None = None,
                 err: IO[str] | None = None) -> None:
        self.services = services
        self.user_id = user_id
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._last: tuple[str, Result] | None = None

    def run(self, text: str, start_key: dict[str, Any] | None = None) -> Result:
        ctx = self.services.context(self.user_id, channel_id="CONSOLE", start_key=start_key)
        result = dispatch(text, ctx)
        self._last = (text, result)
        return result

    def show(self, result: Result) -> None:
        stream = self.out if result.ok else self.err
        stream.write(render_text(result).rstrip() + "\n")
        self._outcome_dm(result)
        stream.flush()

    def _outcome_dm(self, result: Result) -> None:
        """What Slack would DM the requester on a final outcome, once, shown here."""
        if not isinstance(result, RequestResult) or result.event != "decided":
            return
        req = self.services.requests.get(result.id)
        if req is None or not notices.claim(self.services.client, self.services.settings.state_table,
                                            req.id, req.status.value):
            return
        text = outcome_text(RequestResult.of(req, event="decided"), slack=False)
        self.out.write(f"(DM to @{req.requester}) {text}\n")

    def one(self, text: str) -> int:
        result = self.run(text)
        self.show(result)
        return 0 if result.ok else 1

    def next_page(self) -> Result | None:
        if self._last is None:
            return None
        text, result = self._last
        if not isinstance(result, ItemsResult) or not result.has_more:
            return None
        return self.run(text, start_key=result.next_key)

    def loop(self, stdin: IO[str] | None = None) -> int:
        stdin = stdin or sys.stdin
        s = self.services.settings
        self.out.write(BANNER.format(stage=s.stage, region=s.aws_region, user=self.user_id) + "\n")
        while True:
            if stdin.isatty():
                self.out.write(PROMPT)
                self.out.flush()
            line = stdin.readline()
            if not line:
                return 0
            line = line.strip()
            if not line:
                continue
            if line in ("quit", "exit", r"\q"):
                return 0
            if line == "next":
                result = self.next_page()
                if result is None:
                    self.err.write("no further page\n")
                else:
                    self.show(result)
                continue
            if line.startswith("as "):
                # `as U_BOB` switches; `as U_BOB /ddb approve R…` switches and runs it, so a
                # two-person flow pastes as one line per person
                user, _, rest = line[3:].strip().partition(" ")
                self.user_id = user or self.user_id
                self.out.write(f"now acting as {self.user_id}\n")
                if not rest.strip():
                    continue
                line = rest.strip()
            self.show(self.run(line))
