"""manifest.yml declares exactly what the app listens to and the scopes its code needs.

The listeners are read from the built app itself: ``bot.listeners.surfaces`` records
every registration, and Bolt's own listener list must hold exactly that many, so a
listener registered around the recorder fails here too. Scopes are derived from the
Web API methods the ``bot/`` source calls, through the table below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.render import ids

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.yml"

# Web API method (as a WebClient method) → bot token scopes it needs.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "chat_scheduleMessage": {"chat:write"},
    "views_open": set(),
    "views_push": set(),
    "views_update": set(),
    "views_publish": set(),
    "usergroups_users_list": {"usergroups:read"},
    "usergroups_list": {"usergroups:read"},
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_join": {"channels:join"},
    "users_info": {"users:read"},
    "reactions_add": {"reactions:write"},
    "files_upload_v2": {"files:write"},
}
# Scopes declared on purpose without a method of their own, and why.
DELIBERATE = {
    "chat:write.public": "lookup thread replies and write requests in public channels the "
                         "bot has not been invited to",
}
# What slash commands, shortcuts and events need by themselves.
SURFACE_SCOPES = {"command": {"commands"}, "global_shortcut": {"commands"},
                  "message_shortcut": {"commands"}, "shortcut": {"commands"}}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture(scope="module")
def app() -> Any:
    """The real app, built over a client that fails loudly if building touches DynamoDB."""
    from bot.app import build_app
    from bot.config import load_settings
    from bot.services import Services

    settings = load_settings(slack_bot_token="xoxb-test", slack_signing_secret="secret")
    return build_app(Services.build(settings, client=object()))


@pytest.fixture(scope="module")
def surfaces(app: Any) -> list[tuple[str, str]]:
    from bot.listeners import surfaces

    return surfaces(app)


def _of(surfaces: list[tuple[str, str]], *kinds: str) -> set[str]:
    return {i for k, i in surfaces if k in kinds}


def test_every_listener_is_recorded(app: Any, surfaces: list[tuple[str, str]]) -> None:
    assert len(app._listeners) == len(surfaces), "a listener was registered around the recorder"
    assert len(set(surfaces)) == len(surfaces), f"registered twice: {surfaces}"


def test_commands_match(manifest: dict[str, Any], surfaces: list[tuple[str, str]]) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == _of(surfaces, "command") == {"/ddb"}


def test_shortcuts_match_both_ways(manifest: dict[str, Any], surfaces: list[tuple[str, str]]) -> None:
    shortcuts = manifest["features"]["shortcuts"]
    by_type = {t: {s["callback_id"] for s in shortcuts if s["type"] == t} for t in ("message", "global")}
    assert by_type["message"] == _of(surfaces, "message_shortcut") == {ids.LOOKUP_SHORTCUT}
    assert by_type["global"] == _of(surfaces, "global_shortcut") == {ids.CHANGE_SHORTCUT}
    assert not _of(surfaces, "shortcut"), "use message_shortcut / global_shortcut explicitly"
    names = {s["callback_id"]: s["name"] for s in shortcuts}
    assert names == {ids.LOOKUP_SHORTCUT: "Look up in DynamoDB",
                     ids.CHANGE_SHORTCUT: "Request a DynamoDB change"}
    assert all(len(s["description"]) <= 150 and len(s["name"]) <= 40 for s in shortcuts)


def test_events_and_app_home_match(manifest: dict[str, Any], surfaces: list[tuple[str, str]]) -> None:
    events = manifest["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == _of(surfaces, "event") == {"app_home_opened"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # DMs are how the bot answers modal submissions and App Home clicks
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True


def test_interactivity_socket_mode_and_one_request_url(manifest: dict[str, Any],
                                                        surfaces: list[tuple[str, str]]) -> None:
    settings = manifest["settings"]
    assert _of(surfaces, "action", "view", "message_shortcut", "global_shortcut")
    assert settings["interactivity"]["is_enabled"] is True
    # HTTP by default (what the image, deploy/ and serverless.yml run); Socket Mode is the
    # documented switch (tests/unit/test_deploy.py checks the deploy files agree)
    assert settings["socket_mode_enabled"] is False
    urls = {settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])}
    assert len(urls) == 1 and re.fullmatch(r"https://[a-z0-9.-]+/slack/events", urls.pop())
    assert not _of(surfaces, "options", "message", "function", "dialog")  # none declared


def _called_methods() -> dict[str, list[str]]:
    """WebClient methods called anywhere in bot/ → the files calling them."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for name in re.findall(r"\.([a-z]+_[A-Za-z_]+)\(", path.read_text()):
            # api_call: the dispatcher every method goes through (a client subclass
            # overrides it), not a Web API method of its own
            if callable(getattr(WebClient, name, None)) and name != "api_call":
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_scopes_are_exactly_what_the_code_needs(manifest: dict[str, Any],
                                                surfaces: list[tuple[str, str]]) -> None:
    called = _called_methods()
    assert {"chat_postMessage", "views_open", "views_publish", "usergroups_users_list"} <= set(called)
    unknown = sorted(set(called) - set(METHOD_SCOPES))
    assert not unknown, f"add these Web API methods to METHOD_SCOPES: {unknown}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called))
    needed |= set().union(*(SURFACE_SCOPES.get(kind, set()) for kind, _ in surfaces))
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    assert needed - declared == set(), "scopes the code needs but the manifest lacks"
    assert declared - needed == set(DELIBERATE), "declared scopes nothing uses"
