"""A request in words: its before → after rows and its one-line summary.

Why here and not beside the Slack renderers (``bot/render``): the edge is not the only
reader. The audit log stores the preview with every decision (``Requests._log``), and
``commands`` put ``preview`` / ``summary`` into plain results (``commands/results.py``,
``commands/writes.py``) that the console and the CLI print without Slack. Layers may only
import downwards (bot → commands → dynamo), so the one home all three can reach is this
layer. The text is plain (no mrkdwn); escaping and Block Kit stay in ``bot/render``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dynamo.redact import redact_value
from dynamo.requests.model import Kind
from dynamo.values import json_default

if TYPE_CHECKING:
    from dynamo.requests.model import WriteRequest

ABSENT = "(absent)"
RESTORED_SECRET = "(restored, not shown)"


def preview_rows(req: WriteRequest) -> list[tuple[str, str, str]]:
    """(attribute, before, after) per touched attribute, secrets redacted."""
    rows: list[tuple[str, str, str]] = []

    def show(attr: str, value: Any) -> str:
        return display(redact_value(attr, value))

    if req.kind is Kind.UPDATE:
        for attr, value in req.set.items():
            old = show(attr, req.before[attr]) if attr in req.before else ABSENT
            rows.append((attr, old, show(attr, value)))
        for attr in req.remove:
            old = show(attr, req.before[attr]) if attr in req.before else ABSENT
            rows.append((attr, old, ABSENT))
    elif req.kind is Kind.DELETE:
        for attr, value in req.before.items():
            rows.append((attr, show(attr, value), ABSENT))
    elif req.kind is Kind.PUT and req.item is not None:
        for attr in sorted(set(req.item) | set(req.before)):
            old = show(attr, req.before[attr]) if attr in req.before else ABSENT
            new = show(attr, req.item[attr]) if attr in req.item else ABSENT
            if old != new or attr in req.key:
                rows.append((attr, old, new))
        for attr in req.restores:  # an undo of a delete: kept secrets, values never shown
            rows.append((attr, ABSENT, RESTORED_SECRET))
    elif req.gsi is not None:
        g = req.gsi
        if req.kind is Kind.GSI_CREATE:
            keys = " + ".join(f"{a}:{t}" for a, t in (k for k in (g.hash_key, g.range_key) if k))
            proj = g.projection + (f" ({', '.join(g.non_key)})" if g.non_key else "")
            rows.append((f"GSI {g.name}", ABSENT, f"{keys}, projection {proj}"))
        else:
            rows.append((f"GSI {g.name}", "exists", "deleted"))
    return rows


def summary(req: WriteRequest) -> str:
    """``update users u-1`` / ``create GSI ByStatus on helpers``."""
    key = " ".join(str(v) for v in req.key.values())
    if req.kind in (Kind.GSI_CREATE, Kind.GSI_DELETE) and req.gsi:
        verb = "create" if req.kind is Kind.GSI_CREATE else "delete"
        return f"{verb} GSI {req.gsi.name} on {req.table}"
    text = f"{req.kind.value} {req.table} {key}".strip()
    return f"{text} (undo of {req.undo_of})" if req.undo_of else text


def display(value: Any) -> str:
    """A value as one compact line: strings as they are, the rest as sorted JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=json_default, separators=(",", ":"), sort_keys=True)
