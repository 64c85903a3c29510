"""Expressions and projections of pasted commands, parsed into boto3 conditions.

Every value must be a ``:placeholder`` and every name resolves through the schema or
``#name`` placeholders, so text from Slack never becomes expression text. ``expression``
is the one place an expression flag is parsed: checks on the parsed tree go there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import ConditionBase

from commands import expr, secret_guard
from commands.registry import CommandError
from dynamo.values import ValueTypeError, check_type

if TYPE_CHECKING:
    from commands.awscli.call import AwsCall

# a projection path: attribute names and list indexes, e.g. ("config", "steps", 0)
Path = tuple[str | int, ...]
# DynamoDB's limit for the text of any expression (4 KB); it also bounds the work of
# parsing one here (the overlap check of a projection compares every pair of paths)
MAX_EXPRESSION_LENGTH = 4096


class CliParser(expr.Parser):
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


def expression(call: AwsCall, text: str, flag: str) -> expr.Node:
    """Parse one expression flag, recording the placeholders it uses."""
    try:
        parser = CliParser(text, call.table, call.names, call.values)
        node = parser.parse()
    except expr.ExpressionError as exc:
        raise CommandError(f"{flag}: {exc}") from None
    call.used.update(parser.used_names, parser.used_values)
    secret_guard.check_expression(node, call.table, flag, key_index=call.index,
                                  key_condition=flag == "--key-condition-expression")
    return node


def key_condition(call: AwsCall, text: str | None) -> ConditionBase:
    keys = call.table.index(call.index).keys if call.index else call.table.keys
    where = f"{call.table.short}{f' / {call.index}' if call.index else ''}"
    need = f"keys of {where}: {' + '.join(keys.names)}"
    if not text:
        raise CommandError(f"`query` needs --key-condition-expression ({need})")
    node = expression(call, text, "--key-condition-expression")
    try:
        _, _, cond = expr.key_condition(node, keys.hash_key, keys.range_key)
    except expr.ExpressionError as exc:
        raise CommandError(f"--key-condition-expression: {exc} ({need})") from None
    try:
        for cmp in comparisons(node):
            for value in cmp.values:
                check_type(call.table, cmp.path, value)
    except ValueTypeError as exc:
        raise CommandError(f"--expression-attribute-values: {exc}") from None
    return cond


def comparisons(node: expr.Node) -> list[expr.Cmp]:
    if isinstance(node, expr.Cmp):
        return [node]
    if isinstance(node, expr.Not):
        return comparisons(node.inner)
    return comparisons(node.left) + comparisons(node.right)


def refuse_key_filter(call: AwsCall, node: expr.Node) -> None:
    """DynamoDB refuses a query filter on the queried keys; say so before calling."""
    if call.op != "query":
        return
    keys = call.table.index(call.index).keys if call.index else call.table.keys
    for cmp in comparisons(node):
        if cmp.path in keys.names:
            raise CommandError(
                f"--filter-expression: `{cmp.path}` is a key here; "
                "put it in --key-condition-expression"
            )


_SEGMENT = re.compile(r"^(#?[A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$")


def check_expression_length(text: str, flag: str) -> None:
    """DynamoDB's limit on any expression; the condition parser has it too."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise CommandError(f"{flag} is longer than {MAX_EXPRESSION_LENGTH} characters "
                           "(DynamoDB's limit for an expression)")


def parse_projection(call: AwsCall, text: str) -> tuple[Path, ...]:
    """``a, #b, c.d[0]`` to attribute paths, #names resolved; overlaps refused."""
    check_expression_length(text, "--projection-expression")
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
                raise CommandError(f"--projection-expression: `{show_path(a)}` and "
                                   f"`{show_path(b)}` overlap")
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


def show_path(path: Path) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def projection_params(paths: tuple[Path, ...], names: dict[str, str]) -> str:
    """``ProjectionExpression`` with every name a fresh ``#pjN`` placeholder (added to names)."""
    parts = []
    for path in paths:
        text = ""
        for seg in path:
            if isinstance(seg, int):
                text += f"[{seg}]"
            else:
                ph = f"#pj{len(names)}"
                names[ph] = seg
                text += f".{ph}" if text else ph
        parts.append(text)
    return ", ".join(parts)
