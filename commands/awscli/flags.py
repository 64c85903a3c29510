"""The flags of pasted ``aws dynamodb`` commands: which op takes which, and their values.

Flag values are read here with their CLI types (text, whole number, switch); what a
value means (a key, an expression, a paging token) is ``call``'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.registry import CommandError

READ_OPS = ("get-item", "batch-get-item", "query", "scan", "describe-table",
            "describe-time-to-live", "describe-continuous-backups", "list-tables")
WRITE_OPS = ("update-item", "delete-item", "put-item")
# the ops botocore paginates (the CLI reads every page of these unless told otherwise)
PAGED_OPS = ("query", "scan", "list-tables")

TEXT, INT, BOOL = "text", "int", "bool"
FLAGS: dict[str, str] = {
    "--table-name": TEXT,
    "--key": TEXT,
    "--item": TEXT,
    "--request-items": TEXT,
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
    "--page-size": INT,
    "--starting-token": TEXT,
    "--select": TEXT,
    "--exclusive-start-key": TEXT,
    "--exclusive-start-table-name": TEXT,
    "--return-values": TEXT,
    "--return-item-collection-metrics": TEXT,
    "--segment": INT,
    "--total-segments": INT,
    # global CLI flags
    "--region": TEXT,
    "--query": TEXT,
    "--output": TEXT,
    "--paginate": BOOL,
    "--no-cli-pager": BOOL,
    "--return-consumed-capacity": TEXT,
}
GLOBAL = ("--region", "--query", "--output", "--no-cli-pager", "--return-consumed-capacity")
_EXPR = ("--expression-attribute-names", "--expression-attribute-values")
_PAGING = ("--max-items", "--page-size", "--starting-token", "--paginate")
_READ = ("--table-name", "--index-name", "--filter-expression", "--projection-expression",
         *_EXPR, "--limit", "--select", "--consistent-read", "--exclusive-start-key", *_PAGING)
_WRITE = ("--table-name", "--condition-expression", *_EXPR, "--return-values",
          "--return-item-collection-metrics")
OP_FLAGS: dict[str, tuple[str, ...]] = {
    "get-item": ("--table-name", "--key", "--projection-expression",
                 "--expression-attribute-names", "--consistent-read"),
    "batch-get-item": ("--request-items",),
    "query": ("--key-condition-expression", "--scan-index-forward", *_READ),
    "scan": (*_READ, "--segment", "--total-segments"),
    "describe-table": ("--table-name",),
    "describe-time-to-live": ("--table-name",),
    "describe-continuous-backups": ("--table-name",),
    "list-tables": ("--limit", "--exclusive-start-table-name", *_PAGING),
    "update-item": ("--key", "--update-expression", *_WRITE),
    "delete-item": ("--key", *_WRITE),
    "put-item": ("--item", *_WRITE),
}
OUTPUTS = ("json", "text", "table")
# DynamoDB's legacy parameters, still in the CLI: the bot takes only their expressions
LEGACY: dict[str, str] = {
    "--attributes-to-get": "--projection-expression",
    "--key-conditions": "--key-condition-expression",
    "--scan-filter": "--filter-expression",
    "--query-filter": "--filter-expression",
    "--conditional-operator": "AND / OR inside --filter-expression or --condition-expression",
    "--expected": "--condition-expression",
    "--attribute-updates": "--update-expression",
}


def usage() -> str:
    lines = ["/ddb aws dynamodb <op> [flags]   (paste an AWS CLI command)"]
    for op, flags in OP_FLAGS.items():
        kind = "write request" if op in WRITE_OPS else "read"
        shown = ("--no-paginate" if f == "--paginate" else f for f in flags)
        lines.append(f"  {op} ({kind}): {' '.join(shown)}")
    lines.append(f"  every op: {' '.join(GLOBAL)}  (--region must be this bot's)")
    lines.append('  writes also: --break-glass "<reason>"  (runs at once if the policy lets you; '
                 'reviewed after)')
    lines.append("  as the aws CLI: every page is read (up to the bot's cap) unless --max-items, "
                 "--limit or --no-paginate; --query is JMESPath over the typed response; "
                 "--key / --item / --expression-attribute-values take JSON or the CLI's shorthand")
    return "\n".join(lines)


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
        if name in LEGACY:
            raise CommandError(
                f"`{name}` is a legacy DynamoDB parameter the bot does not take; write it as "
                f"{LEGACY[name]} (names and values as --expression-attribute-names / -values)"
            )
        if name not in allowed:
            shown = sorted(a for a in allowed if a != "--paginate") + (
                ["--no-paginate"] if "--paginate" in allowed else [])
            raise CommandError(
                f"unknown flag `{name}` for `aws dynamodb {op}`; its flags: " + " ".join(shown)
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


def file_ref(name: str, text: str | None) -> str | None:
    """The value itself; ``file://`` and friends point at files the bot cannot read."""
    if text is not None and text.strip().startswith(("file://", "fileb://", "http://", "https://")):
        raise CommandError(f"`{name}`: paste the value itself; the bot cannot read files or URLs")
    return text
