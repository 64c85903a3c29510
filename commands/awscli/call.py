"""The parsed call: a pasted command with every flag checked, before any DynamoDB call.

The table resolves through the declared schema (only ``mfh-{stage}-`` tables), keys and
values are checked against it, expressions become boto3 conditions. Paging flags keep
the aws CLI's meaning: ``--limit`` and ``--exclusive-start-key`` turn automatic
pagination off (as in awscli/customizations/paginate.py), ``--max-items``,
``--page-size`` and ``--starting-token`` go to botocore's paginator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import ConditionBase
from botocore.model import Shape

from commands import expr, secret_guard
from commands.awscli.expressions import (
    Path,
    expression,
    key_condition,
    parse_projection,
    refuse_key_filter,
)
from commands.awscli.flags import OUTPUTS, PAGED_OPS, file_ref, read_flags, split_op
from commands.awscli.jmespath_query import check_query
from commands.awscli.values import attribute_map
from commands.parse import check_value_text, load_json, parse_key
from commands.registry import CommandError, Context
from dynamo.schema import Table, UnknownTableError
from dynamo.values import check_type

SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
CAPACITY = ("INDEXES", "TOTAL", "NONE")
# DynamoDB's bound on TotalSegments of a parallel scan
MAX_SEGMENTS = 1_000_000
_NO_TABLE = ("list-tables", "batch-get-item")
# a NextToken encodes a LastEvaluatedKey: key attributes of at most 2 KB (hash) and 1 KB
# (range), of the table and of an index; base64 of its JSON stays well below this
MAX_TOKEN_LENGTH = 32 * 1024
_OP_NAMES = {"get-item": "GetItem", "put-item": "PutItem", "update-item": "UpdateItem",
             "delete-item": "DeleteItem", "query": "Query", "scan": "Scan"}


@dataclass
class AwsCall:
    """One parsed ``aws dynamodb`` command: every flag checked, expressions as conditions.

    ``used`` holds the placeholders consumed so far; a write op with an update
    expression parses it, adds its placeholders, then calls ``require_all_used``.
    """

    op: str
    table: Table | None
    full_name: str
    key: dict[str, Any] | None = None
    item: dict[str, Any] | None = None
    index: str | None = None
    key_condition: ConditionBase | None = None
    filter: ConditionBase | None = None
    condition: ConditionBase | None = None
    update_expression: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    projection: tuple[Path, ...] = ()
    forward: bool = True
    consistent: bool = False
    select: str | None = None
    # a parallel scan: this segment of total_segments (both or neither)
    segment: int | None = None
    total_segments: int | None = None
    # paging, with the CLI's meaning
    paginate: bool = True
    limit: int | None = None
    max_items: int | None = None
    page_size: int | None = None
    starting_token: str | None = None
    start_key: dict[str, Any] | None = None
    jmespath: str | None = None
    output: str | None = None
    capacity: str | None = None
    # every flag as given (after type conversion), e.g. --return-values for the write side
    flags: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def input_shape(ctx: Context, op: str, member: str) -> Shape:
    """botocore's model of one input member (the shorthand parser types values from it)."""
    model = ctx.store.client.meta.service_model.operation_model(_OP_NAMES.get(op, "Query"))
    return model.input_shape.members[member]  # type: ignore[no-any-return]


