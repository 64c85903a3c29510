"""The store: every DynamoDB read the bot makes goes through here.

It speaks to the low-level client so that the same code serves typed patterns and
pasted CLI commands; expressions are always built by boto3's condition builder
(placeholders for every name and value), values serialised with TypeSerializer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from dynamo.errors import DdbBotError
from dynamo.schema import Table, resolve_table

_ser = TypeSerializer()
_de = TypeDeserializer()


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items()}


def deserialize_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in raw.items()}


class StoreError(DdbBotError, RuntimeError):
    """A DynamoDB call that failed; carries the service's error code (``code``)."""

    logged = True  # the service failed, not the input: worth a warning in the log


ITEM_LIMIT_KB = 400  # DynamoDB's item size limit


def item_too_large(exc: ClientError) -> bool:
    """Whether DynamoDB refused a write because an item would pass its 400 KB limit."""
    err = exc.response.get("Error", {})
    return err.get("Code") == "ValidationException" and \
        "item size has exceeded" in str(err.get("Message", "")).lower()


@dataclass
class Page:
    """One page of items plus what it cost and where the next page starts."""

    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None = None
    scanned: int = 0
    consumed: float = 0.0
    calls: int = 0
    capped: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Expr:
    """A built expression: text made only of placeholders, plus names and values."""

    text: str
    names: dict[str, str]
    values: dict[str, Any]


