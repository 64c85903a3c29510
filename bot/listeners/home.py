"""App Home: published when opened, and refreshed for the people a request involves."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.acked import NO_WORK, NoWork, acked
from bot.listeners.notify import respond_fallback
from bot.render.home import render_home
from bot.services import Services
from commands.home import home_data
from dynamo.store import StoreError

log = logging.getLogger(__name__)
EVENT = "app_home_opened"


def publish_home(services: Services, client: WebClient, user: str) -> None:
    """Build and publish ``user``'s home; a failure is logged, never raised to Slack."""
    try:
        view = render_home(home_data(services.context(user)))
        client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", user, exc.response.get("error"))
    except (StoreError, ClientError, BotoCoreError) as exc:
        log.warning("home of %s could not be built: %s", user, exc)


def refresh_homes(services: Services, client: WebClient, *users: str | None) -> None:
    """Re-publish the homes of the people a request change involves (requester, decider)."""
    for user in dict.fromkeys(u for u in users if u and u[:1] in ("U", "W")):
        publish_home(services, client, user)


def register(app: App, services: Services) -> None:
    app.use(respond_fallback)

    def home_opened(ack: Ack, event: dict[str, Any]) -> NoWork | None:
        ack()
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or not user:
            return NO_WORK
        return None

    def publish_opened_home(event: dict[str, Any], client: WebClient) -> None:
        publish_home(services, client, str(event["user"]))

    # its reads and views.publish run after the 200 (Slack retries an event answered later
    # than 3 s); when the work queue is full the home is left as it was and the busy count
    # is logged
    acked(app, services, "event", EVENT, ack=home_opened, work=publish_opened_home)