def parse_call(args: Sequence[str], ctx: Context) -> AwsCall:
    """Parse and validate a whole command; no DynamoDB call is made here."""
    op, rest = split_op(args)
    flags = read_flags(op, rest)
    region = flags.get("--region")
    if region is not None and region != ctx.region:
        raise CommandError(
            f"--region `{region}` is not this bot's region `{ctx.region}`; "
            f"drop --region or use {ctx.region}"
        )
    if op in _NO_TABLE:
        call = AwsCall(op=op, table=None, full_name="", flags=flags)
    else:
        if not flags.get("--table-name"):
            raise CommandError(f"`{op}` needs --table-name")
        table, full = _table(ctx, flags["--table-name"])
        call = AwsCall(op=op, table=table, full_name=full, flags=flags)
    call.jmespath = _jmespath(flags.get("--query"))
    call.output = _choice(flags.get("--output"), "--output", OUTPUTS, lower=True)
    call.capacity = _choice(flags.get("--return-consumed-capacity"), "--return-consumed-capacity",
                            CAPACITY)
    if op in PAGED_OPS:
        _paging(call, flags, ctx)
    if call.table is None:
        return call
    call.names = _names(file_ref("--expression-attribute-names",
                                 flags.get("--expression-attribute-names")))
    text = flags.get("--expression-attribute-values")
    if text is not None:
        call.values = _values(ctx, op, text)
    _parse_target(call, flags, ctx)
    if op in ("query", "scan"):
        _parse_read(call, flags)
        secret_guard.check_index(call.table, call.index, call.op, "--index-name")
        if ctx.start_key is None and call.start_key is not None:
            # a user-given --exclusive-start-key ("Next page" keys are the bot's own)
            call.start_key = secret_guard.check_start_key(call.table, call.index, call.start_key)
    elif op == "get-item":
        call.consistent = bool(flags.get("--consistent-read"))
        call.projection = _projection_flag(call, flags)
    if "--condition-expression" in flags:
        call.condition = expr.to_condition(
            expression(call, flags["--condition-expression"], "--condition-expression")
        )
    call.update_expression = flags.get("--update-expression")
    if op == "update-item" and not call.update_expression:
        raise CommandError("`update-item` needs --update-expression")
    if call.update_expression is None:
        require_all_used(call)
    return call


def _table(ctx: Context, name: str) -> tuple[Table, str]:
    """The declared table; a name of this stage that no table has answers as DynamoDB does.

    ``mfh-dev-nope`` is inside the bot's ``mfh-{stage}-`` tables: DynamoDB (and the CLI)
    say the table is not found, and so does the bot. A table that exists under the
    prefix but is not declared (the bot's own state table) stays refused: DescribeTable
    is asked only whether the name exists, and nothing of it is shown.
    """
    from botocore.exceptions import ClientError

    try:
        return ctx.store.table(name)
    except UnknownTableError as refused:
        raw = name.strip()
        if not raw.startswith(f"mfh-{ctx.stage}-"):
            raise
        try:
            ctx.store.client.describe_table(TableName=raw)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise CommandError(
                    "DynamoDB refused it: ResourceNotFoundException: Requested resource not "
                    f"found: Table: {raw} not found") from None
        raise refused from None


def _paging(call: AwsCall, flags: Mapping[str, Any], ctx: Context) -> None:
    """The CLI's rules: --limit / --exclusive-start-key mean one page (no paginator)."""
    for name in ("--limit", "--max-items", "--page-size"):
        value = flags.get(name)
        if value is not None and value < 1:
            raise CommandError(f"`{name}` must be at least 1, not {value}")
    call.limit = flags.get("--limit")
    call.max_items = flags.get("--max-items")
    call.page_size = flags.get("--page-size")
    call.starting_token = flags.get("--starting-token")
    manual = [f for f in ("--limit", "--exclusive-start-key", "--exclusive-start-table-name")
              if flags.get(f) is not None]
    call.paginate = flags.get("--paginate", True) and not manual
    if not call.paginate:
        paging = [f for f in ("--starting-token", "--page-size", "--max-items")
                  if flags.get(f) is not None]
        if paging:
            why = f"{manual[0]} reads one page" if manual else "--no-paginate"
            raise CommandError(f"{why}; it cannot be combined with {', '.join(paging)} "
                               "(the aws CLI refuses this too)")
    if call.starting_token is not None:
        _check_token(call.op, call.starting_token)
    if ctx.start_key is not None:
        # "Next page" of an earlier answer: its CLI token, or the key it stopped at
        if "NextToken" in ctx.start_key and call.paginate:
            call.starting_token = str(ctx.start_key["NextToken"])
        else:
            call.start_key = dict(ctx.start_key)
    elif call.op != "list-tables" and flags.get("--exclusive-start-key"):
        text = flags["--exclusive-start-key"]
        call.start_key = attribute_map(text, "--exclusive-start-key",
                                       input_shape(ctx, "query", "ExclusiveStartKey"))


