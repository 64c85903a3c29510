"""The baseline of ``benchmarks/cold_start.py``: the smallest Bolt app on Bolt's Lambda adapter.

One ``App`` (token and signing secret from the environment) with one ``/ddb`` listener that
only acks, served by ``SlackRequestHandler``; built at import, as Bolt's Lambda examples do.
Its Web API client goes to ``SLACK_API_URL`` (the benchmark's fake): Bolt's authorization
calls ``auth.test`` on the first request, as on a real cold start. ``handler_lazy`` adds one
lazy listener, so its ack also makes the asynchronous Invoke call, as ddb-bot's does.
"""

from __future__ import annotations

import os
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_sdk import WebClient


def _app(name: str) -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"],
                       base_url=os.environ.get("SLACK_API_URL", WebClient.BASE_URL))
    return App(name=name, process_before_response=True, token_verification_enabled=False,
               signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)


app = _app("bare")
app.command("/ddb")(lambda ack: ack())
lazy_app = _app("bare-lazy")


def ack_only(ack: Ack) -> None:
    ack()


def work(body: dict[str, Any]) -> None:
    """Never runs here: the benchmark's Invoke API holds the asynchronous invocation."""


lazy_app.command("/ddb")(ack=ack_only, lazy=[work])


_handler = SlackRequestHandler(app)
_lazy_handler = SlackRequestHandler(lazy_app)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _handler.handle(event, context)


def handler_lazy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _lazy_handler.handle(event, context)
