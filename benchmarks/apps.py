"""The apps the latency benchmarks compare, each served the same way (bot.server's
waitress server with the bot's limits).

``python benchmarks/apps.py KIND PORT`` serves one of:

- ``bot``: ddb-bot itself (``bot.app.build_app``);
- ``plain``: a minimal Bolt app doing the same job plainly: ack, a raw boto3
  ``get_item`` (or the EmailIndex ``query``), ``respond`` with the item as JSON;
- ``noop``: a Bolt app whose listener only acks.

It prints ``READY`` once listening. Settings come from the environment like the bot's.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bolt_app(settings: Any) -> Any:
    from slack_bolt import App
    from slack_sdk import WebClient

    client = WebClient(token=settings.slack_bot_token.get_secret_value(),
                       base_url=settings.slack_api_url)
    return App(client=client, signing_secret=settings.slack_signing_secret.get_secret_value(),
               token_verification_enabled=False, process_before_response=False)


def plain(settings: Any) -> Any:
    import boto3

    app = _bolt_app(settings)
    ddb = boto3.client("dynamodb", region_name=settings.aws_region,
                       endpoint_url=settings.aws_endpoint_url_dynamodb)
    users = f"mfh-{settings.stage}-users"

    @app.command("/ddb")
    def handle(ack: Any, command: dict[str, Any], respond: Any) -> None:
        ack()
        words = command["text"].split()
        if words[0] == "get":
            resp = ddb.get_item(TableName=users, Key={"user_id": {"S": words[2]}})
            items = [resp.get("Item")]
        else:
            email = words[2].split("=", 1)[1]
            resp = ddb.query(TableName=users, IndexName="EmailIndex",
                             KeyConditionExpression="email = :e",
                             ExpressionAttributeValues={":e": {"S": email}})
            items = resp["Items"]
        respond(text=json.dumps(items)[:2900], response_type="ephemeral")

    return app


def noop(settings: Any) -> Any:
    app = _bolt_app(settings)

    @app.command("/ddb")
    def handle(ack: Any) -> None:
        ack()

    return app


def bot(settings: Any) -> Any:
    from bot.app import build_app
    from bot.services import Services

    return build_app(Services.build(settings))


def main() -> None:
    import logging

    from bot.config import load_settings
    from bot.server import HttpServer, Limits

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bot.overload").setLevel(logging.ERROR)  # the benchmark counts busy
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    kind, port = sys.argv[1], int(sys.argv[2])
    settings = load_settings()
    app = {"bot": bot, "plain": plain, "noop": noop}[kind](settings)
    server = HttpServer(app, "127.0.0.1", port, Limits.of(settings))
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
