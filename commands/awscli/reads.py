"""Running pasted reads as the aws CLI runs them, then shaping the answer.

Query, scan and list-tables go through botocore's own paginator (the CLI's
``--max-items`` / ``--page-size`` / ``--starting-token`` and its token format); pages are
merged as ``PageIterator.build_full_result`` merges them, except that reading stops once
``DDB_BOT_SCAN_CAP`` items were read, which the answer then says in words and continues
with a CLI token. ``--query`` runs over the merged, typed, redacted response.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError
from botocore.paginate import PageIterator, TokenEncoder
from botocore.utils import merge_dicts, set_value_from_jmespath

from commands.awscli.call import AwsCall
from commands.awscli.expressions import projection_params
from commands.awscli.jmespath_budget import QueryBudget
from commands.awscli.jmespath_query import search
from commands.awscli.output import format_text, jsonable, redact_typed
from commands.registry import CommandError, Context, tokenize
from commands.results import ItemsResult, JsonResult, Result, TextResult
from dynamo.schema import BY_SHORT, resolve_table
from dynamo.store import build, deserialize_item, serialize_item

_ITEM_KEYS = ("Items", "Item")


def run(call: AwsCall, ctx: Context) -> Result:
    try:
        if call.op in ("query", "scan"):
            return _items(call, ctx)
        if call.op == "get-item":
            return _get_item(call, ctx)
        if call.op == "batch-get-item":
            return _batch_get(call, ctx)
        if call.op == "list-tables":
            return _list_tables(call, ctx)
        client = ctx.store.client
        if call.op == "describe-time-to-live":
            resp = client.describe_time_to_live(TableName=call.full_name)
        elif call.op == "describe-continuous-backups":
            resp = client.describe_continuous_backups(TableName=call.full_name)
        else:
            resp = client.describe_table(TableName=call.full_name)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise CommandError(f"DynamoDB refused it: {err.get('Code')}: {err.get('Message')}") \
            from None
    except ParamValidationError as exc:
        raise CommandError(f"DynamoDB would refuse it: {exc}") from None
    resp.pop("ResponseMetadata", None)
    return answer(call, ctx, jsonable(resp))


def title(call: AwsCall) -> str:
    name = f" {call.full_name}" if call.full_name else ""
    return f"aws dynamodb {call.op}{name}" + (f" ({call.index})" if call.index else "")


# -- query / scan ----------------------------------------------------------------------------
def _params(call: AwsCall) -> dict[str, Any]:
    params = build(key=call.key_condition, filter=call.filter)
    params["TableName"] = call.full_name
    if call.projection:
        names = params.setdefault("ExpressionAttributeNames", {})
        params["ProjectionExpression"] = projection_params(call.projection, names)
    if call.index:
        params["IndexName"] = call.index
    if call.op == "query" and not call.forward:
        params["ScanIndexForward"] = False
    if call.consistent:
        params["ConsistentRead"] = True
    if call.select:
        params["Select"] = call.select
    if call.capacity:
        params["ReturnConsumedCapacity"] = call.capacity
    if call.total_segments is not None:
        params["Segment"] = call.segment
        params["TotalSegments"] = call.total_segments
    return params


def _items(call: AwsCall, ctx: Context) -> Result:
    params = _params(call)
    client = ctx.store.client
    notes = list(call.notes)
    pages: list[dict[str, Any]] = []
    if not call.paginate:
        if call.limit:
            params["Limit"] = call.limit
        if call.start_key:
            params["ExclusiveStartKey"] = serialize_item(call.start_key)
        resp = client.query(**params) if call.op == "query" else client.scan(**params)
        resp.pop("ResponseMetadata", None)
        doc = _redact(call, ctx, resp)
        pages = [doc]
        next_key = deserialize_item(resp["LastEvaluatedKey"]) if resp.get("LastEvaluatedKey") \
            else None
    else:
        paginator = client.get_paginator("query") if call.op == "query" \
            else client.get_paginator("scan")
        it = paginator.paginate(**params, PaginationConfig=_config(call))
        doc, pages, capped = _collect(it, ctx.store.read_cap, lambda p: _redact(call, ctx, p))
        if capped:
            notes.append(f"counted the first {doc.get('ScannedCount', 0):,} items; the CLI "
                         "would read on (`Next page` or --starting-token continues)")
        next_key = {"NextToken": doc["NextToken"]} if doc.get("NextToken") else None
    if call.jmespath or call.output or call.select == "COUNT":
        return answer(call, ctx, doc, notes, pages)
    return ItemsResult(
        title=title(call), table=call.table.short if call.table else None, index=call.index,
        items=[deserialize_item(i) for i in doc.get("Items", [])], next_key=next_key,
        scanned=int(doc.get("ScannedCount", 0)), notes=notes,
    )


def _config(call: AwsCall) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if call.max_items:
        config["MaxItems"] = call.max_items
    if call.page_size:
        config["PageSize"] = call.page_size
    if call.starting_token:
        config["StartingToken"] = call.starting_token
    return config


def _collect(it: PageIterator, cap: int, shape: Any) -> tuple[dict[str, Any], list[Any], bool]:
    """``build_full_result``, stopping after the page where ``cap`` items were read."""
    merged: dict[str, Any] = {}
    pages: list[dict[str, Any]] = []
    scanned = 0
    capped = False
    last: dict[str, Any] = {}
    try:
        for raw in _pages(it):
            last = raw
            page = shape(raw)
            pages.append(page)
            for expression in it.result_keys:
                value = expression.search(page)
                if value is None:
                    continue
                existing = expression.search(merged)
                if existing is None:
                    # a copy: extending the page's own list would turn page 1 into the
                    # merged result, and --output text prints the pages one by one
                    first = list(value) if isinstance(value, list) else value
                    set_value_from_jmespath(merged, expression.expression, first)
                elif isinstance(value, list):
                    existing.extend(value)
                elif isinstance(value, int | float | str):
                    set_value_from_jmespath(merged, expression.expression, existing + value)
            scanned += int(raw.get("ScannedCount", 0))
            if cap and scanned >= cap and raw.get("LastEvaluatedKey") and it.resume_token is None:
                capped = True
                break
    except ValueError as exc:  # botocore's InvalidToken
        raise CommandError(f"--starting-token: {exc}") from None
    merge_dicts(merged, jsonable(it.non_aggregate_part))
    if capped:
        merged["NextToken"] = TokenEncoder().encode({"ExclusiveStartKey": last["LastEvaluatedKey"]})
    elif it.resume_token is not None:
        merged["NextToken"] = it.resume_token
    return merged, pages, capped


def _pages(it: PageIterator) -> Iterator[dict[str, Any]]:
    for page in it:
        page.pop("ResponseMetadata", None)
        yield page


def _redact(call: AwsCall, ctx: Context, resp: dict[str, Any]) -> dict[str, Any]:
    """A copy of a typed response with every item redacted (bytes stay bytes until shown)."""
    share = _sharing(ctx)
    out = dict(resp)
    if "Items" in out:
        out["Items"] = [redact_typed(i, call.table, share) for i in out["Items"]]
    if "Item" in out:
        out["Item"] = redact_typed(out["Item"], call.table, share)
    return out


def _sharing(ctx: Context) -> bool:
    # dispatch strips --share from args and sets result.share afterwards; JSON built
    # from items must mask PII itself, so look at the command text
    try:
        return "--share" in tokenize(ctx.text)
    except CommandError:
        return False


# -- single items ---------------------------------------------------------------------------
def _get_item(call: AwsCall, ctx: Context) -> Result:
    assert call.key is not None and call.table is not None
    params: dict[str, Any] = {"TableName": call.full_name, "Key": serialize_item(call.key)}
    if call.projection:
        names: dict[str, str] = {}
        params["ProjectionExpression"] = projection_params(call.projection, names)
        params["ExpressionAttributeNames"] = names
    if call.consistent:
        params["ConsistentRead"] = True
    if call.capacity:
        params["ReturnConsumedCapacity"] = call.capacity
    resp = ctx.store.client.get_item(**params)
    resp.pop("ResponseMetadata", None)
    if not resp.get("Item"):
        shown = json.dumps(jsonable(serialize_item(call.key)))
        raise CommandError(f"no item with key {shown} in {call.full_name}")
    doc = _redact(call, ctx, resp)
    if call.jmespath or call.output:
        return answer(call, ctx, doc)
    return ItemsResult(title=title(call), table=call.table.short,
                       items=[deserialize_item(doc["Item"])], single=True, scanned=1,
                       notes=list(call.notes))


def _batch_get(call: AwsCall, ctx: Context) -> Result:
    from commands.awscli.batch import request_items

    requests = request_items(call, ctx)
    resp = ctx.store.client.batch_get_item(RequestItems=requests)
    resp.pop("ResponseMetadata", None)
    share = _sharing(ctx)
    responses = {}
    for name, items in resp.get("Responses", {}).items():
        table = resolve_table(name, ctx.stage)[0]
        responses[name] = [redact_typed(i, table, share) for i in items]
    resp["Responses"] = responses
    return answer(call, ctx, jsonable(resp))


def _list_tables(call: AwsCall, ctx: Context) -> Result:
    """Only this stage's declared tables; other tables are none of the bot's business."""
    client = ctx.store.client
    ours = {f"mfh-{ctx.stage}-{short}" for short in BY_SHORT}
    if call.paginate:
        doc, pages = _our_tables(call, ctx, ours)
    else:
        kwargs: dict[str, Any] = {}
        if call.limit:
            kwargs["Limit"] = call.limit
        if call.flags.get("--exclusive-start-table-name"):
            kwargs["ExclusiveStartTableName"] = call.flags["--exclusive-start-table-name"]
        doc = client.list_tables(**kwargs)
        doc.pop("ResponseMetadata", None)
        pages = [doc]
        for page in (doc, *pages):
            page["TableNames"] = [n for n in page.get("TableNames", []) if n in ours]
    return answer(call, ctx, doc, list(call.notes), pages)


def _our_tables(call: AwsCall, ctx: Context, ours: set[str]) \
        -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every page of ListTables, filtered to ``ours`` first and then cut at --max-items.

    botocore's paginator cuts before the bot filters (``--max-items 3`` would answer
    fewer names); here the cut counts only names shown, and ``NextToken`` (botocore's
    format, ``ExclusiveStartTableName`` = the last name shown) is given only when
    another of ours follows. A CLI token's ``boto_truncate_amount`` skips that many
    names of the first page read, as botocore does.
    """
    from botocore.paginate import TokenDecoder

    kwargs: dict[str, Any] = {}
    skip = 0
    if call.starting_token:
        decoded = TokenDecoder().decode(call.starting_token)
        if decoded.get("ExclusiveStartTableName"):
            kwargs["ExclusiveStartTableName"] = decoded["ExclusiveStartTableName"]
        skip = int(decoded.get("boto_truncate_amount") or 0)
    if call.page_size:
        kwargs["Limit"] = call.page_size
    names: list[str] = []
    pages: list[dict[str, Any]] = []
    more = False
    while True:
        resp = ctx.store.client.list_tables(**kwargs)
        raw = resp.get("TableNames", [])[skip:]
        skip = 0
        page = [n for n in raw if n in ours]
        if call.max_items and len(names) + len(page) > call.max_items:
            page = page[:call.max_items - len(names)]
            more = True
        names += page
        pages.append({"TableNames": page})
        last = resp.get("LastEvaluatedTableName")
        if more or not last:
            break
        kwargs["ExclusiveStartTableName"] = last
    doc: dict[str, Any] = {"TableNames": names}
    if more:
        doc["NextToken"] = TokenEncoder().encode({"ExclusiveStartTableName": names[-1]})
    return doc, pages


