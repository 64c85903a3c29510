"""Listeners: each module registers its own; ``register_listeners`` wires them all."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, requests, slash
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    slash.register(app, services)
    actions.register(app, services)
    requests.register(app, services)
