"""Writes: each becomes a write request that a second person approves.

Nothing here writes to a platform table. ``update``/``delete``/``put``/``gsi`` plan and
store a request; ``approve``/``reject`` decide one through the same state machine the
Slack buttons use (the buttons dispatch these very commands).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from commands import break_glass as bg
from commands.input_checks import check_write_values
from commands.parse import ATTR_NAME, check_limit, json_object, parse_key, parse_options
from commands.ports import WriteRequests
from commands.registry import CommandError, Context, command
from commands.results import RequestResult, Result, TableResult
from commands.secret_guard import why_guarded
from dynamo.requests import Gsi, Kind, PlanError, Refused, WriteRequest
from dynamo.schema import AttrType
from dynamo.values import typed_value

UPDATE_USAGE = ("/ddb update <table> <key> set <attr>=<value> [...] [remove <attr> ...] "
                f"[--no-touch] [{bg.USAGE_HINT}]")
DELETE_USAGE = f"/ddb delete <table> <key> [{bg.USAGE_HINT}]"
PUT_USAGE = f"/ddb put <table> <item-json> [--replace] [{bg.USAGE_HINT}]"
GSI_USAGE = ("/ddb gsi list <table> | /ddb gsi create <table> <IndexName> <hash>[:S|N|B] "
             "[<range>[:S|N|B]] [--projection ALL|KEYS_ONLY|INCLUDE:a,b] | "
             "/ddb gsi delete <table> <IndexName>")
APPROVE_USAGE = "/ddb approve <request id>"
REJECT_USAGE = "/ddb reject <request id> [reason]"


def requests_of(ctx: Context) -> WriteRequests:
    """The write requests port, or a usage error when the bot has none (no state table)."""
    if ctx.services is None or ctx.services.requests is None:
        raise CommandError("write requests need the bot's state table (run `python -m bot init`)")
    return ctx.services.requests


def submit(ctx: Context, plan: Callable[[], WriteRequest], usage: str,
           break_glass: tuple[str | None, Kind, str] | None = None) -> Result:
    """Plan a request with ``plan()`` and store it PENDING; bad plans are usage errors.

    ``break_glass``: (reason, kind, table); with a reason the change runs at once instead,
    if the caller may break glass (``commands.break_glass``)."""
    if break_glass is not None and break_glass[0] is not None:
        reason, kind, table = break_glass
        return bg.run(ctx, requests_of(ctx), plan, usage, reason, kind, table)
    try:
        req: WriteRequest = plan()
    except PlanError as exc:
        raise CommandError(str(exc), usage) from None
    requests_of(ctx).save(req)
    return RequestResult.of(req, event="created")


@command("update", UPDATE_USAGE, group="write", examples=(
    "/ddb update users user:<sub> set status=active",
    "/ddb update helpers helper-0001 set enabled=false remove description"))
def update_cmd(args: list[str], ctx: Context) -> Result:
    """Request a change of attributes of one item (sets updated_at unless --no-touch)."""
    opts = parse_options(args, {"--no-touch": None, bg.OPTION: str}, UPDATE_USAGE)
    reason = bg.reason_of(opts, UPDATE_USAGE)
    pos = opts.positional
    if not pos:
        raise CommandError("missing table name", UPDATE_USAGE)
    table, _ = ctx.store.table(pos[0])
    words = [p.lower() for p in pos]
    starts = [i for i, w in enumerate(words) if i > 0 and w in ("set", "remove")]
    if not starts:
        raise CommandError("missing `set <attr>=<value>` or `remove <attr>`", UPDATE_USAGE)
    key = parse_key(table, pos[1:starts[0]], UPDATE_USAGE)
    set_: dict[str, Any] = {}
    remove: list[str] = []
    mode = None
    for token, word in zip(pos[starts[0]:], words[starts[0]:], strict=True):
        if word in ("set", "remove") and "=" not in token:
            mode = word
            continue
        if mode == "set":
            attr, eq, raw = token.partition("=")
            attr = table.canonical(attr.strip())
            if not eq or not attr:
                raise CommandError(f"`{token}`: write `set <attr>=<value>`", UPDATE_USAGE)
            _check_name(attr)
            if attr in set_:
                raise CommandError(f"`{attr}` is set twice", UPDATE_USAGE)
            set_[attr] = typed_value(table, attr, raw)
            check_write_values({attr: set_[attr]}, UPDATE_USAGE)
        else:
            if "=" in token:
                raise CommandError(f"`{token}`: `remove` takes attribute names only", UPDATE_USAGE)
            attr = table.canonical(token)
            _check_name(attr)
            remove.append(attr)
    return submit(ctx, lambda: requests_of(ctx).plan_update(
        table.short, key, set_, remove, ctx.user_id, touch=not opts.get("--no-touch"),
        text=ctx.text, channel=ctx.channel_id), UPDATE_USAGE, (reason, Kind.UPDATE, table.short))


def _check_name(attr: str) -> None:
    if not ATTR_NAME.match(attr):
        raise CommandError(f"`{attr}` is not a valid attribute name", UPDATE_USAGE)


@command("delete", DELETE_USAGE, group="write", examples=("/ddb delete oauth-states <state_id>",))
def delete_cmd(args: list[str], ctx: Context) -> Result:
    """Request the deletion of one item."""
    opts = parse_options(args, {bg.OPTION: str}, DELETE_USAGE)
    reason = bg.reason_of(opts, DELETE_USAGE)
    args = opts.positional
    if not args:
        raise CommandError("missing table name", DELETE_USAGE)
    table, _ = ctx.store.table(args[0])
    key = parse_key(table, args[1:], DELETE_USAGE)
    return submit(ctx, lambda: requests_of(ctx).plan_delete(
        table.short, key, ctx.user_id, text=ctx.text, channel=ctx.channel_id), DELETE_USAGE,
        (reason, Kind.DELETE, table.short))


@command("put", PUT_USAGE, group="write", examples=(
    '/ddb put platforms {"platform_id":"plat-0100","name":"Pipedrive","slug":"pipedrive"}',))
def put_cmd(args: list[str], ctx: Context) -> Result:
    """Request a new item (refuses to overwrite an existing one unless --replace)."""
    opts = parse_options(args, {"--replace": None, bg.OPTION: str}, PUT_USAGE)
    reason = bg.reason_of(opts, PUT_USAGE)
    if len(opts.positional) < 2:
        raise CommandError("missing table name or item JSON", PUT_USAGE)
    table, _ = ctx.store.table(opts.positional[0])
    item = json_object(" ".join(opts.positional[1:]), "the item")
    item = {table.canonical(k): v for k, v in item.items()}
    for attr in item:
        _check_name(attr)
    check_write_values(item, PUT_USAGE)
    return submit(ctx, lambda: requests_of(ctx).plan_put(
        table.short, item, ctx.user_id, replace=bool(opts.get("--replace")), text=ctx.text,
        channel=ctx.channel_id), PUT_USAGE, (reason, Kind.PUT, table.short))


_INDEX_NAME = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")


def _gsi_key(table: Any, spec: str) -> tuple[str, str]:
    attr, _, typ = spec.partition(":")
    attr = table.canonical(attr)
    if not ATTR_NAME.match(attr) or "." in attr:
        raise CommandError(f"`{attr}` is not a valid attribute name", GSI_USAGE)
    why = why_guarded(attr, table)
    if why:
        raise CommandError(f"`{attr}` is {why}: an index keyed by it would order and page items "
                           "by its value, which reveals it. Nothing was requested.", GSI_USAGE)
    declared = table.type_of(attr)
    if typ:
        typ = typ.upper()
        if typ not in ("S", "N", "B"):
            raise CommandError(f"key type `{typ}` must be S, N or B", GSI_USAGE)
    else:
        typ = declared.value if declared in (AttrType.S, AttrType.N, AttrType.B) else "S"
    if declared is not None and declared.value != typ:
        raise CommandError(f"`{attr}` is declared {declared.value}; an index key on it must be "
                           f"{declared.value}", GSI_USAGE)
    return attr, typ


@command("gsi", GSI_USAGE, group="write", examples=(
    "/ddb gsi list helpers", "/ddb gsi create helpers StatusIndex status --projection KEYS_ONLY",
    "/ddb gsi delete helpers StatusIndex"))
def gsi_cmd(args: list[str], ctx: Context) -> Result:
    """List a table's GSIs, or request creating / deleting one."""
    opts = parse_options(args, {"--projection": str, bg.OPTION: str}, GSI_USAGE)
    pos = opts.positional
    if len(pos) < 2 or pos[0].lower() not in ("list", "create", "delete"):
        raise CommandError("say `gsi list`, `gsi create` or `gsi delete` and a table", GSI_USAGE)
    action = pos[0].lower()
    table, full = ctx.store.table(pos[1])
    if action != "list" and opts.get(bg.OPTION) is not None:
        # an index change cannot run break-glass: refused with the reason, audited
        refused = bg.refusal(ctx, requests_of(ctx), Kind.GSI_CREATE if action == "create"
                             else Kind.GSI_DELETE, table.short, str(opts.get(bg.OPTION)))
        assert refused is not None
        return refused
    if action == "list":
        if len(pos) > 2 or opts.values:
            raise CommandError("`gsi list` takes only a table", GSI_USAGE)
        live = ctx.store.describe_table(full)["Table"].get("GlobalSecondaryIndexes", [])
        rows = [[g["IndexName"], " + ".join(k["AttributeName"] for k in g["KeySchema"]),
                 g.get("Projection", {}).get("ProjectionType", ""), g.get("IndexStatus", "")]
                for g in live]
        return TableResult(title=f"GSIs of {full}", columns=["index", "keys", "projection",
                                                             "status"], rows=rows)
    if len(pos) < 3 or not _INDEX_NAME.match(pos[2]):
        raise CommandError("give an index name (3-255 letters, digits, `_.-`)", GSI_USAGE)
    name = pos[2]
    if action == "delete":
        if len(pos) > 3 or opts.values:
            raise CommandError("`gsi delete` takes a table and an index name", GSI_USAGE)
        gsi = Gsi(name=name)
    else:
        if not 4 <= len(pos) <= 5:
            raise CommandError("`gsi create` needs a hash key and at most one range key",
                               GSI_USAGE)
        hash_key = _gsi_key(table, pos[3])
        range_key = _gsi_key(table, pos[4]) if len(pos) == 5 else None
        if range_key and range_key[0] == hash_key[0]:
            raise CommandError("the hash and range keys must differ", GSI_USAGE)
        proj = (opts.get("--projection") or "ALL").strip()
        non_key: list[str] = []
        if proj.upper().startswith("INCLUDE:"):
            non_key = [a.strip() for a in proj[8:].split(",") if a.strip()]
            if not non_key:
                raise CommandError("INCLUDE needs attribute names: INCLUDE:a,b", GSI_USAGE)
            proj = "INCLUDE"
        proj = proj.upper()
        if proj not in ("ALL", "KEYS_ONLY", "INCLUDE"):
            raise CommandError(f"projection `{proj}` must be ALL, KEYS_ONLY or INCLUDE:a,b",
                               GSI_USAGE)
        gsi = Gsi(name=name, hash_key=hash_key, range_key=range_key, projection=proj,
                  non_key=non_key)
    return submit(ctx, lambda: requests_of(ctx).plan_gsi(
        table.short, gsi, action == "create", ctx.user_id, text=ctx.text,
        channel=ctx.channel_id), GSI_USAGE)