# -- the answer -----------------------------------------------------------------------------
def answer(call: AwsCall, ctx: Context, doc: Any, notes: list[str] | None = None,
           pages: list[dict[str, Any]] | None = None) -> Result:
    """The CLI-shaped response, or what ``--query`` selects from it, as --output asks."""
    notes = list(call.notes) if notes is None else notes
    doc = jsonable(doc)
    budget = QueryBudget()  # one for the whole answer, however many pages --query runs on
    if call.output == "text":
        return TextResult(title=title(call), notes=notes,
                          sections=[("", f"```\n{_text(call, doc, pages, budget)}```")])
    data = _search(call, doc, budget)
    if call.output == "table":
        notes.append("--output table is shown as JSON here; the data is the same")
    return JsonResult(title=title(call), data=data, notes=notes)


def _search(call: AwsCall, doc: Any, budget: QueryBudget) -> Any:
    """``--query`` over ``doc``, within ``budget`` (see jmespath_budget)."""
    return search(call.jmespath, doc, budget) if call.jmespath else doc


def _text(call: AwsCall, doc: dict[str, Any], pages: list[dict[str, Any]] | None,
          budget: QueryBudget) -> str:
    """As the CLI's text formatter: a paginated answer is printed (and queried) page by page."""
    if not (call.paginate and pages and call.op in ("query", "scan", "list-tables")):
        return format_text(_search(call, doc, budget))
    keys = ["TableNames"] if call.op == "list-tables" else ["Items", "Count", "ScannedCount"]
    out = []
    for i, page in enumerate(jsonable(pages)):
        current: dict[str, Any] = {"ConsumedCapacity": page.get("ConsumedCapacity")} \
            if i == 0 and call.op != "list-tables" else {}
        for key in keys:  # as the CLI: every result key, None where the page has none
            current[key] = page.get(key)
        out.append(format_text(_search(call, current, budget)))
    if doc.get("NextToken"):
        token = {"NextToken": {"NextToken": doc["NextToken"]}}
        out.append(format_text(_search(call, token, budget)))
    return "".join(out)
