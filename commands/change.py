"""The "Request a change" form: table, key, attributes to set and to remove.

A form is checked field by field with the same parsers ``/ddb update`` uses (table
names, ``parse_key``, ``typed_value`` from the declared schema, the request planner's
key/secret rule), so each problem can be shown next to the field that caused it. A
valid form becomes the equivalent ``update`` command text and is dispatched like a typed
``/ddb update``: one code path plans, checks access, stores and audits the request.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from commands import break_glass as bg
from commands.input_checks import check_write_values
from commands.parse import ATTR_NAME, parse_key
from commands.registry import CommandError, Context, dispatch, tokenize
from commands.results import ErrorResult, RequestResult, Result
from dynamo.requests import PlanError, _forbidden
from dynamo.schema import SchemaError, Table
from dynamo.values import ValueTypeError, typed_value

FIELDS = ("table", "key", "set", "remove")
BREAK_GLASS_FIELD = "break_glass"  # shown only to members of the policy's break_glass list
ERROR_MAX = 280  # Slack shows inline errors under a field; keep them readable
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class ChangeForm:
    """What a person typed into the form (all plain text)."""

    table: str = ""
    key: str = ""
    set: str = ""
    remove: str = ""
    break_glass: str = ""  # a reason: run at once and be reviewed after (commands.break_glass)


def _cut(message: str) -> str:
    return message if len(message) <= ERROR_MAX else message[: ERROR_MAX - 1] + "…"


def key_text(table: Table, key: dict[str, Any]) -> str:
    """A key as the form (and ``/ddb``) accepts it back: ``attr=value`` words."""
    return " ".join(shlex.quote(f"{k}={key[k]}") for k in table.keys.names if k in key)


def _set_lines(table: Table, text: str) -> tuple[list[str], str | None]:
    """``attr=value`` lines → command words, or the first problem."""
    words: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        attr, eq, raw = line.partition("=")
        attr = table.canonical(attr.strip())
        raw = raw.strip()
        where = f"line {n}: " if len(text.strip().splitlines()) > 1 else ""
        if not eq or not attr:
            return [], f"{where}write `attr=value`, one per line"
        if not ATTR_NAME.match(attr):
            return [], f"{where}`{attr}` is not a valid attribute name"
        if attr in seen:
            return [], f"`{attr}` is set twice"
        seen.add(attr)
        try:
            _forbidden(table, [attr])
            check_write_values({attr: typed_value(table, attr, raw)})
        except (PlanError, ValueTypeError, CommandError) as exc:
            return [], f"{where}{exc}"
        words.append(f"{attr}={raw}")
    return words, None


def _remove_names(table: Table, text: str) -> tuple[list[str], str | None]:
    names: list[str] = []
    for word in _SEPARATORS.split(text.strip()):
        if not word:
            continue
        attr = table.canonical(word)
        if "=" in attr or not ATTR_NAME.match(attr):
            return [], f"`{word}`: list attribute names only (no values)"
        try:
            _forbidden(table, [attr])
        except PlanError as exc:
            return [], str(exc)
        if attr not in names:
            names.append(attr)
    return names, None


def command_text(form: ChangeForm, ctx: Context) -> tuple[str | None, dict[str, str]]:
    """The ``update`` command the form stands for, or an error per field."""
    errors: dict[str, str] = {}
    table: Table | None = None
    if not form.table.strip():
        errors["table"] = "choose a table"
    else:
        try:
            table, _ = ctx.store.table(form.table.strip())
        except SchemaError as exc:
            errors["table"] = str(exc)
    if table is None:
        return None, errors
    key_words: list[str] = []
    try:
        key_words = tokenize(form.key)
        parse_key(table, key_words)
    except (CommandError, SchemaError, ValueTypeError) as exc:
        errors["key"] = str(exc)
    sets, problem = _set_lines(table, form.set)
    if problem:
        errors["set"] = problem
    removes, problem = _remove_names(table, form.remove)
    if problem:
        errors["remove"] = problem
    both = sorted({w.partition("=")[0] for w in sets} & set(removes))
    if both:
        errors["remove"] = f"`{', '.join(both)}` is both set and removed"
    if not errors and not sets and not removes:
        errors["set"] = "nothing to change: set at least one attribute or remove one"
    if errors:
        return None, {k: _cut(v) for k, v in errors.items()}
    words = ["update", table.short, *key_words]
    if sets:
        words += ["set", *sets]
    if removes:
        words += ["remove", *removes]
    if form.break_glass.strip():
        words += [bg.OPTION, form.break_glass]
    return " ".join(shlex.quote(w) for w in words), {}


def _field_of(error: ErrorResult, form: ChangeForm) -> str:
    """Which field a planner's refusal belongs to (the item, access, or the change)."""
    message = error.message
    if form.break_glass.strip() and ("break_glass" in message or "break-glass" in message):
        return BREAK_GLASS_FIELD
    if message.startswith("no item with") or ("key" in message and "missing" in message):
        return "key"
    if "DDB_BOT_" in message or "not enabled in this channel" in message:
        return "table"
    if form.remove.strip() and not form.set.strip():
        return "remove"
    return "set"


def submit(form: ChangeForm, ctx: Context) -> tuple[Result | None, dict[str, str]]:
    """Create the write request for a form, exactly as ``/ddb update`` would.

    Returns the ``RequestResult`` and no errors, or no result and an error per field.
    Nothing is written unless the request is created.
    """
    text, errors = command_text(form, ctx)
    if text is None:
        return None, errors
    result = dispatch(text, ctx)
    if isinstance(result, RequestResult):
        return result, {}
    message = getattr(result, "message", "") or "the change could not be requested"
    field = _field_of(result, form) if isinstance(result, ErrorResult) else "set"
    return None, {field: _cut(message)}
