"""``python -m bot audit export [--since 7d] [--until T] [--out FILE|s3://bucket/prefix]``.

The edge around ``dynamo.audit_export``: parses the window, picks the target, reports
one line on stderr (stdout carries the JSON Lines when there is no ``--out``).
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime

from bot.config import Settings
from dynamo import audit_export as ex

DEFAULT_SINCE = "7d"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the audit log: export it as JSON Lines")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="JSON Lines, one object per audit record")
    export.add_argument("--since", default=DEFAULT_SINCE,
                        help="start: a duration back from now (7d, 24h) or an ISO time (default 7d)")
    export.add_argument("--until", help="end (exclusive): a duration back or an ISO time (default now)")
    export.add_argument("--out", help="a file, or s3://bucket/prefix (default: stdout)")


def parse_when(text: str, now: datetime, flag: str) -> datetime:
    """A duration back from ``now`` (``7d``) or an ISO-8601 time (``2026-11-30T06:00Z``)."""
    from commands.parse import parse_duration
    from commands.registry import CommandError
    from dynamo.schedule import parse_iso

    text = text.strip()
    if text[:1].isdigit() and text[-1:].lower() in "smhdw" and "-" not in text:
        try:
            return now - parse_duration(text)
        except CommandError as exc:
            raise ValueError(f"{flag}: {exc}") from None
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError(f"{flag}: `{text}` is neither a duration (7d, 24h) nor an ISO time "
                         "(2026-11-30T06:00:00Z)") from None


def audit_command(settings: Settings, args: argparse.Namespace, *, now: datetime | None = None,
                  dynamodb: object = None, s3: object = None) -> int:
    """Run ``audit export``; 0 on success, 2 on bad arguments, 1 when writing failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    from dynamo.aws import dynamodb_client

    now = now or datetime.now(UTC)
    try:
        since = parse_when(args.since, now, "--since")
        until = parse_when(args.until, now, "--until") if args.until else now
        if since >= until:
            raise ValueError(f"--since ({since:%Y-%m-%dT%H:%M:%SZ}) must be before --until "
                             f"({until:%Y-%m-%dT%H:%M:%SZ})")
        target = ex.s3_target(args.out) if args.out else None
    except ValueError as exc:
        print(f"audit export: {exc}", file=sys.stderr)
        return 2
    client = dynamodb or dynamodb_client(settings.aws_region, settings.aws_endpoint_url_dynamodb)
    records = (ex.to_export(i) for i in ex.read_records(client, settings.state_table, since, until))
    try:
        if target is not None:
            buf = io.StringIO()
            n = ex.write_lines(records, buf)
            if s3 is None:
                import boto3

                s3 = boto3.client("s3", region_name=settings.aws_region)
            key = ex.put_s3(s3, target[0], target[1], buf.getvalue().encode(), now)
            print(f"audit export: {n} records → s3://{target[0]}/{key}", file=sys.stderr)
        elif args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                n = ex.write_lines(records, fh)
            print(f"audit export: {n} records → {args.out}", file=sys.stderr)
        else:
            n = ex.write_lines(records, sys.stdout)
            sys.stdout.flush()
    except (ClientError, BotoCoreError, OSError) as exc:
        print(f"audit export failed: {exc}", file=sys.stderr)
        return 1
    return 0
