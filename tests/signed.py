"""Real signed HTTP requests into the served Bolt app, as Slack sends them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


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

    def slash(self, text: str, user: str = "U_ALICE", channel: str = "C_OPS",
              **kw: Any) -> HttpResult:
        form = {
            "token": "legacy", "team_id": "T1", "team_domain": "test", "channel_id": channel,
            "channel_name": "ops", "user_id": user, "user_name": user.lower(),
            "command": "/ddb", "text": text, "api_app_id": "A1", "response_url": self.response_url,
            "trigger_id": "trigger-1",
        }
        return self.post(urlencode(form), **kw)

    def interact(self, payload: dict[str, Any], **kw: Any) -> HttpResult:
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)

    def click(self, action_id: str, value: str, user: str = "U_ALICE", channel: str = "C_OPS",
              message_ts: str = "1700000000.000100", **kw: Any) -> HttpResult:
        payload = {
            "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
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
