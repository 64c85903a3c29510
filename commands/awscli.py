"""``/ddb aws dynamodb ...``: pasted AWS CLI commands, parsed into a typed call and run.

Nothing is passed through: the table resolves through the declared schema (only
``mfh-{stage}-`` tables), keys and values are checked against it, and expressions are
parsed by ``commands.expr`` into boto3 condition objects, so text from Slack never
becomes expression text. Reads run at once; writes will become approval requests and
reuse ``parse_call`` / ``AwsCall``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import jmespath
from boto3.dynamodb.conditions import ConditionBase
from boto3.dynamodb.types import Binary
from jmespath.exceptions import JMESPathError

from bot.data.redact import redact_item
from bot.data.schema import Table
from bot.data.store import build, serialize_item
from bot.data.values import ValueTypeError, check_type
from commands import expr, secret_guard
from commands.input_checks import check_jmespath, check_write_values
from commands.parse import decode_dynamo_json, json_object, load_json, parse_key
from commands.registry import CommandError, Context, command, tokenize
from commands.results import ItemsResult, JsonResult, Result

READ_OPS = ("get-item", "query", "scan", "describe-table")
WRITE_OPS = ("update-item", "delete-item", "put-item")
MAX_PAGE = 100
DEFAULT_PAGE = {"query": 25, "scan": 10}

TEXT, INT, BOOL = "text", "int", "bool"
FLAGS: dict[str, str] = {
    "--table-name": TEXT,
    "--key": TEXT,
    "--item": TEXT,
    "--index-name": TEXT,
    "--key-condition-expression": TEXT,
    "--filter-expression": TEXT,
    "--projection-expression": TEXT,
    "--condition-expression": TEXT,
    "--update-expression": TEXT,
    "--expression-attribute-names": TEXT,
    "--expression-attribute-values": TEXT,
    "--scan-index-forward": BOOL,
    "--consistent-read": BOOL,
    "--limit": INT,
    "--max-items": INT,
    "--select": TEXT,
    "--exclusive-start-key": TEXT,
    "--return-values": TEXT,
    "--return-item-collection-metrics": TEXT,
    # global CLI flags
    "--region": TEXT,
    "--query": TEXT,
    "--output": TEXT,
    "--no-cli-pager": BOOL,
    "--return-consumed-capacity": TEXT,
}
GLOBAL = ("--table-name", "--region", "--query", "--output", "--no-cli-pager",
          "--return-consumed-capacity")
_EXPR = ("--expression-attribute-names", "--expression-attribute-values")
_READ = ("--index-name", "--filter-expression", "--projection-expression", *_EXPR,
         "--limit", "--max-items", "--select", "--consistent-read", "--exclusive-start-key")
_WRITE = ("--condition-expression", *_EXPR, "--return-values",
          "--return-item-collection-metrics")
OP_FLAGS: dict[str, tuple[str, ...]] = {
    "get-item": ("--key", "--projection-expression", "--expression-attribute-names",
                 "--consistent-read"),
    "query": ("--key-condition-expression", "--scan-index-forward", *_READ),
    "scan": _READ,
    "describe-table": (),
    "update-item": ("--key", "--update-expression", *_WRITE),
    "delete-item": ("--key", *_WRITE),
    "put-item": ("--item", *_WRITE),
}
IGNORED = ("--output", "--no-cli-pager", "--return-consumed-capacity")


def _usage() -> str:
    lines = ["/ddb aws dynamodb <op> --table-name <table> [flags]   (paste an AWS CLI command)"]
    for op, flags in OP_FLAGS.items():
        kind = "write request" if op in WRITE_OPS else "read"
        lines.append(f"  {op} ({kind}): {' '.join(flags) or '(no flags)'}")
    lines.append(f"  every op: {' '.join(GLOBAL)}  (--output, --no-cli-pager and "
                 "--return-consumed-capacity are ignored; --region must be this bot's)")
    lines.append("  --query is JMESPath over the CLI-shaped response; --limit / --max-items give "
                 f"the page size (at most {MAX_PAGE}); `Next page` continues")
    return "\n".join(lines)


USAGE = _usage()
EXAMPLES = (
    "/ddb aws dynamodb get-item --table-name mfh-dev-users "
    "--key '{\"user_id\":{\"S\":\"user:abc-123\"}}' --region us-west-2",
    "/ddb aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex "
    "--key-condition-expression \"email = :e\" "
    "--expression-attribute-values '{\":e\":{\"S\":\"user@example.com\"}}' --region us-west-2",
    "/ddb aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex "
    "--key-condition-expression \"helper_id = :hid\" "
    "--expression-attribute-values '{\":hid\":{\"S\":\"helper-123\"}}' "
    "--scan-index-forward false --limit 10 --region us-west-2",
    "/ddb aws dynamodb scan --table-name mfh-dev-users --max-items 10 --region us-west-2",
    "/ddb aws dynamodb describe-table --table-name mfh-dev-users --region us-west-2 "
    "--query 'Table.ItemCount'",
)

# a projection path: attribute names and list indexes, e.g. ("config", "steps", 0)
Path = tuple[str | int, ...]


@dataclass
class AwsCall:
    """One parsed ``aws dynamodb`` command: every flag checked, expressions as conditions.

    ``used`` holds the placeholders consumed so far; a write op with an update
    expression parses it, adds its placeholders, then calls ``require_all_used``.
    """

    op: str
    table: Table
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
    page_size: int | None = None
    consistent: bool = False
    count: bool = False
    start_key: dict[str, Any] | None = None
    jmespath: str | None = None
    # every flag as given (after type conversion), e.g. --return-values for the write side
    flags: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- flags ---------------------------------------------------------------------------
def split_op(args: Sequence[str]) -> tuple[str, list[str]]:
    """The operation after ``dynamodb`` (an optional leading ``aws`` is tolerated)."""
    # a runbook's multi-line command: shlex leaves each ``\<newline>`` as a newline token
    rest = [a for a in args if a not in ("\n", "\r")]
    if rest and rest[0].lower() == "aws":
        rest = rest[1:]
    if not rest or rest[0].lower() != "dynamodb":
        got = f"`{rest[0]}`" if rest else "nothing"
        raise CommandError(f"only `aws dynamodb ...` commands are supported; got {got}")
    ops = ", ".join(READ_OPS + WRITE_OPS)
    if len(rest) < 2 or rest[1].startswith("-"):
        raise CommandError(f"missing operation after `dynamodb`; operations: {ops}")
    op = rest[1].lower()
    if op not in OP_FLAGS:
        raise CommandError(f"unknown operation `{rest[1]}`; operations: {ops}")
    return op, rest[2:]


def read_flags(op: str, args: Sequence[str]) -> dict[str, Any]:
    """``--flag value`` / ``--flag=value`` / ``--flag [true|false]`` / ``--no-flag``."""
    allowed = set(GLOBAL) | set(OP_FLAGS[op])
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise CommandError(f"unexpected `{arg}`: every argument of `{op}` is a --flag")
        name, eq, inline = arg.partition("=")
        name, negated = _flag_name(name, allowed)
        if name not in allowed:
            raise CommandError(
                f"unknown flag `{name}` for `aws dynamodb {op}`; its flags: "
                + " ".join(sorted(allowed))
            )
        if name in out:
            raise CommandError(f"`{name}` is given twice")
        kind = FLAGS[name]
        if kind == BOOL:
            value, i = _bool_value(name, negated, eq, inline, args, i)
        else:
            if eq:
                raw = inline
            elif i + 1 < len(args):
                i += 1
                raw = args[i]
            else:
                raise CommandError(f"`{name}` needs a value")
            value = _int_value(name, raw) if kind == INT else raw
        out[name] = value
        i += 1
    return out


def _flag_name(name: str, allowed: set[str]) -> tuple[str, bool]:
    if name not in allowed and name.startswith("--no-"):
        positive = "--" + name[5:]
        if positive in allowed and FLAGS[positive] == BOOL:
            return positive, True
    return name, False


def _bool_value(
    name: str, negated: bool, eq: str, inline: str, args: Sequence[str], i: int
) -> tuple[bool, int]:
    """A switch, optionally followed by ``true``/``false`` (the seed writes the value)."""
    raw: str | None = inline if eq else None
    if raw is None and i + 1 < len(args) and args[i + 1].lower() in ("true", "false"):
        i += 1
        raw = args[i]
    if raw is None:
        return not negated, i
    if raw.lower() not in ("true", "false") or negated:
        raise CommandError(f"`{name}` takes true or false, not `{raw}`")
    return raw.lower() == "true", i


def _int_value(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise CommandError(f"`{name}` needs a whole number, not `{raw}`") from None


def _json_text(flags: Mapping[str, Any], name: str) -> str | None:
    text = flags.get(name)
    if text is not None and text.strip().startswith("file://"):
        raise CommandError(f"`{name}`: paste the JSON itself; the bot cannot read files")
    return text


# -- the parsed call --------------------------------------------------------------------
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
    if not flags.get("--table-name"):
        raise CommandError(f"`{op}` needs --table-name")
    table, full = ctx.store.table(flags["--table-name"])
    call = AwsCall(op=op, table=table, full_name=full, flags=flags)
    call.names = _names(_json_text(flags, "--expression-attribute-names"))
    call.values = _values(_json_text(flags, "--expression-attribute-values"))
    call.jmespath = _jmespath(flags.get("--query"))
    _parse_target(call, flags)
    if op in ("query", "scan"):
        _parse_read(call, flags, ctx)
    elif op == "get-item":
        call.consistent = bool(flags.get("--consistent-read"))
        call.projection = _projection_flag(call, flags)
    if "--condition-expression" in flags:
        call.condition = expr.to_condition(
            _expression(call, flags["--condition-expression"], "--condition-expression")
        )
    call.update_expression = flags.get("--update-expression")
    if op == "update-item" and not call.update_expression:
        raise CommandError("`update-item` needs --update-expression")
    if call.update_expression is None:
        require_all_used(call)
    return call


def _parse_target(call: AwsCall, flags: Mapping[str, Any]) -> None:
    """The item key (get/update/delete) or the whole item (put)."""
    if "--key" in OP_FLAGS[call.op]:
        text = _json_text(flags, "--key")
        if not text:
            raise CommandError(f"`{call.op}` needs --key")
        try:
            call.key = parse_key(call.table, [text])
        except CommandError as exc:
            raise CommandError(f"--key: {exc}") from None
    if call.op == "put-item":
        text = _json_text(flags, "--item")
        if not text:
            raise CommandError("`put-item` needs --item")
        call.item = json_object(text, "--item")
        missing = [k for k in call.table.keys.names if k not in call.item]
        if missing:
            raise CommandError(f"--item lacks the key attribute(s) {', '.join(missing)}")
        for k in call.table.keys.names:
            check_type(call.table, k, call.item[k])


def _parse_read(call: AwsCall, flags: Mapping[str, Any], ctx: Context) -> None:
    """Index, key condition, filter, projection, select and paging of a query or scan."""
    if flags.get("--index-name"):
        call.index = call.table.index(flags["--index-name"]).name
    call.consistent = bool(flags.get("--consistent-read"))
    if call.consistent and call.index:
        raise CommandError("--consistent-read is not supported on a global secondary index")
    call.forward = flags.get("--scan-index-forward", True)
    if call.op == "query":
        call.key_condition = _key_condition(call, flags.get("--key-condition-expression"))
    if "--filter-expression" in flags:
        node = _expression(call, flags["--filter-expression"], "--filter-expression")
        _refuse_key_filter(call, node)
        call.filter = expr.to_condition(node)
    call.projection = _projection_flag(call, flags)
    _select(call, flags.get("--select"))
    call.page_size = _page_size(call, flags)
    secret_guard.check_index(call.table, call.index, call.op, "--index-name")
    if ctx.start_key is not None:
        call.start_key = dict(ctx.start_key)
    elif _json_text(flags, "--exclusive-start-key"):
        call.start_key = secret_guard.check_start_key(call.table, call.index, json_object(
            flags["--exclusive-start-key"], "--exclusive-start-key"))


def require_all_used(call: AwsCall) -> None:
    """DynamoDB refuses unused placeholders, and so do we (they hint at a typo)."""
    unused = sorted(p for p in (*call.names, *call.values) if p not in call.used)
    if unused:
        raise CommandError(
            f"placeholder(s) {', '.join(f'`{p}`' for p in unused)} given in "
            "--expression-attribute-names/-values but not used in any expression"
        )


def _names(text: str | None) -> dict[str, str]:
    if text is None:
        return {}
    obj = load_json(text, "--expression-attribute-names")
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and k.startswith("#") and len(k) > 1 and isinstance(v, str) and v
        for k, v in obj.items()
    ):
        raise CommandError(
            '--expression-attribute-names must be a JSON object like {"#s":"status"}'
        )
    return obj


def _values(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    obj = load_json(text, "--expression-attribute-values")
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and k.startswith(":") and len(k) > 1 for k in obj
    ):
        raise CommandError(
            '--expression-attribute-values must be a JSON object like {":s":{"S":"active"}}'
        )
    return decode_dynamo_json(obj, "--expression-attribute-values")


def _jmespath(text: str | None) -> str | None:
    if text is None:
        return None
    check_jmespath(text)
    try:
        jmespath.compile(text)
    except RecursionError:
        raise CommandError("--query nests too deeply; simplify the expression") from None
    except JMESPathError as exc:
        raise CommandError(f"--query `{text}` is not a valid JMESPath expression: {exc}") from None
    return text


class _CliParser(expr.Parser):
    """The expr grammar, but every value must be a :placeholder, as in DynamoDB.

    A bare word is an attribute name to DynamoDB (``a = b`` compares two attributes);
    reading it as a literal would silently change the meaning of a pasted command.
    """

    def value(self, path: str) -> Any:
        tok = self.peek()
        if tok is not None and not (tok.kind == "word" and tok.text.startswith(":")):
            raise expr.ExpressionError(
                f"`{tok.text}`: values in a pasted command are :placeholders defined in "
                "--expression-attribute-values (comparing two attributes is not supported)"
            )
        return super().value(path)


def _expression(call: AwsCall, text: str, flag: str) -> expr.Node:
    """Parse one expression flag, recording the placeholders it uses."""
    try:
        parser = _CliParser(text, call.table, call.names, call.values)
        node = parser.parse()
    except expr.ExpressionError as exc:
        raise CommandError(f"{flag}: {exc}") from None
    call.used.update(parser.used_names, parser.used_values)
    secret_guard.check_expression(node, call.table, flag, key_index=call.index,
                                  key_condition=flag == "--key-condition-expression")
    return node


def _key_condition(call: AwsCall, text: str | None) -> ConditionBase:
    keys = call.table.index(call.index).keys if call.index else call.table.keys
    where = f"{call.table.short}{f' / {call.index}' if call.index else ''}"
    need = f"keys of {where}: {' + '.join(keys.names)}"
    if not text:
        raise CommandError(f"`query` needs --key-condition-expression ({need})")
    node = _expression(call, text, "--key-condition-expression")
    try:
        _, _, cond = expr.key_condition(node, keys.hash_key, keys.range_key)
    except expr.ExpressionError as exc:
        raise CommandError(f"--key-condition-expression: {exc} ({need})") from None
    try:
        for cmp in _comparisons(node):
            for value in cmp.values:
                check_type(call.table, cmp.path, value)
    except ValueTypeError as exc:
        raise CommandError(f"--expression-attribute-values: {exc}") from None
    return cond


def _comparisons(node: expr.Node) -> list[expr.Cmp]:
    if isinstance(node, expr.Cmp):
        return [node]
    if isinstance(node, expr.Not):
        return _comparisons(node.inner)
    return _comparisons(node.left) + _comparisons(node.right)


def _refuse_key_filter(call: AwsCall, node: expr.Node) -> None:
    """DynamoDB refuses a query filter on the queried keys; say so before calling."""
    if call.op != "query":
        return
    keys = call.table.index(call.index).keys if call.index else call.table.keys
    for cmp in _comparisons(node):
        if cmp.path in keys.names:
            raise CommandError(
                f"--filter-expression: `{cmp.path}` is a key here; "
                "put it in --key-condition-expression"
            )


_SEGMENT = re.compile(r"^(#?[A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$")


def _projection_flag(call: AwsCall, flags: Mapping[str, Any]) -> tuple[Path, ...]:
    text = flags.get("--projection-expression")
    paths = () if text is None else parse_projection(call, text)
    secret_guard.check_paths(paths, call.table, "--projection-expression")
    return paths


def parse_projection(call: AwsCall, text: str) -> tuple[Path, ...]:
    """``a, #b, c.d[0]`` to attribute paths, #names resolved; overlaps refused."""
    paths: list[Path] = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            raise CommandError("--projection-expression has an empty entry")
        paths.append(_projection_path(call, raw))
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            n = min(len(a), len(b))
            if a[:n] == b[:n]:
                raise CommandError(f"--projection-expression: `{_show_path(a)}` and "
                                   f"`{_show_path(b)}` overlap")
    return tuple(paths)


