"""Creating the bot's state table (``python -m bot init``) and, locally, the ten declared tables.

``init`` creates the state table — requests, the audit log, and undo images that hold
secrets — protected: deletion protection, point-in-time recovery (PITR) and TTL on
``ttl``. ``--all`` also creates the ten platform tables exactly as declared, so
``describe`` shows no drift on a local setup.

It runs against any DynamoDB endpoint. An endpoint that does not implement an operation
(DynamoDB Local answers ``UpdateContinuousBackups`` with ``UnknownOperationException``)
gets that setting reported as *skipped*, by name; the tables are still usable. Each table
gets a ``TableReport``; ``exit_code`` turns them into init's exit status:

- 0: every table is usable, every setting is on or skipped as unsupported by the endpoint;
- 1: a table is not usable (could not be created, or exists with other keys);
- 3: the tables are usable but a setting the endpoint supports is off (e.g. access denied
  to ``UpdateContinuousBackups``, or an existing state table without deletion protection).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from dynamo.schema import TABLES, Index, KeySchema, Table

# what an endpoint answers for an operation it does not implement (DynamoDB Local)
UNSUPPORTED = frozenset({"UnknownOperationException"})
STATE_KEYS = KeySchema("pk", "sk")
STATE_TTL = "ttl"
EXIT_USABLE, EXIT_UNUSABLE, EXIT_UNPROTECTED = 0, 1, 3

Outcome = Literal["on", "skipped", "off"]


@dataclass(frozen=True)
class Setting:
    """One setting of one table as init left it, and why when it is not on."""

    name: str
    outcome: Outcome
    reason: str = ""

    def line(self) -> str:
        return f"  {self.name}: {self.outcome}" + (f" ({self.reason})" if self.reason else "")


@dataclass
class TableReport:
    name: str
    created: bool = False
    usable: bool = True
    error: str = ""
    settings: list[Setting] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.usable:
            return [f"{self.name}: NOT USABLE: {self.error}", *(s.line() for s in self.settings)]
        return [f"{self.name}: {'created' if self.created else 'exists'}",
                *(s.line() for s in self.settings)]

    @property
    def skipped(self) -> list[Setting]:
        return [s for s in self.settings if s.outcome == "skipped"]

    @property
    def off(self) -> list[Setting]:
        return [s for s in self.settings if s.outcome == "off"]


def exit_code(reports: list[TableReport]) -> int:
    if any(not r.usable for r in reports):
        return EXIT_UNUSABLE
    return EXIT_UNPROTECTED if any(r.off for r in reports) else EXIT_USABLE


def summary(reports: list[TableReport]) -> str:
    """The last line init prints: whether the tables are usable, and what was skipped."""
    if any(not r.usable for r in reports):
        bad = ", ".join(r.name for r in reports if not r.usable)
        return f"tables NOT usable: {bad}"
    skipped = sorted({s.name for r in reports for s in r.skipped})
    off = sorted({f"{r.name} {s.name}" for r in reports for s in r.off})
    text = "tables usable"
    if skipped:
        text += f"; skipped (this endpoint does not support them): {', '.join(skipped)}"
    if off:
        text += f"; NOT protected: {', '.join(off)}"
    return text


# -- parameters ----------------------------------------------------------------------------------
def _key_schema(keys: KeySchema) -> list[dict[str, str]]:
    out = [{"AttributeName": keys.hash_key, "KeyType": "HASH"}]
    if keys.range_key:
        out.append({"AttributeName": keys.range_key, "KeyType": "RANGE"})
    return out


def _projection(idx: Index) -> dict[str, Any]:
    proj: dict[str, Any] = {"ProjectionType": idx.projection}
    if idx.projection == "INCLUDE":
        proj["NonKeyAttributes"] = list(idx.non_key_attributes)
    return proj


def create_table_params(table: Table, stage: str) -> dict[str, Any]:
    attrs: dict[str, str] = {}
    for keys in (table.keys, *(i.keys for i in table.indexes)):
        for name in keys.names:
            attrs[name] = table.attributes[name].value
    params: dict[str, Any] = {
        "TableName": table.full_name(stage),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(table.keys),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()],
        "DeletionProtectionEnabled": table.deletion_protection,
    }
    if table.indexes:
        params["GlobalSecondaryIndexes"] = [
            {"IndexName": i.name, "KeySchema": _key_schema(i.keys), "Projection": _projection(i)}
            for i in table.indexes
        ]
    if table.stream_view:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    return params


def state_table_params(name: str) -> dict[str, Any]:
    """The state table: pk/sk strings, on demand, protected against deletion."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(STATE_KEYS),
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "DeletionProtectionEnabled": True,
    }


# -- steps ---------------------------------------------------------------------------------------
def _error(exc: ClientError) -> tuple[str, str]:
    err = exc.response.get("Error", {})
    return str(err.get("Code", "")), str(err.get("Message", ""))


def _not_on(exc: ClientError, setting: str, operation: str) -> Setting:
    """``skipped`` when the endpoint lacks the operation, else ``off`` with its answer."""
    code, message = _error(exc)
    if code in UNSUPPORTED:
        return Setting(setting, "skipped", f"this endpoint does not support {operation}")
    return Setting(setting, "off", f"{operation} failed: {code}: {message}")


