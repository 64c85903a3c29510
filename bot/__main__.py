"""``python -m bot``: demo | console | serve | socket | seed | init | digest | audit.

With no subcommand: Socket Mode if SLACK_APP_TOKEN is set, else HTTP if
SLACK_SIGNING_SECRET is set, else the demo.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

DEFAULT_USER = "U_DEMO"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="ddb-bot: DynamoDB admin from Slack")
    sub = p.add_subparsers(dest="mode")
    demo = sub.add_parser("demo", help="embedded DynamoDB with demo data and a local console")
    console = sub.add_parser("console", help="local console against the configured DynamoDB")
    for sp in (demo, console):
        sp.add_argument("-c", "--command", help='run one command, e.g. -c "/ddb tables", and exit')
        sp.add_argument("--as", dest="user", default=DEFAULT_USER, help="act as this Slack user id")
    sub.add_parser("serve", help="HTTP: POST /slack/events, GET /healthz on PORT")
    sub.add_parser("socket", help="Socket Mode (SLACK_APP_TOKEN)")
    seed = sub.add_parser("seed", help="write demo data into the configured DynamoDB")
    seed.add_argument("--scale", type=int, default=1, help="multiply the demo data set")
    init = sub.add_parser("init", help="create the state table")
    init.add_argument("--all", action="store_true", help="also create the ten declared tables")
    digest = sub.add_parser("digest", help="the failed-executions digest now: post it, or --dry-run")
    digest.add_argument("--since", help="window: the last 24h, 7d, ... (default: the scheduled one)")
    digest.add_argument("--dry-run", action="store_true", help="print it and its reads; post nothing")
    digest.add_argument("--channel", help="post here instead of DDB_BOT_DIGEST_CHANNEL")
    digest.add_argument("--plan", choices=("auto", "query", "scan"), default="auto",
                        help="force the read plan (to compare; default: the planner decides)")
    from bot.audit_cli import add_parser as add_audit

    add_audit(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    mode = args.mode or _default_mode(settings)
    _logging(settings, json_lines=mode in ("serve", "socket"))
    if mode == "demo":
        return _demo(settings, getattr(args, "command", None), getattr(args, "user", DEFAULT_USER))
    if mode == "console":
        return _console(settings, args.command, args.user)
    if mode == "init":
        return _init(settings, args.all)
    if mode == "seed":
        return _seed(settings, args.scale)
    if mode == "digest":
        from bot.scheduler import digest_command

        return digest_command(settings, args.since, args.dry_run, args.channel, args.plan)
    if mode == "audit":
        from bot.audit_cli import audit_command

        return audit_command(settings, args)
    if mode == "serve":
        from bot.server import serve

        return serve(settings)
    if mode == "socket":
        from bot.server import socket_mode

        return socket_mode(settings)
    raise AssertionError(mode)


def _logging(settings: Settings, json_lines: bool) -> None:
    """JSON lines for the long-running Slack modes (log pipelines), plain text for people;
    the process's own tokens are masked in either."""
    from bot.logs import setup

    tokens = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
    setup(settings.ddb_bot_log_level, json_lines=json_lines,
          secrets=[t.get_secret_value() for t in tokens if t is not None])


def _default_mode(settings: Settings) -> str:
    if settings.slack_app_token is not None:
        return "socket"
    if settings.slack_signing_secret is not None:
        return "serve"
    return "demo"


def _console(settings: Settings, command: str | None, user: str, client: object = None) -> int:
    from bot.console import Console
    from bot.services import Services

    console = Console(Services.build(settings, client), user)
    return console.one(command) if command else console.loop()


def _demo(settings: Settings, command: str | None, user: str) -> int:
    """Embedded in-process DynamoDB (moto), demo data, the console."""
    for var, val in (("AWS_ACCESS_KEY_ID", "demo"), ("AWS_SECRET_ACCESS_KEY", "demo")):
        os.environ.setdefault(var, val)
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    try:
        from moto import mock_aws
    except ImportError:
        print("the demo needs the local extra: pip install -e '.[local]'", file=sys.stderr)
        return 2
    from dynamo import demo, moto_compat
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table

    moto_compat.install()
    settings = settings.model_copy(update={"aws_endpoint_url_dynamodb": None})
    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        if not settings.ddb_bot_policy_file:  # the demo's own: U_ONCALL may break glass
            policy = Path(tmp) / "demo-policy.yml"
            policy.write_text(demo.DEMO_POLICY, encoding="utf-8")
            settings = settings.model_copy(update={"ddb_bot_policy_file": str(policy)})
        client = dynamodb_client(settings.aws_region)
        create_platform_tables(client, settings.stage)
        create_state_table(client, settings.state_table)
        demo.seed(client, settings.stage)
        if command is None:
            print(f"demo data loaded; try: /ddb user {demo.DEMO_EMAIL}   /ddb auth "
                  f"{demo.DEMO_CONNECTION_ID}   /ddb executions {demo.DEMO_ACCOUNT_ID} --status failed"
                  f"\n(break-glass: `as {demo.DEMO_ONCALL}` may add --break-glass \"<reason>\" "
                  "to update, delete or put)")
        return _console(settings, command, user, client)


def _init(settings: Settings, all_tables: bool) -> int:
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table

    client = dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
    made = create_state_table(client, settings.state_table)
    print(f"{settings.state_table}: {'created' if made else 'exists'}")
    if all_tables:
        created = create_platform_tables(client, settings.stage)
        print(f"platform tables created: {', '.join(created) or 'none (all exist)'}")
    return 0


def _seed(settings: Settings, scale: int) -> int:
    from dynamo import demo
    from dynamo.aws import dynamodb_client

    if scale < 1:
        print("--scale must be 1 or more", file=sys.stderr)
        return 2
    client = dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
    n = demo.seed(client, settings.stage, scale=scale, show_progress=True)
    print(f"wrote {n} demo items into mfh-{settings.stage}-*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
