"""Generic reads: help, tables, describe, schema, patterns, count, get, query, scan."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import ConditionBase, Key

from commands import expr, secret_guard
from commands.parse import check_limit, parse_key, parse_options
from commands.registry import REGISTRY, CommandError, Context, command, general_usage
from commands.results import ItemsResult, Result, TableResult, TextResult
from dynamo.schema import ACCESS_PATTERNS, TABLES, Table

SCAN_DEFAULT, PAGE_MAX = 10, 100
QUERY_DEFAULT = 25


def _one_table(args: list[str], usage: str) -> str:
    if not args:
        raise CommandError("missing table name", usage)
    if len(args) > 1:
        raise CommandError(f"unexpected `{' '.join(args[1:])}`", usage)
    return args[0]


def _filter(text: str | None, table: Table) -> ConditionBase | None:
    if text is None:
        return None
    try:
        node = expr.parse(text, table)
    except expr.ExpressionError as exc:
        raise CommandError(f"bad --filter: {exc}") from None
    secret_guard.check_expression(node, table, "--filter")
    return expr.to_condition(node)


# -- help ------------------------------------------------------------------------------
@command("help", "/ddb help [subcommand]", examples=("/ddb help query",))
def help_cmd(args: list[str], ctx: Context) -> Result:
    """What every subcommand does, or one subcommand in detail."""
    if args:
        cmd = REGISTRY.get(args[0].lower())
        if cmd is None:
            raise CommandError(f"unknown subcommand `{args[0]}`", general_usage())
        hidden = _not_yours(cmd.name, cmd.group, ctx)
        if hidden:
            raise CommandError(f"you may not run `/ddb {cmd.name}`: {hidden}",
                               "/ddb help   (lists what you may run)")
        body = f"{cmd.summary}\n```{cmd.usage}```"
        if cmd.details:
            body += f"\n{cmd.details}"
        if cmd.examples:
            body += "\nExamples:\n" + "\n".join(f"• `{e}`" for e in cmd.examples)
        return TextResult(title=f"/ddb {cmd.name}", sections=[("", body)])
    groups: dict[str, list[str]] = {}
    access = ctx.access
    for cmd in sorted(REGISTRY.values(), key=lambda c: c.name):
        if access is not None and not access.shown(cmd.name, cmd.group, ctx.user_id,
                                                   ctx.channel_id):
            continue  # each person sees only what they may run
        groups.setdefault(cmd.group, []).append(f"`{cmd.usage}`\n    {cmd.summary}")
    titles = {"read": "Reads (run at once, answer only you see)",
              "pattern": "Access patterns", "write": "Writes (need a second person's approval)",
              "admin": "Requests, audit and digest"}
    sections = [(titles.get(g, g), "\n".join(lines)) for g, lines in groups.items()]
    sections.append(("", "Add `--share` to a read to post it in the channel (PII masked). "
                         f"Stage `{ctx.stage}`, region `{ctx.region}`."))
    note = access.open_access_note(ctx.user_id) if access is not None else None
    if note:  # admins hear that the whole workspace is let in (DDB_BOT_OPEN_ACCESS)
        sections.append(("Open access", note))
    return TextResult(title="ddb-bot commands", sections=sections)


_DECIDERS = "DDB_BOT_APPROVERS, or an approver list of the approval policy (DDB_BOT_POLICY_FILE)"


def _not_yours(name: str, group: str, ctx: Context) -> str | None:
    """Why ``/ddb help`` does not list command ``name`` to this caller, naming the setting
    that grants it; None when they may run it (the list and this agree: ``shown``)."""
    access = ctx.access
    if access is None or access.shown(name, group, ctx.user_id, ctx.channel_id):
        return None
    denial = access.denial(group, ctx.user_id, ctx.channel_id)
    if denial:  # it names its setting, e.g. "you are not in DDB_BOT_REQUESTERS, ..."
        return denial
    if name == "reject":
        return (f"only approvers reject requests ({_DECIDERS}); requesters "
                "(DDB_BOT_REQUESTERS) withdraw their own")
    return f"only approvers may ({_DECIDERS})"


# -- tables / describe / schema / patterns ---------------------------------------------
@command("tables", "/ddb tables")
def tables_cmd(args: list[str], ctx: Context) -> Result:
    """Every mfh-{stage}- table: status, items, size, GSIs."""
    if args:
        raise CommandError(f"`tables` takes no arguments, got `{' '.join(args)}`", "/ddb tables")
    prefix = f"mfh-{ctx.stage}-"
    existing = set(ctx.store.list_tables(prefix))
    rows = []
    for t in TABLES:
        name = t.full_name(ctx.stage)
        if name not in existing:
            rows.append([t.short, "MISSING", "-", "-", "-"])
            continue
        d = ctx.store.describe_table(name)["Table"]
        gsis = d.get("GlobalSecondaryIndexes", [])
        gsi_text = ", ".join(f"{g['IndexName']}" + ("" if g.get("IndexStatus") in (None, "ACTIVE")
                                                    else f" ({g['IndexStatus']})") for g in gsis)
        rows.append([t.short, d.get("TableStatus", "?"), str(d.get("ItemCount", 0)),
                     _size(d.get("TableSizeBytes", 0)), gsi_text or "-"])
    extra = sorted(n for n in existing if n.removeprefix(prefix) not in {t.short for t in TABLES})
    notes = ["Item counts are DynamoDB's approximate figures (refreshed about every 6 hours)."]
    if extra:
        notes.append("Other tables with the prefix: " + ", ".join(extra))
    return TableResult(title=f"Tables of stage `{ctx.stage}`",
                       columns=["table", "status", "items", "size", "GSIs"], rows=rows, notes=notes)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _keys_text(key_schema: list[dict[str, str]]) -> str:
    return " + ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in key_schema)


def drift(table: Table, desc: dict[str, Any]) -> list[str]:
    """Differences between the declared schema and the live table description."""
    t, out = desc["Table"], []
    live_keys = {k["KeyType"]: k["AttributeName"] for k in t.get("KeySchema", [])}
    if live_keys.get("HASH") != table.keys.hash_key or live_keys.get("RANGE") != table.keys.range_key:
        out.append(f"key schema is {_keys_text(t.get('KeySchema', []))}, declared "
                   f"{' + '.join(table.keys.names)}")
    live = {g["IndexName"]: g for g in t.get("GlobalSecondaryIndexes", [])}
    for idx in table.indexes:
        g = live.get(idx.name)
        if g is None:
            out.append(f"GSI `{idx.name}` is declared but missing")
            continue
        if g.get("IndexStatus") == "DELETING":  # DynamoDB keeps it listed for a while
            out.append(f"GSI `{idx.name}` is declared but missing (DELETING)")
            continue
        keys = {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}
        if keys.get("HASH") != idx.keys.hash_key or keys.get("RANGE") != idx.keys.range_key:
            out.append(f"GSI `{idx.name}` keys are {_keys_text(g['KeySchema'])}")
        if g.get("Projection", {}).get("ProjectionType") != idx.projection:
            out.append(f"GSI `{idx.name}` projects {g.get('Projection', {}).get('ProjectionType')}, "
                       f"declared {idx.projection}")
    for name in sorted(set(live) - {i.name for i in table.indexes}):
        out.append(f"GSI `{name}` exists but is not declared")
    ttl = desc.get("TimeToLive", {})
    ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if table.ttl_attribute and (not ttl_on or ttl.get("AttributeName") != table.ttl_attribute):
        live_ttl = ttl.get("TimeToLiveStatus", "DISABLED")
        on = f" on `{ttl['AttributeName']}`" if ttl_on and ttl.get("AttributeName") else ""
        out.append(f"TTL should be on `{table.ttl_attribute}`; it is {live_ttl}{on}")
    if not table.ttl_attribute and ttl_on:
        out.append(f"TTL is on `{ttl.get('AttributeName')}` but not declared")
    stream = t.get("StreamSpecification", {})
    live_stream = stream.get("StreamViewType") if stream.get("StreamEnabled") else None
    if live_stream != table.stream_view:
        out.append(f"stream is {live_stream or 'off'}, declared {table.stream_view or 'off'}")
    pitr = desc.get("ContinuousBackups", {}).get("PointInTimeRecoveryDescription", {})
    pitr_on = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    # unknown (DynamoDB Local has no DescribeContinuousBackups; or access denied): no claim
    if "PointInTimeRecoveryStatus" in pitr and pitr_on != table.pitr:
        out.append(f"PITR is {'on' if pitr_on else 'off'}, declared {'on' if table.pitr else 'off'}")
    dp = bool(t.get("DeletionProtectionEnabled", False))
    if dp != table.deletion_protection:
        out.append(f"deletion protection is {'on' if dp else 'off'}, declared "
                   f"{'on' if table.deletion_protection else 'off'}")
    return out


def _declared(ctx: Context, table: Table) -> tuple[Table, str, str | None]:
    """What ``describe`` holds the live table against, what to call it, and the billing
    mode it sets: the team's file merged with the bot's schema when DDB_BOT_SCHEMA_FILE
    names one and defines the table, else the bot's declared schema."""
    path = ctx.settings.ddb_bot_schema_file if ctx.settings is not None else None
    if path is None:
        return table, "declared schema", None
    from dynamo.schema_file import cached_schema_file, merge  # YAML only when a file is set

    defined = cached_schema_file(path, ctx.stage).table(table.short)
    if defined is None:
        return table, f"declared schema (not in {path})", None
    return merge(table, defined), path.rsplit("/", 1)[-1], defined.billing_mode


