"""Listeners: each module registers its own; ``register_listeners`` wires them all.

Registration goes through a recorder, so ``surfaces(app)`` lists every (kind, id) the
app listens to — commands, shortcuts, actions, views, events — from the registration
itself. The manifest test compares that list with ``manifest.yml`` and with Bolt's own
listener count, so the manifest cannot drift from the code.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.listeners import (
    actions,
    digest,
    home,
    requests,
    review,
    shortcuts,
    slash,
    undo,
    views,
)
from bot.services import Services

# App registration methods → the kind of surface they declare
_KINDS = {
    "command": "command", "shortcut": "shortcut", "global_shortcut": "global_shortcut",
    "message_shortcut": "message_shortcut", "action": "action", "block_action": "action",
    "attachment_action": "action", "view": "view", "view_submission": "view",
    "view_closed": "view", "options": "options", "event": "event", "message": "message",
    "function": "function", "dialog_submission": "dialog", "dialog_cancellation": "dialog",
    "dialog_suggestion": "dialog",
}
_SURFACES: weakref.WeakKeyDictionary[App, list[tuple[str, str]]] = weakref.WeakKeyDictionary()


def _ident(constraint: Any) -> str:
    if isinstance(constraint, str):
        return constraint
    if isinstance(constraint, re.Pattern):
        return constraint.pattern
    if isinstance(constraint, dict):
        for k in ("callback_id", "action_id", "type"):
            if k in constraint:
                return _ident(constraint[k])
    return repr(constraint)


class _Recorder:
    """Stands in for the App while modules register: records, then delegates."""

    def __init__(self, app: App, record: list[tuple[str, str]]) -> None:
        self._app = app
        self._record = record

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._app, name)
        kind = _KINDS.get(name)
        if kind is None:
            return target

        def register(constraint: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
            self._record.append((kind, _ident(constraint)))
            return target(constraint, *args, **kwargs)

        return register


def surfaces(app: App) -> list[tuple[str, str]]:
    """(kind, id) of every listener ``register_listeners`` added to ``app``."""
    return list(_SURFACES.get(app, []))


def register_listeners(app: App, services: Services) -> None:
    record = _SURFACES.setdefault(app, [])
    recorder: Any = _Recorder(app, record)
    for module in (slash, actions, requests, shortcuts, views, home, digest, undo, review):
        module.register(recorder, services)