def _create(client: Any, params: dict[str, Any], report: TableReport) -> dict[str, Any] | None:
    """Create the table unless it exists; its description once ACTIVE, or None (report says why)."""
    try:
        client.create_table(**params)
        report.created = True
    except ClientError as exc:
        code, message = _error(exc)
        if code != "ResourceInUseException":
            report.usable, report.error = False, f"CreateTable failed: {code}: {message}"
            return None
    except BotoCoreError as exc:  # no endpoint, no credentials: said, not a traceback
        report.usable, report.error = False, f"CreateTable failed: {exc}"
        return None
    try:
        desc = _active(client, params["TableName"])
    except (ClientError, BotoCoreError, TimeoutError) as exc:
        report.usable, report.error = False, f"the table did not become ACTIVE: {exc}"
        return None
    if desc.get("KeySchema") != params["KeySchema"]:
        report.usable = False
        report.error = (f"it exists with key {desc.get('KeySchema')}, the bot needs "
                        f"{params['KeySchema']}")
        return None
    return desc


def _active(client: Any, name: str, attempts: int = 60) -> dict[str, Any]:
    """The table's description once it is ACTIVE (checked every second, a minute at most)."""
    for attempt in range(attempts):
        desc: dict[str, Any] = client.describe_table(TableName=name)["Table"]
        if desc.get("TableStatus") == "ACTIVE":
            return desc
        if attempt < attempts - 1:
            time.sleep(1)
    raise TimeoutError(f"still {desc.get('TableStatus')} after {attempts} s")


def _ttl(client: Any, name: str, attribute: str, created: bool) -> Setting:
    """TTL on ``attribute``: turned on for a new table; an existing one is read first."""
    setting = f"time to live on `{attribute}`"
    try:
        live = {} if created else client.describe_time_to_live(TableName=name).get(
            "TimeToLiveDescription", {})
        if live.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            if live.get("AttributeName") == attribute:
                return Setting(setting, "on")
            return Setting(setting, "off", f"TTL is on `{live.get('AttributeName')}` instead")
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
    except ClientError as exc:
        return _not_on(exc, setting, "UpdateTimeToLive")
    return Setting(setting, "on")


def _pitr(client: Any, name: str) -> Setting:
    """Point-in-time recovery on (idempotent: an existing table gets it too)."""
    setting = "point-in-time recovery"
    try:
        resp = client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    except ClientError as exc:
        return _not_on(exc, setting, "UpdateContinuousBackups")
    status = (resp.get("ContinuousBackupsDescription", {})
              .get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus"))
    return Setting(setting, "on") if status in ("ENABLED", None) else Setting(
        setting, "off", f"the endpoint answered {status}")


def _deletion_protection(desc: dict[str, Any], created: bool) -> Setting:
    """As the table has it: asked for at creation; an existing table is told how."""
    setting = "deletion protection"
    if desc.get("DeletionProtectionEnabled"):
        return Setting(setting, "on")
    if "DeletionProtectionEnabled" not in desc:
        return Setting(setting, "skipped", "this endpoint does not report deletion protection")
    if created:
        return Setting(setting, "off", "the endpoint created the table without it")
    return Setting(setting, "off", "the table existed without it; turn it on with `aws dynamodb "
                   f"update-table --table-name {desc.get('TableName')} --deletion-protection-enabled`")


# -- the tables ----------------------------------------------------------------------------------
def ensure_state_table(client: Any, name: str) -> TableReport:
    """The bot's own table (requests, audit records, undo images, views, locks), protected.

    Creates it if missing; on an existing table turns on what is missing of TTL and PITR
    and says how to add deletion protection (``UpdateTable`` is not in the init policy).
    """
    report = TableReport(name)
    desc = _create(client, state_table_params(name), report)
    if desc is None:
        return report
    report.settings = [_ttl(client, name, STATE_TTL, report.created), _pitr(client, name),
                       _deletion_protection(desc, report.created)]
    return report


def ensure_platform_tables(client: Any, stage: str) -> list[TableReport]:
    """The ten declared tables (local setups): each missing one created with its TTL, PITR,
    stream and deletion protection as declared; existing ones are left as they are."""
    reports = []
    for table in TABLES:
        params = create_table_params(table, stage)
        report = TableReport(params["TableName"])
        desc = _create(client, params, report)
        if desc is not None and report.created:
            if table.ttl_attribute:
                report.settings.append(_ttl(client, report.name, table.ttl_attribute, True))
            if table.pitr:
                report.settings.append(_pitr(client, report.name))
            if table.deletion_protection:
                report.settings.append(_deletion_protection(desc, created=True))
        reports.append(report)
    return reports


class TablesNotReady(RuntimeError):
    """For callers that need the tables (demo, tests): a table is unusable or unprotected."""


def _checked(reports: list[TableReport]) -> list[TableReport]:
    if exit_code(reports) != EXIT_USABLE:
        raise TablesNotReady("\n".join(line for r in reports for line in r.lines()))
    return reports


def create_platform_tables(client: Any, stage: str) -> list[str]:
    """Create the ten declared tables that do not exist yet; returns those created."""
    return [r.name for r in _checked(ensure_platform_tables(client, stage)) if r.created]


def create_state_table(client: Any, name: str) -> bool:
    """Create the protected state table unless it exists; True if it was created."""
    return _checked([ensure_state_table(client, name)])[0].created
