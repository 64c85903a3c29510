"""Pasted writes (update-item, delete-item, put-item): each becomes an approval request.

The runbook's command never runs as pasted: it is planned as a request (before → after
preview, secrets redacted) and runs once a second person approves it.
"""

from __future__ import annotations

from typing import Any

from commands import expr
from commands.awscli.call import AwsCall, require_all_used
from commands.awscli.expressions import check_expression_length
from commands.awscli.flags import usage
from commands.input_checks import check_write_values
from commands.registry import CommandError, Context
from commands.results import Result
from dynamo.requests import Kind

USAGE = usage()


def parse_update_expression(call: AwsCall) -> tuple[dict[str, Any], list[str]]:
    """``SET a = :v, #b = :w REMOVE c`` → (set, remove); placeholders marked used.

    Only plain assignments of a ``:value`` and removals are supported: arithmetic,
    ``if_not_exists``, ``list_append``, ADD and DELETE would make the preview a guess.
    """
    text = call.update_expression or ""
    table = call.table
    assert table is not None
    check_expression_length(text, "--update-expression")
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
        return table.canonical(raw)

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


def write(call: AwsCall, ctx: Context, break_glass: str | None = None) -> Result:
    """Plan the pasted write as a request; the runbook's command runs only once approved.
    With a ``--break-glass`` reason it runs at once instead, if the caller may break glass
    (``commands.break_glass``), and waits for a review."""
    from commands.writes import requests_of, submit

    requests = requests_of(ctx)
    # `aws` is a read command for the dispatcher; a pasted write is a write request
    denial = ctx.denial("write")
    if denial:
        raise CommandError(denial)
    assert call.table is not None
    if call.condition is not None:
        hash_key = call.table.keys.hash_key
        if not (call.op == "put-item" and call.flags.get("--condition-expression", "").replace(" ", "")
                in (f"attribute_not_exists({hash_key})", *(
                    f"attribute_not_exists({n})" for n, v in call.names.items() if v == hash_key))):
            raise CommandError(
                "--condition-expression is not needed: an approved write runs only if the item "
                "still matches the preview the approver saw (put-item also only if it is new)")
    table, key = call.table.short, call.key  # bound here: the plans run later, in submit
    common: dict[str, Any] = {"text": ctx.text, "channel": ctx.channel_id}
    if call.op == "update-item":
        set_, remove = parse_update_expression(call)
        require_all_used(call)
        check_write_values(set_)
        assert key is not None
        return submit(ctx, lambda: requests.plan_update(
            table, key, set_, remove, ctx.user_id, touch=False, **common), USAGE,
            (break_glass, Kind.UPDATE, table))
    if call.op == "delete-item":
        assert key is not None
        return submit(ctx, lambda: requests.plan_delete(table, key, ctx.user_id, **common), USAGE,
                      (break_glass, Kind.DELETE, table))
    assert call.item is not None
    item = {call.table.canonical(k): v for k, v in call.item.items()}
    check_write_values(item)
    return submit(ctx, lambda: requests.plan_put(table, item, ctx.user_id, **common), USAGE,
                  (break_glass, Kind.PUT, table))
