"""Real signed HTTP requests into the served Bolt app, as Slack sends them.

Text goes in the way Slack writes it, not as typed (see ``bot.listeners.inbound``):

- slash command text: ``&``, ``<``, ``>`` HTML-escaped. Our manifest sets
  ``should_escape: false``, so mentions, channels and links stay as typed; with
  ``should_escape=True`` they arrive as markup too (``<@U123>``, ``<#C123|name>``,
  ``<mailto:a@b.com|a@b.com>``, ``<https://…>``).
- message text (the message shortcut): escaped and formatted as Slack stores a typed
  message, plus the ``rich_text`` block Slack adds, whose elements are raw.
- view submission input values and button values: raw, exactly as given.

So every end-to-end test runs through the inbound normalisation.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

_LINKABLE = re.compile(
    r"(?P<url>https?://[^\s<>|]+[^\s<>|.,;:!?)\]'\"])"
    r"|(?P<email>(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r"|(?<![\w.@])@(?P<user>[UW][A-Z0-9_]{2,})\b"
    r"|(?<![\w&])#(?P<channel>C[A-Z0-9_]{2,})\b")


WORKSPACE = "T1"  # the team the fake Slack's auth.test names (testkit.fake_slack)
_ORG_KEYS = ("enterprise_id", "enterprise_name", "enterprise")


def in_workspace(node: Any) -> Any:
    """A copy of a Slack payload (a fixture from Slack's docs or Bolt's tests, each from a
    workspace of its own) moved into the test workspace: every team id becomes
    ``WORKSPACE`` and org (Enterprise Grid) ids go. The bot refuses a request from another
    workspace than its token's (``bot.workspace``)."""
    if isinstance(node, list):
        return [in_workspace(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ORG_KEYS:
            continue
        if key in ("team", "team_id", "app_installed_team_id", "user_team", "source_team") \
                and isinstance(value, str):
            out[key] = WORKSPACE
        elif key == "team" and isinstance(value, dict):
            out[key] = {**in_workspace(value), "id": WORKSPACE}
        else:
            out[key] = in_workspace(value)
    return out


def slack_escape(text: str) -> str:
    """The escaping Slack applies to every text it sends an app: ``& < >`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_format(text: str) -> str:
    """Typed text as Slack writes a message's ``text``: escaped, links and mentions marked up.

    ``@U123`` stands for a mention picked in the composer, ``#C123`` for a channel.
    """

    def mark(m: re.Match[str]) -> str:
        if m.group("url"):
            return f"<{m.group('url')}>"
        if m.group("email"):
            return f"<mailto:{m.group('email')}|{m.group('email')}>"
        if m.group("user"):
            return f"<@{m.group('user')}>"
        return f"<#{m.group('channel')}|{m.group('channel').lower()}>"

    return _LINKABLE.sub(mark, slack_escape(text))


def rich_text(text: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block Slack adds to a typed message: raw text, typed elements."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in _LINKABLE.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos:m.start()]})
        if m.group("url"):
            elements.append({"type": "link", "url": m.group("url")})
        elif m.group("email"):
            elements.append({"type": "link", "url": f"mailto:{m.group('email')}",
                             "text": m.group("email")})
        elif m.group("user"):
            elements.append({"type": "user", "user_id": m.group("user")})
        else:
            elements.append({"type": "channel", "channel_id": m.group("channel")})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    return [{"type": "rich_text", "block_id": "rt1",
             "elements": [{"type": "rich_text_section", "elements": elements}]}]


@dataclass
class HttpResult:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSender:
    """Signs and posts slash commands and interaction payloads to ``/slack/events``."""

    def __init__(self, base_url: str, signing_secret: str, response_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.verifier = SignatureVerifier(signing_secret)
        self.response_url = response_url

    def post(self, body: str, *, content_type: str = "application/x-www-form-urlencoded",
             timestamp: int | None = None, signature: str | None = None,
             timeout: float = 10) -> HttpResult:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        req = urllib.request.Request(
            f"{self.base_url}/slack/events", data=body.encode(), method="POST",
            headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                     "X-Slack-Signature": sig})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return HttpResult(resp.status, resp.read().decode())
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, exc.read().decode())

    def slash(self, text: str, user: str = "U_ALICE", channel: str = "C_OPS", *,
              should_escape: bool = False, team: str = WORKSPACE, **kw: Any) -> HttpResult:
        """``/ddb <text>`` as typed into Slack: the text escaped as Slack sends it.

        ``should_escape``: the command's "Escape channels, users, and links" setting;
        ``team``: the workspace it is typed in.
        """
        sent = slack_format(text) if should_escape else slack_escape(text)
        form = {
            "token": "legacy", "team_id": team, "team_domain": "test", "channel_id": channel,
            "channel_name": "ops", "user_id": user, "user_name": user.lower(),
            "command": "/ddb", "text": sent, "api_app_id": "A1",
            "response_url": self.response_url, "trigger_id": "trigger-1",
        }
        return self.post(urlencode(form), **kw)

    def shortcut(self, text: str | None, callback_id: str, user: str = "U_ALICE",
                 channel: str | None = "C_OPS", message_ts: str = "1700000000.000200",
                 **extra: Any) -> HttpResult:
        """A message shortcut on a message a person typed, as Slack sends it.

        The message carries Slack's formatted ``text`` and its raw ``rich_text`` block;
        ``extra`` overrides payload keys (``message=...`` for a hand-built message).
        """
        message: dict[str, Any] = {"type": "message", "user": "U_CUSTOMER", "ts": message_ts}
        if text is not None:
            message.update(text=slack_format(text), blocks=rich_text(text))
        payload: dict[str, Any] = {
            "type": "message_action", "callback_id": callback_id, "team": {"id": "T1"},
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "channel": {"id": channel, "name": "support"}, "message": message,
            "message_ts": message_ts, "trigger_id": "trigger-lookup",
            "response_url": self.response_url, "action_ts": str(time.time()),
            "token": "legacy"}
        payload.update(extra)
        if channel is None:
            del payload["channel"]
        return self.interact(payload)

    def interact(self, payload: dict[str, Any], **kw: Any) -> HttpResult:
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)

    def click(self, action_id: str, value: str, user: str = "U_ALICE", channel: str = "C_OPS",
              message_ts: str = "1700000000.000100", team: str = WORKSPACE,
              **kw: Any) -> HttpResult:
        payload = {
            "type": "block_actions", "team": {"id": team}, "api_app_id": "A1",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "channel": {"id": channel, "name": "ops"}, "container": {
                "type": "message", "message_ts": message_ts, "channel_id": channel,
                "is_ephemeral": True},
            "message": {"ts": message_ts, "text": "", "blocks": []},
            "response_url": self.response_url, "trigger_id": "trigger-2",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                         "value": value, "action_ts": str(time.time())}],
        }
        return self.interact(payload, **kw)

    def healthz(self) -> HttpResult:
        with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as resp:
            return HttpResult(resp.status, resp.read().decode())


def reject_submission(request_id: str, reason: str, user: str = "U_BOB",
                      username: str = "bob", trigger_id: str = "t3") -> dict[str, Any]:
    """The ``view_submission`` Slack sends when ``user`` submits the Reject modal."""
    from bot.render.requests import REASON_ACTION, REASON_BLOCK, REJECT_MODAL

    return {
        "type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
        "user": {"id": user, "username": username, "team_id": "T1"}, "trigger_id": trigger_id,
        "view": {"id": "V1", "type": "modal", "callback_id": REJECT_MODAL,
                 "private_metadata": request_id, "state": {"values": {
                     REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input",
                                                    "value": reason}}}}},
    }