def build(
    key: ConditionBase | None = None,
    filter: ConditionBase | None = None,
    projection: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Request parameters for a key condition, filter and projection, one builder each call."""
    builder = ConditionExpressionBuilder()
    params: dict[str, Any] = {}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if key is not None:
        b = builder.build_expression(key, is_key_condition=True)
        params["KeyConditionExpression"] = b.condition_expression
        names.update(b.attribute_name_placeholders)
        values.update(b.attribute_value_placeholders)
    if filter is not None:
        b = builder.build_expression(filter)
        params["FilterExpression"] = b.condition_expression
        names.update(b.attribute_name_placeholders)
        values.update(b.attribute_value_placeholders)
    if projection:
        parts = []
        for i, attr in enumerate(projection):
            ph = f"#p{i}"
            names[ph] = attr
            parts.append(ph)
        params["ProjectionExpression"] = ", ".join(parts)
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = serialize_item(values)
    return params


class Store:
    """Reads over one stage's tables through a boto3 DynamoDB client."""

    def __init__(self, client: Any, stage: str, read_cap: int = 1000) -> None:
        self.client = client
        self.stage = stage
        # most items a single filtered query/scan command may read before it stops
        self.read_cap = read_cap

    # -- names -----------------------------------------------------------------
    def table(self, name: str) -> tuple[Table, str]:
        return resolve_table(name, self.stage)

    def name(self, short: str) -> str:
        return self.table(short)[1]

    # -- single items ---------------------------------------------------------------
    def get(self, table: str, key: Mapping[str, Any], consistent: bool = False) -> Page:
        resp = self._call(
            "get_item",
            TableName=table,
            Key=serialize_item(key),
            ConsistentRead=consistent,
            ReturnConsumedCapacity="TOTAL",
        )
        item = resp.get("Item")
        return Page(
            items=[deserialize_item(item)] if item else [],
            scanned=1 if item else 0,
            consumed=_capacity(resp),
            calls=1,
        )

    # -- queries and scans ------------------------------------------------------------
    def query(
        self,
        table: str,
        key: ConditionBase,
        *,
        index: str | None = None,
        filter: ConditionBase | None = None,
        desc: bool = False,
        max_items: int | None = None,
        start_key: Mapping[str, Any] | None = None,
        projection: Iterable[str] | None = None,
        key_names: Iterable[str] = (),
        read_cap: int | None = None,
        select_count: bool = False,
    ) -> Page:
        params = build(key=key, filter=filter, projection=projection)
        params["TableName"] = table
        if index:
            params["IndexName"] = index
        if desc:
            params["ScanIndexForward"] = False
        return self._paginate("query", params, max_items, start_key, key_names, read_cap,
                              select_count)

    def scan(
        self,
        table: str,
        *,
        filter: ConditionBase | None = None,
        index: str | None = None,
        max_items: int | None = None,
        start_key: Mapping[str, Any] | None = None,
        projection: Iterable[str] | None = None,
        key_names: Iterable[str] = (),
        read_cap: int | None = None,
        segment: tuple[int, int] | None = None,
        select_count: bool = False,
    ) -> Page:
        params = build(filter=filter, projection=projection)
        params["TableName"] = table
        if index:
            params["IndexName"] = index
        if segment:
            params["Segment"], params["TotalSegments"] = segment
        return self._paginate("scan", params, max_items, start_key, key_names, read_cap,
                              select_count)

    def raw(self, op: str, params: dict[str, Any], max_items: int | None,
            key_names: Iterable[str] = ()) -> Page:
        """Run a query/scan from already-built low-level parameters (pasted CLI)."""
        start = params.pop("ExclusiveStartKey", None)
        start_key = deserialize_item(start) if start else None
        return self._paginate(op, params, max_items, start_key, key_names, None, False)

    def _paginate(
        self,
        op: str,
        params: dict[str, Any],
        max_items: int | None,
        start_key: Mapping[str, Any] | None,
        key_names: Iterable[str],
        read_cap: int | None,
        select_count: bool,
    ) -> Page:
        """Collect up to ``max_items`` matching items across DynamoDB pages.

        DynamoDB's ``Limit`` counts items *read*, not matched, so a filtered request
        loops; when it stops inside a page the next start key is rebuilt from the last
        item kept, so "Next page" continues exactly after it.
        """
        cap = read_cap if read_cap is not None else self.read_cap
        page = Page(items=[])
        start = serialize_item(start_key) if start_key else None
        names = tuple(key_names)
        count = 0
        user_limit = params.pop("Limit", None)
        if select_count:
            params["Select"] = "COUNT"
        while True:
            req = dict(params, ReturnConsumedCapacity="TOTAL")
            if start:
                req["ExclusiveStartKey"] = start
            want = None if max_items is None else max_items - len(page.items)
            limit = _page_limit(user_limit, want, "FilterExpression" in req or select_count)
            if cap:
                limit = min(limit or cap, cap - page.scanned)
            if limit:
                req["Limit"] = max(1, limit)
            resp = self._call(op, **req)
            page.calls += 1
            page.consumed += _capacity(resp)
            page.scanned += int(resp.get("ScannedCount", 0))
            lek = resp.get("LastEvaluatedKey")
            if select_count:
                count += int(resp.get("Count", 0))
            else:
                got = [deserialize_item(i) for i in resp.get("Items", [])]
                if want is not None and len(got) > want:
                    got = got[:want]
                    page.items.extend(got)
                    lek = serialize_item({k: got[-1][k] for k in names if k in got[-1]})
                    start = lek
                    break
                page.items.extend(got)
            start = lek
            if not lek:
                break
            if max_items is not None and len(page.items) >= max_items:
                break
            if cap and page.scanned >= cap:
                page.capped = True
                break
        page.last_key = deserialize_item(start) if start else None
        if select_count:
            page.items = []
            page.notes.append(str(count))
            page.scanned = max(page.scanned, count)
        return page

    def count(self, table: str, cap: int, filter: ConditionBase | None = None) -> tuple[int, bool, Page]:
        """Exact COUNT scan, stopping after ``cap`` items read; returns (count, capped, page)."""
        params = build(filter=filter)
        params["TableName"] = table
        page = self._paginate("scan", params, None, None, (), cap, True)
        # with Select=COUNT the cap counts items read, the same unit as the table size
        total = int(page.notes[-1])
        capped = page.last_key is not None
        page.notes = []
        return total, capped, page

    # -- table metadata ----------------------------------------------------------------
    def describe(self, table: str) -> dict[str, Any]:
        desc = self._call("describe_table", TableName=table)["Table"]
        try:
            ttl = self._call("describe_time_to_live", TableName=table).get(
                "TimeToLiveDescription", {}
            )
        except StoreError:
            ttl = {}
        try:
            backups = self._call("describe_continuous_backups", TableName=table).get(
                "ContinuousBackupsDescription", {}
            )
        except StoreError:
            backups = {}
        return {"Table": desc, "TimeToLive": ttl, "ContinuousBackups": backups}

    def describe_table(self, table: str) -> dict[str, Any]:
        return self._call("describe_table", TableName=table)

    def list_tables(self, prefix: str) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            resp = self._call("list_tables", **kwargs)
            names.extend(n for n in resp.get("TableNames", []) if n.startswith(prefix))
            if not resp.get("LastEvaluatedTableName"):
                return sorted(names)
            kwargs["ExclusiveStartTableName"] = resp["LastEvaluatedTableName"]

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code")
            if code == "ResourceNotFoundException":
                raise StoreError(
                    f"table `{kwargs.get('TableName')}` does not exist in this account/region "
                    "(run `python -m bot init --all` for a local setup)",
                    code,
                ) from None
            raise StoreError(f"DynamoDB {op} failed: {code}: {err.get('Message')}", code) from exc


def _page_limit(user_limit: int | None, want: int | None, filtered: bool) -> int | None:
    """DynamoDB Limit for the next call: exactly what is still wanted when unfiltered."""
    if want is None or filtered:
        return user_limit
    return min(user_limit or want, want)


def _capacity(resp: Mapping[str, Any]) -> float:
    cc = resp.get("ConsumedCapacity")
    if isinstance(cc, list):
        return float(sum(c.get("CapacityUnits", 0) for c in cc))
    if isinstance(cc, dict):
        return float(cc.get("CapacityUnits", 0))
    return 0.0