@command("describe", "/ddb describe <table>", examples=("/ddb describe users",))
def describe_cmd(args: list[str], ctx: Context) -> Result:
    """Keys, GSIs and status, TTL, streams, PITR, deletion protection, counts, drift."""
    table, full = ctx.store.table(_one_table(args, "/ddb describe <table>"))
    desc = ctx.store.describe(full)
    t = desc["Table"]
    gsis = t.get("GlobalSecondaryIndexes", [])
    ttl = desc.get("TimeToLive", {})
    stream = t.get("StreamSpecification", {})
    pitr = desc.get("ContinuousBackups", {}).get("PointInTimeRecoveryDescription", {})
    lines = [
        f"*Status*: {t.get('TableStatus')}   *Billing*: "
        f"{t.get('BillingModeSummary', {}).get('BillingMode', 'PROVISIONED')}",
        f"*Key*: {_keys_text(t.get('KeySchema', []))}",
        f"*Items*: {t.get('ItemCount', 0)} (approximate)   *Size*: {_size(t.get('TableSizeBytes', 0))}",
        f"*TTL*: {ttl.get('TimeToLiveStatus', 'DISABLED')}"
        + (f" on `{ttl['AttributeName']}`" if ttl.get("AttributeName") else ""),
        f"*Stream*: {stream.get('StreamViewType', 'off') if stream.get('StreamEnabled') else 'off'}",
        f"*PITR*: {pitr.get('PointInTimeRecoveryStatus', 'unknown')}",
        f"*Deletion protection*: {'on' if t.get('DeletionProtectionEnabled') else 'off'}",
    ]
    gsi_lines = [
        f"• `{g['IndexName']}`: {_keys_text(g['KeySchema'])}, "
        f"{g.get('Projection', {}).get('ProjectionType')}, {g.get('IndexStatus', 'ACTIVE')}, "
        f"{g.get('ItemCount', 0)} items"
        for g in gsis
    ] or ["none"]
    declared, against, billing = _declared(ctx, table)
    issues = drift(declared, desc)
    live_billing = t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing is not None and live_billing != billing:
        issues.append(f"billing is {live_billing}, declared {billing}")
    drift_text = "\n".join(f"• {d}" for d in issues) if issues else (
        "none: matches the declared schema" if billing is None else f"none: matches {against}")
    return TextResult(
        title=f"{full}",
        sections=[("Table", "\n".join(lines)), ("Global secondary indexes", "\n".join(gsi_lines)),
                  (f"Drift vs {against}", drift_text)],
    )


