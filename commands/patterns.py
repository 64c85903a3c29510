"""Access-pattern commands: one subcommand per lookup the team does daily."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from commands.parse import check_limit, parse_duration, parse_options
from commands.registry import CommandError, Context, command
from commands.results import ItemsResult, Result
from dynamo import patterns as ap
from dynamo.redact import redact_value
from dynamo.store import Page

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LIST_DEFAULT, LIST_MAX = 25, 100


def _single_arg(args: list[str], usage: str, what: str) -> tuple[str, Any]:
    opts = parse_options(args, {"--limit": int}, usage)
    if not opts.positional:
        raise CommandError(f"missing {what}", usage)
    if len(opts.positional) > 1:
        raise CommandError(f"expected one {what}, got `{' '.join(opts.positional)}`", usage)
    value = opts.positional[0].strip()
    if not value:
        raise CommandError(f"{what} is empty", usage)
    return value, opts


def _result(short: str, page: Page, title: str, index: str | None, single: bool = False,
            empty: str | None = None) -> ItemsResult:
    notes = [empty] if empty and not page.items else []
    return ItemsResult(title=title, table=short, index=index, items=page.items,
                       next_key=page.last_key, scanned=page.scanned, consumed=page.consumed,
                       single=single and len(page.items) == 1, notes=notes)


USER_USAGE = "/ddb user <user_id | email | cognito_sub>"


@command("user", USER_USAGE, group="pattern",
         examples=("/ddb user ada@example.com", "/ddb user user:<sub>", "/ddb user <sub>"))
def user_cmd(args: list[str], ctx: Context) -> Result:
    """A user by user_id (table key), email (EmailIndex) or Cognito sub (CognitoUserIdIndex)."""
    value, _ = _single_arg(args, USER_USAGE, "user id, email or Cognito sub")
    if value.startswith("user:"):
        page, how, index = ap.get_user(ctx.store, value), "user_id", None
    elif "@" in value:
        page, how, index = ap.find_user_by_email(ctx.store, value), "email", "EmailIndex"
    elif UUID.match(value):
        page, how, index = (ap.find_user_by_cognito_sub(ctx.store, value), "Cognito sub",
                            "CognitoUserIdIndex")
    else:
        raise CommandError(
            f"`{value}` is not a user id (`user:<uuid>`), an email or a Cognito sub (a UUID)",
            USER_USAGE)
    if not page.items:
        raise CommandError(f"no user with {how} `{value}`", USER_USAGE)
    return _result("users", page, f"user by {how}: {value}", index, single=True)


def _list_command(
    name: str, what: str, fn: Callable[..., Page], short: str, index: str | None, summary: str,
) -> None:
    usage = f"/ddb {name} <{what}> [--limit N]"

    def handler(args: list[str], ctx: Context) -> Result:
        value, opts = _single_arg(args, usage, what)
        limit = check_limit(opts.get("--limit"), LIST_DEFAULT, LIST_MAX, usage)
        page = fn(ctx.store, value, limit=limit, start_key=ctx.start_key)
        return _result(short, page, f"{name} of {value}", index,
                       empty=f"nothing found for {what} `{value}`")

    handler.__doc__ = summary
    command(name, usage, group="pattern", examples=(f"/ddb {name} <{what}>",))(handler)


_list_command("user-accounts", "user_id", ap.list_user_accounts, "user-accounts", None,
              "The accounts a user belongs to, with role and permissions.")
_list_command("members", "account_id", ap.list_account_members, "user-accounts",
              "AccountIdIndex", "The members of an account (AccountIdIndex).")
_list_command("helpers", "account_id", ap.list_account_helpers, "helpers", "AccountIdIndex",
              "An account's helpers (AccountIdIndex).")
_list_command("connections", "account_id", ap.list_account_connections, "connections",
              "AccountIdIndex", "An account's CRM connections (AccountIdIndex).")


def _executions(name: str, what: str, fn: Callable[..., Page], index: str, summary: str) -> None:
    usage = f"/ddb {name} <{what}> [--since 24h] [--status failed] [--limit N]"

    def handler(args: list[str], ctx: Context) -> Result:
        opts = parse_options(args, {"--since": str, "--status": str, "--limit": int}, usage)
        if len(opts.positional) != 1:
            raise CommandError(f"expected one {what}", usage)
        value = opts.positional[0]
        since = ctx.now - parse_duration(opts.get("--since"), usage) if opts.get("--since") else None
        statuses = [s.strip() for s in (opts.get("--status") or "").split(",") if s.strip()]
        limit = check_limit(opts.get("--limit"), LIST_DEFAULT, LIST_MAX, usage)
        page = fn(ctx.store, value, since=since, statuses=statuses, limit=limit,
                  start_key=ctx.start_key)
        bits = [f"since {opts.get('--since')}" if since else "", "/".join(statuses)]
        title = f"{name} of {value}, newest first" + "".join(f", {b}" for b in bits if b)
        result = _result("executions", page, title, index,
                         empty=f"no executions for {what} `{value}`" + (" in that window"
                                                                          if since else ""))
        if page.capped:
            result.notes.append(f"Stopped after reading {page.scanned} items; Next page reads on.")
        return result

    handler.__doc__ = summary
    command(name, usage, group="pattern",
            examples=(f"/ddb {name} <{what}> --since 24h --status failed",))(handler)


_executions("executions", "account_id", ap.list_account_executions, "AccountIdCreatedAtIndex",
            "An account's executions, newest first (AccountIdCreatedAtIndex).")
_executions("helper-executions", "helper_id", ap.list_helper_executions, "HelperIdCreatedAtIndex",
            "A helper's executions, newest first (HelperIdCreatedAtIndex).")


def _lookup_command(name: str, what: str, fn: Callable[..., Page], short: str, index: str,
                    summary: str) -> None:
    usage = f"/ddb {name} <{what}>"

    def handler(args: list[str], ctx: Context) -> Result:
        value, _ = _single_arg(args, usage, what)
        page = fn(ctx.store, value, start_key=ctx.start_key)
        if not page.items:
            raise CommandError(f"no {short} item with {what} `{value}`", usage)
        return _result(short, page, f"{name} {redact_value(what, value)}", index, single=True)

    handler.__doc__ = summary
    command(name, usage, group="pattern", examples=(f"/ddb {name} <{what}>",))(handler)


_lookup_command("platform", "slug", ap.find_platform_by_slug, "platforms", "SlugIndex",
                "A platform by slug (SlugIndex).")
_lookup_command("auth", "connection_id", ap.find_auth_by_connection, "platform-connection-auths",
                "ConnectionIdIndex", "A connection's auth record, secrets redacted.")
_lookup_command("api-key", "key_hash", ap.find_api_key_by_hash, "api-keys", "KeyHashIndex",
                "An API key by its hash (KeyHashIndex); the hash shows as a prefix only.")