def _projection_path(call: AwsCall, raw: str) -> Path:
    segs: list[str | int] = []
    for i, part in enumerate(raw.split(".")):
        m = _SEGMENT.match(part)
        if not m:
            raise CommandError(f"--projection-expression: `{raw}` is not an attribute path")
        name = m.group(1)
        if name.startswith("#"):
            if name not in call.names:
                raise CommandError(
                    f"--projection-expression: `{name}` is not defined in "
                    "--expression-attribute-names"
                )
            call.used.add(name)
            name = call.names[name]
        segs.append(call.table.canonical(name) if i == 0 else name)
        segs.extend(int(x) for x in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(segs)


def _show_path(path: Path) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def _select(call: AwsCall, select: str | None) -> None:
    choice = (select or "ALL_ATTRIBUTES").upper()
    if choice == "COUNT":
        if call.projection:
            raise CommandError("--select COUNT cannot be combined with --projection-expression")
        call.count = True
    elif choice == "SPECIFIC_ATTRIBUTES":
        if not call.projection:
            raise CommandError("--select SPECIFIC_ATTRIBUTES needs --projection-expression")
    elif choice not in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"):
        raise CommandError(
            f"--select `{select}`: use ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES, "
            "SPECIFIC_ATTRIBUTES or COUNT"
        )


def _page_size(call: AwsCall, flags: Mapping[str, Any]) -> int:
    """Items a page: the smaller of --limit / --max-items, at most MAX_PAGE."""
    asked = []
    for name in ("--limit", "--max-items"):
        value = flags.get(name)
        if value is not None:
            if value < 1:
                raise CommandError(f"`{name}` must be at least 1, not {value}")
            asked.append(value)
    size = min(asked) if asked else DEFAULT_PAGE[call.op]
    if size > MAX_PAGE:
        call.notes.append(f"showing {MAX_PAGE} items a page; `Next page` continues")
        size = MAX_PAGE
    return size


# -- running ----------------------------------------------------------------------------
@command("aws", usage=USAGE, examples=EXAMPLES)
def aws(args: list[str], ctx: Context) -> Result:
    """Run a pasted `aws dynamodb` command (get-item, query, scan, describe-table).

    Flags are parsed, never passed through: tables must be this stage's, expressions
    use #name/:value placeholders, and writes (update-item, delete-item, put-item)
    become approval requests.
    """
    call = parse_call(args, ctx)
    if call.op in WRITE_OPS:
        return _write(call, ctx)
    if call.op == "describe-table":
        return _describe(call, ctx)
    if call.op == "get-item":
        return _get_item(call, ctx)
    return _count(call, ctx) if call.count else _items(call, ctx)


def _title(call: AwsCall) -> str:
    return f"aws dynamodb {call.op} {call.full_name}" + (f" ({call.index})" if call.index else "")


def _describe(call: AwsCall, ctx: Context) -> Result:
    resp = ctx.store.describe_table(call.full_name)
    data = {"Table": plain(resp["Table"])}
    return _json_result(call, data)


def _get_item(call: AwsCall, ctx: Context) -> Result:
    assert call.key is not None
    page = ctx.store.get(call.full_name, call.key, consistent=call.consistent)
    if not page.items:
        shown = json.dumps(plain(call.key))
        raise CommandError(f"no item with key {shown} in {call.full_name}")
    items = [project(i, call.projection) for i in page.items]
    if call.jmespath:
        return _json_result(call, {"Item": _plain_items(call, items, ctx)[0]})
    return ItemsResult(
        title=_title(call), table=call.table.short, items=items, single=True,
        scanned=page.scanned, consumed=page.consumed, notes=list(call.notes),
    )


def _items(call: AwsCall, ctx: Context) -> Result:
    """One page of a query or scan, through the store's paginator."""
    key_names = call.table.key_names_for(call.index)
    # keys are always fetched so the store can rebuild a start key mid-page
    top = dict.fromkeys([*(str(p[0]) for p in call.projection), *key_names]) \
        if call.projection else None
    params = build(key=call.key_condition, filter=call.filter, projection=top)
    params["TableName"] = call.full_name
    if call.index:
        params["IndexName"] = call.index
    if not call.forward:
        params["ScanIndexForward"] = False
    if call.consistent:
        params["ConsistentRead"] = True
    if call.start_key:
        params["ExclusiveStartKey"] = serialize_item(call.start_key)
    page = ctx.store.raw(call.op, params, call.page_size, key_names)
    items = [project(i, call.projection) for i in page.items]
    notes = list(call.notes)
    if page.capped:
        notes.append(f"stopped after reading {page.scanned} items; `Next page` continues")
    if call.jmespath:
        data: dict[str, Any] = {
            "Items": _plain_items(call, items, ctx), "Count": len(items),
            "ScannedCount": page.scanned,
        }
        if page.last_key:
            data["LastEvaluatedKey"] = plain(page.last_key)
        return _json_result(call, data, notes)
    return ItemsResult(
        title=_title(call), table=call.table.short, index=call.index, items=items,
        next_key=page.last_key, scanned=page.scanned, consumed=page.consumed, notes=notes,
    )


def _count(call: AwsCall, ctx: Context) -> Result:
    """``--select COUNT``: a capped count, shown like the CLI's Count/ScannedCount."""
    kwargs: dict[str, Any] = {
        "index": call.index, "filter": call.filter, "start_key": call.start_key,
        "key_names": call.table.key_names_for(call.index), "select_count": True,
    }
    if call.op == "query":
        assert call.key_condition is not None
        page = ctx.store.query(call.full_name, call.key_condition, desc=not call.forward,
                               **kwargs)
    else:
        page = ctx.store.scan(call.full_name, **kwargs)
    notes = list(call.notes)
    if call.consistent:
        notes.append("counted with eventually consistent reads")
    if page.last_key:
        notes.append(f"stopped after reading {page.scanned} items: the count covers those only")
    data = {"Count": int(page.notes[-1]), "ScannedCount": page.scanned}
    return _json_result(call, data, notes)


def _json_result(call: AwsCall, data: Any, notes: list[str] | None = None) -> Result:
    """The CLI-shaped response, or what ``--query`` selects from it."""
    if call.jmespath:
        try:
            data = jmespath.search(call.jmespath, data)
        except RecursionError:
            raise CommandError("--query nests too deeply; simplify the expression") from None
        except JMESPathError as exc:
            raise CommandError(f"--query `{call.jmespath}` failed: {exc}") from None
    return JsonResult(title=_title(call), data=data,
                      notes=notes if notes is not None else list(call.notes))


def _plain_items(call: AwsCall, items: list[dict[str, Any]], ctx: Context) -> list[Any]:
    """Redacted before JMESPath can pull a secret out of its attribute's context."""
    share = _sharing(ctx)
    return [plain(redact_item(i, call.table, mask_pii=share)) for i in items]


def _sharing(ctx: Context) -> bool:
    # dispatch strips --share from args and sets result.share afterwards; JSON built
    # from items must mask PII itself, so look at the command text
    try:
        return "--share" in tokenize(ctx.text)
    except CommandError:
        return False


# -- values -----------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """JSON-safe: Decimal to int/float, datetimes to ISO-8601, bytes to base64, sets to lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Binary):
        value = value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


def project(item: dict[str, Any], paths: Sequence[Path]) -> dict[str, Any]:
    """Keep only ``paths`` of ``item`` (nested maps and list elements, like DynamoDB)."""
    if not paths:
        return item
    out: dict[Any, Any] = {}
    for path in paths:
        found, value = _lookup(item, path)
        if found:
            cur = out
            for seg in path[:-1]:
                cur = cur.setdefault(seg, {})
            cur[path[-1]] = value
    return _as_lists(out, top=True)


def _lookup(value: Any, path: Path) -> tuple[bool, Any]:
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(value, list) or seg >= len(value):
                return False, None
        elif not isinstance(value, Mapping) or seg not in value:
            return False, None
        value = value[seg]
    return True, value


def _as_lists(node: dict[Any, Any], top: bool = False) -> Any:
    """Dicts built from list indexes become lists, in index order."""
    built = {k: _as_lists(v) if isinstance(v, dict) and _built(v) else v for k, v in node.items()}
    if not top and built and all(isinstance(k, int) for k in built):
        return [built[k] for k in sorted(built)]
    return built


def _built(node: dict[Any, Any]) -> bool:
    # only containers made by ``project`` carry int keys; item maps have string keys
    return any(isinstance(k, int) for k in node) or any(
        isinstance(v, dict) and _built(v) for v in node.values()
    )


# -- writes: each becomes an approval request ---------------------------------------------
def parse_update_expression(call: AwsCall) -> tuple[dict[str, Any], list[str]]:
    """``SET a = :v, #b = :w REMOVE c`` → (set, remove); placeholders marked used.

    Only plain assignments of a ``:value`` and removals are supported: arithmetic,
    ``if_not_exists``, ``list_append``, ADD and DELETE would make the preview a guess.
    """
    text = call.update_expression or ""
    try:
        toks = expr.tokens(text)
    except expr.ExpressionError as exc:
        raise CommandError(f"--update-expression: {exc}") from None
    set_: dict[str, Any] = {}
    remove: list[str] = []
    clause = None
    i = 0

    def name(tok: expr.Tok) -> str:
        if tok.kind != "word" or tok.text.startswith(":"):
            raise CommandError(f"--update-expression: expected an attribute name, found `{tok.text}`")
        raw = tok.text
        if raw.startswith("#"):
            if raw not in call.names:
                raise CommandError(f"--update-expression: `{raw}` is not defined in "
                                   "--expression-attribute-names")
            call.used.add(raw)
            raw = call.names[raw]
        return call.table.canonical(raw)

    while i < len(toks):
        tok = toks[i]
        word = tok.text.upper() if tok.kind == "word" else ""
        if word in ("SET", "REMOVE"):
            clause = word
            i += 1
            continue
        if word in ("ADD", "DELETE"):
            raise CommandError(f"--update-expression: {word} is not supported; use SET or REMOVE")
        if clause is None:
            raise CommandError("--update-expression must start with SET or REMOVE")
        attr = name(tok)
        i += 1
        if clause == "SET":
            if i + 1 >= len(toks) or toks[i].text != "=":
                raise CommandError(f"--update-expression: write `SET {attr} = :value`")
            value_tok = toks[i + 1]
            if not value_tok.text.startswith(":") or value_tok.text not in call.values:
                raise CommandError(
                    "--update-expression: only `attr = :value` assignments are supported "
                    f"(found `{value_tok.text}`; :values must be in --expression-attribute-values)")
            call.used.add(value_tok.text)
            if attr in set_:
                raise CommandError(f"--update-expression: `{attr}` is set twice")
            set_[attr] = call.values[value_tok.text]
            i += 2
        else:
            remove.append(attr)
        if i < len(toks) and toks[i].text == ",":
            i += 1
        elif i < len(toks) and toks[i].kind != "word":
            raise CommandError(f"--update-expression: unexpected `{toks[i].text}`")
    if not set_ and not remove:
        raise CommandError("--update-expression changes nothing")
    return set_, remove


def _write(call: AwsCall, ctx: Context) -> Result:
    """Plan the pasted write as a request; the runbook's command runs only once approved."""
    from commands.writes import submit

    requests = getattr(ctx.services, "requests", None)
    if requests is None:
        raise CommandError("write requests need the bot's state table (run `python -m bot init`)")
    # `aws` is a read command for the dispatcher; a pasted write is a write request
    access = getattr(ctx.services, "access", None)
    denial = access.denial("write", ctx.user_id, ctx.channel_id) if access else None
    if denial:
        raise CommandError(denial)
    if call.condition is not None:
        hash_key = call.table.keys.hash_key
        if not (call.op == "put-item" and call.flags.get("--condition-expression", "").replace(" ", "")
                in (f"attribute_not_exists({hash_key})", *(
                    f"attribute_not_exists({n})" for n, v in call.names.items() if v == hash_key))):
            raise CommandError(
                "--condition-expression is not needed: an approved write runs only if the item "
                "still matches the preview the approver saw (put-item also only if it is new)")
    common = {"text": ctx.text, "channel": ctx.channel_id}
    if call.op == "update-item":
        set_, remove = parse_update_expression(call)
        require_all_used(call)
        check_write_values(set_)
        assert call.key is not None
        return submit(ctx, lambda: requests.plan_update(
            call.table.short, call.key, set_, remove, ctx.user_id, touch=False, **common), USAGE)
    if call.op == "delete-item":
        assert call.key is not None
        return submit(ctx, lambda: requests.plan_delete(call.table.short, call.key, ctx.user_id,
                                                        **common), USAGE)
    assert call.item is not None
    item = {call.table.canonical(k): v for k, v in call.item.items()}
    check_write_values(item)
    return submit(ctx, lambda: requests.plan_put(call.table.short, item, ctx.user_id, **common),
                  USAGE)