@command("schema", "/ddb schema <table> | /ddb schema patterns", examples=("/ddb schema helpers",))
def schema_cmd(args: list[str], ctx: Context) -> Result:
    """The declared schema of a table (keys, GSIs, types, secrets, PII), or the patterns."""
    name = _one_table(args, "/ddb schema <table> | patterns")
    if name == "patterns":
        return patterns_cmd([], ctx)
    table, full = ctx.store.table(name)
    keys = " + ".join(f"`{k}`" for k in table.keys.names)
    idx = "\n".join(f"• `{i.name}`: {' + '.join(i.keys.names)} ({i.projection})"
                    for i in table.indexes) or "none"
    attrs = ", ".join(f"`{a}` {t.value}" for a, t in table.attributes.items())
    props = [
        f"*TTL*: {table.ttl_attribute or 'none'}   *Stream*: {table.stream_view or 'off'}",
        f"*PITR*: {'on' if table.pitr else 'off'}   *Deletion protection*: "
        f"{'on' if table.deletion_protection else 'off'}",
        f"*Secret (never shown)*: {', '.join(sorted(table.secret)) or 'none'}   "
        f"*PII (masked when shared)*: {', '.join(sorted(table.pii)) or 'none'}",
    ]
    return TextResult(title=f"{full} (declared)", sections=[
        ("", table.description), ("Key", keys), ("GSIs", idx), ("Attributes", attrs),
        ("Properties", "\n".join(props))])