def _is_approver(ctx: Context) -> Callable[[str], bool]:
    """Whether a user is an approver (DDB_BOT_APPROVERS), for the state machine's check of a
    specific request; with no access policy, anyone."""
    access = ctx.access
    return access.is_approver if access is not None else (lambda _u: True)


def approve_request(ctx: Context, request_id: str) -> RequestResult:
    """Approve as ``ctx.user_id``: the one path for the command and the button."""
    try:
        req = requests_of(ctx).approve(request_id.strip(), ctx.user_id, _is_approver(ctx))
    except Refused as exc:
        return RequestResult.refused(str(exc), request_id.strip())
    # still pending after an approval: recorded, and the quorum needs more
    return RequestResult.of(req, event="approved" if req.status.value == "PENDING" else "decided")


def reject_request(ctx: Context, request_id: str, reason: str | None) -> RequestResult:
    """Reject as ``ctx.user_id``: the one path for the command and the modal."""
    try:
        req = requests_of(ctx).reject(request_id.strip(), ctx.user_id, reason, _is_approver(ctx))
    except Refused as exc:
        return RequestResult.refused(str(exc), request_id.strip())
    return RequestResult.of(req, event="decided")


@command("approve", APPROVE_USAGE, group="admin")
def approve_cmd(args: list[str], ctx: Context) -> Result:
    """Approve a pending write request (not your own); it runs at once, exactly once."""
    if len(args) != 1:
        raise CommandError("give one request id", APPROVE_USAGE)
    return approve_request(ctx, args[0])


