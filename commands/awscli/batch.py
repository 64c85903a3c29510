"""``batch-get-item --request-items``: each table resolved and each key checked.

Table names go through the schema (only this stage's tables), keys through the same
checks as ``get-item --key``, projections through the same parser; the request sent is
rebuilt from the checked parts, never passed through.
"""

from __future__ import annotations

from typing import Any

from commands.awscli.call import AwsCall, _as_json, require_all_used
from commands.awscli.expressions import parse_projection, projection_params
from commands.awscli.values import blobs_as_bytes, raw_map
from commands.parse import decode_dynamo_json, parse_key
from commands.registry import CommandError, Context
from dynamo.store import serialize_item

MAX_KEYS = 100
_ALLOWED = {"Keys", "ProjectionExpression", "ExpressionAttributeNames", "ConsistentRead"}


def request_items(call: AwsCall, ctx: Context) -> dict[str, Any]:
    text = call.flags.get("--request-items")
    if not text:
        raise CommandError("`batch-get-item` needs --request-items")
    model = ctx.store.client.meta.service_model.operation_model("BatchGetItem")
    obj = raw_map(text, "--request-items", model.input_shape.members["RequestItems"])
    out: dict[str, Any] = {}
    total = 0
    for name, spec in obj.items():
        table, full = ctx.store.table(name)
        if not isinstance(spec, dict) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise CommandError(f'--request-items: `{name}` needs "Keys": [ ... ]')
        unknown = set(spec) - _ALLOWED
        if unknown:
            raise CommandError(f"--request-items: `{name}` has {', '.join(sorted(unknown))}; "
                               f"allowed: {', '.join(sorted(_ALLOWED))}")
        keys = []
        for raw in spec["Keys"]:
            if not isinstance(raw, dict):
                raise CommandError(f"--request-items: a key of `{name}` is not an object")
            key = decode_dynamo_json({k: blobs_as_bytes(v) for k, v in raw.items()},
                                     "--request-items")
            try:
                keys.append(serialize_item(parse_key(table, [_as_json(key)])))
            except CommandError as exc:
                raise CommandError(f"--request-items `{name}`: {exc}") from None
        total += len(keys)
        entry: dict[str, Any] = {"Keys": keys}
        if "ProjectionExpression" in spec:
            sub = AwsCall(op="batch-get-item", table=table, full_name=full,
                          names=dict(spec.get("ExpressionAttributeNames") or {}))
            paths = parse_projection(sub, str(spec["ProjectionExpression"]))
            require_all_used(sub)
            names: dict[str, str] = {}
            entry["ProjectionExpression"] = projection_params(paths, names)
            entry["ExpressionAttributeNames"] = names
        elif spec.get("ExpressionAttributeNames"):
            raise CommandError(f"--request-items `{name}`: ExpressionAttributeNames without "
                               "a ProjectionExpression")
        if spec.get("ConsistentRead") in (True, "true"):
            entry["ConsistentRead"] = True
        out[full] = entry
    if total > MAX_KEYS:
        raise CommandError(f"--request-items: at most {MAX_KEYS} keys in one batch-get-item")
    return out