@command("patterns", "/ddb patterns")
def patterns_cmd(args: list[str], ctx: Context) -> Result:
    """The platform's access patterns and the command for each."""
    rows = [[p, t, i or "(table)", k, c] for p, t, i, k, c in ACCESS_PATTERNS]
    return TableResult(title="Access patterns",
                       columns=["pattern", "table", "index", "key condition", "command"], rows=rows)


# -- count ----------------------------------------------------------------------------
COUNT_USAGE = "/ddb count <table> [--exact] [--filter EXPR]"


@command("count", COUNT_USAGE, examples=("/ddb count users", "/ddb count executions --exact"))
def count_cmd(args: list[str], ctx: Context) -> Result:
    """Approximate ItemCount (refreshed ~6h), or a capped exact COUNT scan."""
    opts = parse_options(args, {"--exact": None, "--filter": str}, COUNT_USAGE)
    table, full = ctx.store.table(_one_table(opts.positional, COUNT_USAGE))
    flt = _filter(opts.get("--filter"), table)
    if not opts.get("--exact") and flt is None:
        n = ctx.store.describe_table(full)["Table"].get("ItemCount", 0)
        return TextResult(title=f"{full}: about {n} items", sections=[
            ("", f"*{n}* items (DynamoDB's approximate count, refreshed about every 6 hours). "
                 "Use `--exact` for a counted scan.")])
    cap = ctx.settings.ddb_bot_count_cap if ctx.settings else 100_000
    n, capped, page = ctx.store.count(full, cap, flt)
    text = f"*{n}{'+' if capped else ''}* items" + (" matching the filter" if flt is not None else "")
    note = f"Stopped after reading {page.scanned} items (cap {cap})." if capped else \
        f"Read {page.scanned} items, {page.consumed:g} RCU."
    return TextResult(title=f"{full}: {n}{'+' if capped else ''} items (counted)",
                      sections=[("", text)], notes=[note])


# -- get / query / scan ----------------------------------------------------------------
GET_USAGE = "/ddb get <table> <key>   key: <pk> | <pk> <sk> | attr=value ... | JSON"


@command("get", GET_USAGE, examples=("/ddb get users user:<sub>",
                                     "/ddb get user-accounts user:<sub> acct-0001"))
def get_cmd(args: list[str], ctx: Context) -> Result:
    """One item by its full primary key."""
    opts = parse_options(args, {"--consistent": None}, GET_USAGE)
    if not opts.positional:
        raise CommandError("missing table name", GET_USAGE)
    table, full = ctx.store.table(opts.positional[0])
    key = parse_key(table, opts.positional[1:], GET_USAGE)
    page = ctx.store.get(full, key, consistent=bool(opts.get("--consistent")))
    if not page.items:
        shown = ", ".join(f"{k}={v}" for k, v in key.items())
        raise CommandError(f"no item with {shown} in `{full}`", GET_USAGE)
    return ItemsResult(title=f"{table.short} {' '.join(str(v) for v in key.values())}",
                       table=table.short, items=page.items, single=True,
                       consumed=page.consumed, scanned=page.scanned)


QUERY_USAGE = ("/ddb query <table> [--index NAME] <attr>=<value> [<sk> <op> <value>] "
               "[--desc] [--limit N] [--filter EXPR]   op: = < <= > >= between..and begins_with")


def _pick_index(table: Table, attr: str, index: str | None) -> str | None:
    """The index whose hash key is ``attr`` (the table's own key first)."""
    if index:
        idx = table.index(index)
        if idx.keys.hash_key != attr:
            raise CommandError(f"`{idx.name}`'s partition key is `{idx.keys.hash_key}`, not `{attr}`",
                               QUERY_USAGE)
        return idx.name
    if table.keys.hash_key == attr:
        return None
    for idx in table.indexes:
        if idx.keys.hash_key == attr:
            return idx.name
    keys = [table.keys.hash_key, *(i.keys.hash_key for i in table.indexes)]
    raise CommandError(f"`{attr}` is not a partition key of `{table.short}` or its indexes "
                       f"(query one of: {', '.join(dict.fromkeys(keys))}; or use scan --filter)",
                       QUERY_USAGE)