@command("reject", REJECT_USAGE, group="admin")
def reject_cmd(args: list[str], ctx: Context) -> Result:
    """Reject a pending write request, with an optional reason (requesters may withdraw)."""
    if not args:
        raise CommandError("give a request id", REJECT_USAGE)
    return reject_request(ctx, args[0], " ".join(args[1:]).strip() or None)


def _when(ts: int | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


@command("pending", "/ddb pending", group="admin")
def pending_cmd(args: list[str], ctx: Context) -> Result:
    """Open write requests, newest first, then break-glass changes waiting for review."""
    if args:
        raise CommandError("`pending` takes no arguments", "/ddb pending")
    requests = requests_of(ctx)
    reqs = requests.list(statuses=["PENDING"], limit=50)
    now = ctx.now.timestamp()
    rows = [[r.id, r.summary, f"<@{r.requester}>", _when(r.created_at),
             "expired" if r.expires_at <= now else _when(r.expires_at)] for r in reqs]
    return TableResult(title="Open write requests", columns=["id", "change", "requester",
                                                             "asked", "expires"], rows=rows,
                       notes=[] if rows else ["No open requests."],
                       more=[bg.review_table(requests)])


HISTORY_USAGE = "/ddb history [--limit N]"


@command("history", HISTORY_USAGE, group="admin")
def history_cmd(args: list[str], ctx: Context) -> Result:
    """The audit log: who asked, approved, rejected what, and the outcome."""
    opts = parse_options(args, {"--limit": int}, HISTORY_USAGE)
    if opts.positional:
        raise CommandError(f"unexpected `{' '.join(opts.positional)}`", HISTORY_USAGE)
    limit = check_limit(opts.get("--limit"), 20, 100, HISTORY_USAGE)
    records = ctx.services.requests.audit.recent(limit) if ctx.services else []
    rows = [[r.at[:19].replace("T", " "), f"<@{r.actor}>" if r.actor.startswith("U") else r.actor,
             r.action, r.request_id, r.summary, r.outcome] for r in records]
    return TableResult(title="Audit log", columns=["at (UTC)", "who", "action", "request",
                                                   "change", "outcome"], rows=rows,
                       notes=[] if rows else ["No audit records yet."])