def _check_token(op: str, token: str) -> None:
    """A token as botocore's paginator writes it (the CLI's and the bot's own)."""
    from botocore.paginate import TokenDecoder

    want = "ExclusiveStartTableName" if op == "list-tables" else "ExclusiveStartKey"
    shape = str if op == "list-tables" else dict
    if len(token) > MAX_TOKEN_LENGTH:  # a key is at most a few KB, and so is its token
        raise CommandError(f"--starting-token is longer than {MAX_TOKEN_LENGTH:,} characters; "
                           "it is not a NextToken")
    try:
        decoded = TokenDecoder().decode(token)
    except (ValueError, TypeError, KeyError, RecursionError):
        decoded = None
    # a cut inside the first page has no key yet: ``{"ExclusiveStartKey": null,
    # "boto_truncate_amount": n}`` (the first page again, its first n items skipped)
    first_page = isinstance(decoded, dict) and decoded.get(want, ...) is None \
        and isinstance(decoded.get("boto_truncate_amount"), int)
    if not isinstance(decoded, dict) or not (isinstance(decoded.get(want), shape) or first_page):
        raise CommandError(f"--starting-token `{token[:40]}` is not a NextToken of "
                           f"`aws dynamodb {op}` (from the aws CLI or this bot)")


def require_all_used(call: AwsCall) -> None:
    """DynamoDB refuses unused placeholders, and so do we (they hint at a typo)."""
    unused = sorted(p for p in (*call.names, *call.values) if p not in call.used)
    if unused:
        shown = ", ".join(f"`{p}`" for p in unused[:10])
        more = f" and {len(unused) - 10:,} more" if len(unused) > 10 else ""
        raise CommandError(
            f"placeholder(s) {shown}{more} given in "
            "--expression-attribute-names/-values but not used in any expression"
        )


def _choice(value: str | None, flag: str, allowed: tuple[str, ...], lower: bool = False) \
        -> str | None:
    if value is None:
        return None
    norm = value.lower() if lower else value.upper()
    if norm not in allowed:
        raise CommandError(f"{flag} `{value}`: use {', '.join(allowed)}")
    return norm


def _names(text: str | None) -> dict[str, str]:
    if text is None:
        return {}
    obj = load_json(text, "--expression-attribute-names") if text.lstrip().startswith("{") \
        else _shorthand_names(text)
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and k.startswith("#") and len(k) > 1 and isinstance(v, str) and v
        for k, v in obj.items()
    ):
        raise CommandError(
            '--expression-attribute-names must be a JSON object like {"#s":"status"} '
            "or shorthand #s=status"
        )
    return obj


def _shorthand_names(text: str) -> Any:
    from commands.awscli.shorthand import ShorthandError, ShorthandParser

    check_value_text(text, "--expression-attribute-names")
    try:
        return ShorthandParser().parse(text)
    except ShorthandError as exc:
        raise CommandError(f"--expression-attribute-names: {exc}") from None


def _values(ctx: Context, op: str, text: str) -> dict[str, Any]:
    shape = input_shape(ctx, op, "ExpressionAttributeValues")
    values = attribute_map(text, "--expression-attribute-values", shape, plain_ok=False)
    if not all(k.startswith(":") and len(k) > 1 for k in values):
        raise CommandError(
            '--expression-attribute-values must be a JSON object like {":s":{"S":"active"}} '
            "or shorthand :s={S=active}"
        )
    return values


def _jmespath(text: str | None) -> str | None:
    if text is None:
        return None
    check_query(text)
    return text