@command("query", QUERY_USAGE, examples=(
    "/ddb query users email=ada@example.com",
    "/ddb query executions --index AccountIdCreatedAtIndex account_id=acct-0001 "
    "created_at >= 2025-01-01 --desc --limit 5",
    '/ddb query executions account_id=acct-0001 --filter "status = failed"'))
def query_cmd(args: list[str], ctx: Context) -> Result:
    """Items by partition key (table or GSI), optionally a sort-key condition and a filter."""
    opts = parse_options(args, {"--index": str, "--desc": None, "--limit": int, "--filter": str},
                         QUERY_USAGE)
    pos = opts.positional
    if not pos:
        raise CommandError("missing table name", QUERY_USAGE)
    table, full = ctx.store.table(pos[0])
    if len(pos) < 2 or "=" not in pos[1]:
        raise CommandError("missing the partition key condition `<attr>=<value>`", QUERY_USAGE)
    attr, _, raw = pos[1].partition("=")
    attr = table.canonical(attr.strip())
    if not raw:
        raise CommandError(f"`{attr}=` needs a value", QUERY_USAGE)
    secret_guard.check_key_attribute(table, attr, "query")
    index = _pick_index(table, attr, opts.get("--index"))
    secret_guard.check_index(table, index, "query", "query")
    keys = table.index(index).keys if index else table.keys
    cond: ConditionBase = Key(attr).eq(raw)
    if len(pos) > 2:
        sk_text = " ".join(_quote(p) for p in pos[2:])
        try:
            node = expr.BoolOp("and", expr.Cmp(attr, "eq", (raw,)), expr.parse(sk_text, table))
            secret_guard.check_expression(node, table, "sort-key condition", key_index=index,
                                          key_condition=True)
            _, rng, _ = expr.key_condition(node, attr, keys.range_key)
        except expr.ExpressionError as exc:
            raise CommandError(f"bad sort-key condition `{sk_text}`: {exc}", QUERY_USAGE) from None
        if rng is not None:
            cond = cond & rng
    limit = check_limit(opts.get("--limit"), QUERY_DEFAULT, PAGE_MAX, QUERY_USAGE)
    page = ctx.store.query(full, cond, index=index, filter=_filter(opts.get("--filter"), table),
                           desc=bool(opts.get("--desc")), max_items=limit, start_key=ctx.start_key,
                           key_names=table.key_names_for(index))
    return _items(table, page, f"{table.short}{' / ' + index if index else ''}: {attr} = {raw}",
                  index)


def _quote(token: str) -> str:
    """Re-quote a shell token for the expression parser when it holds spaces."""
    if any(c.isspace() for c in token) or token == "":
        return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return token


SCAN_USAGE = "/ddb scan <table> [--limit N] [--filter EXPR]   (default 10, max 100 a page)"


@command("scan", SCAN_USAGE, examples=("/ddb scan users --limit 5",
                                       '/ddb scan helpers --filter "enabled = false"'))
def scan_cmd(args: list[str], ctx: Context) -> Result:
    """A capped scan, one page at a time."""
    opts = parse_options(args, {"--limit": int, "--filter": str}, SCAN_USAGE)
    table, full = ctx.store.table(_one_table(opts.positional, SCAN_USAGE))
    limit = check_limit(opts.get("--limit"), SCAN_DEFAULT, PAGE_MAX, SCAN_USAGE)
    page = ctx.store.scan(full, filter=_filter(opts.get("--filter"), table), max_items=limit,
                          start_key=ctx.start_key, key_names=table.key_names_for(None))
    return _items(table, page, f"scan {table.short}", None)


def _items(table: Table, page: Any, title: str, index: str | None) -> ItemsResult:
    notes = []
    if page.capped:
        notes.append(f"Stopped after reading {page.scanned} items (the read cap); "
                     "Next page reads on.")
    return ItemsResult(title=title, table=table.short, index=index, items=page.items,
                       next_key=page.last_key, scanned=page.scanned, consumed=page.consumed,
                       notes=notes)