def _parse_target(call: AwsCall, flags: Mapping[str, Any], ctx: Context) -> None:
    """The item key (get/update/delete) or the whole item (put)."""
    assert call.table is not None
    if call.op in ("get-item", "update-item", "delete-item"):
        text = flags.get("--key")
        if not text:
            raise CommandError(f"`{call.op}` needs --key")
        key = attribute_map(text, "--key", input_shape(ctx, call.op, "Key"))
        try:
            call.key = parse_key(call.table, [_as_json(key)])
        except CommandError as exc:
            raise CommandError(f"--key: {exc}") from None
    if call.op == "put-item":
        text = flags.get("--item")
        if not text:
            raise CommandError("`put-item` needs --item")
        call.item = attribute_map(text, "--item", input_shape(ctx, "put-item", "Item"))
        missing = [k for k in call.table.keys.names if k not in call.item]
        if missing:
            raise CommandError(f"--item lacks the key attribute(s) {', '.join(missing)}")
        for k in call.table.keys.names:
            check_type(call.table, k, call.item[k])


def _as_json(key: dict[str, Any]) -> str:
    """The decoded key as typed JSON again, for ``parse_key``'s one set of key checks."""
    import json

    from dynamo.store import serialize_item

    def enc(v: Any) -> Any:
        if isinstance(v, bytes | bytearray):
            return v.decode("latin-1")
        return str(v)

    return json.dumps(serialize_item(key), default=enc)


def _parse_read(call: AwsCall, flags: Mapping[str, Any]) -> None:
    """Index, key condition, filter, projection and select of a query or scan."""
    assert call.table is not None
    if flags.get("--index-name"):
        call.index = call.table.index(flags["--index-name"]).name
    call.consistent = bool(flags.get("--consistent-read"))
    if call.consistent and call.index:
        raise CommandError("--consistent-read is not supported on a global secondary index")
    call.forward = flags.get("--scan-index-forward", True)
    if call.op == "query":
        call.key_condition = key_condition(call, flags.get("--key-condition-expression"))
    if "--filter-expression" in flags:
        node = expression(call, flags["--filter-expression"], "--filter-expression")
        refuse_key_filter(call, node)
        call.filter = expr.to_condition(node)
    call.projection = _projection_flag(call, flags)
    _select(call, flags.get("--select"))
    _segments(call, flags)


def _segments(call: AwsCall, flags: Mapping[str, Any]) -> None:
    """``--segment`` / ``--total-segments``: DynamoDB's rules, said before any call."""
    segment, total = flags.get("--segment"), flags.get("--total-segments")
    if segment is None and total is None:
        return
    if segment is None or total is None:
        given, missing = ("--segment", "--total-segments") if total is None \
            else ("--total-segments", "--segment")
        raise CommandError(f"{given} needs {missing} too (a parallel scan gives both)")
    if not 1 <= total <= MAX_SEGMENTS:
        raise CommandError(f"--total-segments must be from 1 to {MAX_SEGMENTS:,}, not {total}")
    if not 0 <= segment < total:
        raise CommandError(f"--segment must be from 0 to --total-segments - 1 ({total - 1}), "
                           f"not {segment}")
    call.segment, call.total_segments = segment, total


def _projection_flag(call: AwsCall, flags: Mapping[str, Any]) -> tuple[Path, ...]:
    text = flags.get("--projection-expression")
    paths = () if text is None else parse_projection(call, text)
    secret_guard.check_paths(paths, call.table, "--projection-expression")
    return paths


def _select(call: AwsCall, select: str | None) -> None:
    if select is None:
        return
    choice = select.upper()
    if choice not in SELECTS:
        raise CommandError(f"--select `{select}`: use {', '.join(SELECTS)}")
    if choice == "COUNT" and call.projection:
        raise CommandError("--select COUNT cannot be combined with --projection-expression")
    if choice == "SPECIFIC_ATTRIBUTES" and not call.projection:
        raise CommandError("--select SPECIFIC_ATTRIBUTES needs --projection-expression")
    call.select = choice
