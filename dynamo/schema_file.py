"""The team's own table definitions as the schema: a Serverless or CloudFormation file.

The platform's tables are defined in the team's ``serverless.yml`` as CloudFormation
``AWS::DynamoDB::Table`` resources. ``DDB_BOT_SCHEMA_FILE`` points the bot at that file:
each table's keys, key attribute types, GSIs and projections, TTL, stream, PITR,
deletion protection and billing mode are read from it, so ``/ddb describe`` reports the
live table's drift against the truth rather than against the bot's restatement. What a
file cannot hold (secret and PII attributes, declared types of non-key attributes, the
access patterns) stays in ``dynamo.schema`` and is merged by table name (``merge``).

Table names carry the stage as the file writes it: Serverless variables
(``${self:provider.stage}``, ``${sls:stage}``, ``${opt:stage, 'dev'}``, ``${self:…}``
paths of the file) and CloudFormation's ``!Sub``/``!Ref``/``!Join`` with a stage
parameter resolve to the bot's ``STAGE``. The file is YAML with CloudFormation's
short-form tags (``!Sub``, ``!Ref``, ``!GetAtt`` …), which PyYAML's safe loader accepts
once each ``!`` tag has a constructor (``dynamo.cfn_template``). A file that cannot be read is
a ``SchemaFileError`` naming the file, the line and the reason; ``bot.config`` stops
start-up with it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dynamo.cfn_template import Resolver, SchemaFileError, YamlMap, parse_yaml
from dynamo.schema import TABLES, AttrType, Index, KeySchema, Table

__all__ = ["FileTable", "SchemaFile", "SchemaFileError", "cached_schema_file",
           "load_schema_file", "merge", "parse_schema_file"]

_KEY_TYPES = {"S": AttrType.S, "N": AttrType.N, "B": AttrType.B}
_PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
_STREAM_VIEWS = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
_BILLING = ("PAY_PER_REQUEST", "PROVISIONED")


# -- the tables of a file ----------------------------------------------------------------------
@dataclass(frozen=True)
class FileTable:
    """One ``AWS::DynamoDB::Table`` as the file defines it (names resolved)."""

    logical_id: str
    line: int
    name: str | None  # TableName; None: CloudFormation would generate one
    keys: KeySchema
    key_types: dict[str, AttrType]  # AttributeDefinitions: the key attributes' types
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream_view: str | None = None
    pitr: bool = False
    deletion_protection: bool = False
    billing_mode: str = "PROVISIONED"  # CloudFormation's default


def merge(declared: Table, defined: FileTable) -> Table:
    """The bot's table with the file's structure: keys, key types, GSIs, TTL, stream,
    PITR and deletion protection from the file; everything else from ``dynamo.schema``."""
    return dataclasses.replace(
        declared, keys=defined.keys, attributes={**declared.attributes, **defined.key_types},
        indexes=defined.indexes, ttl_attribute=defined.ttl_attribute,
        stream_view=defined.stream_view, pitr=defined.pitr,
        deletion_protection=defined.deletion_protection)


@dataclass(frozen=True)
class SchemaFile:
    """The tables one file defines, for one stage (``mfh-{stage}-<short>`` names)."""

    path: str
    stage: str
    tables: tuple[FileTable, ...]

    @property
    def prefix(self) -> str:
        return f"mfh-{self.stage}-"

    def table(self, short: str) -> FileTable | None:
        """The file's definition of the bot's table ``short`` (by its full name)."""
        full = self.prefix + short
        return next((t for t in self.tables if t.name == full), None)

    def merged(self, declared: Sequence[Table] = TABLES) -> tuple[Table, ...]:
        """The bot's tables, each merged with the file's definition where it has one."""
        return tuple(merge(t, d) if (d := self.table(t.short)) else t for t in declared)

    def mismatches(self, declared: Sequence[Table] = TABLES) -> list[str]:
        """Tables and GSIs in the file but not in the bot, or the other way round, and key
        differences: one line each, for the start-up log."""
        out: list[str] = []
        known = {self.prefix + t.short for t in declared}
        for d in self.tables:
            if d.name is None:
                out.append(f"{self.path}: line {d.line}: table `{d.logical_id}` has no "
                           "TableName (CloudFormation generates one); the bot cannot match it")
            elif d.name not in known:
                out.append(f"{self.path}: line {d.line}: table `{d.name}` is in the file "
                           "but not in the bot")
        for t in declared:
            d = self.table(t.short)
            if d is None:
                out.append(f"table `{self.prefix + t.short}` is in the bot but not in {self.path}")
                continue
            where = f"{self.path}: line {d.line}: `{d.name}`"
            if d.keys != t.keys:
                out.append(f"{where} key is {' + '.join(d.keys.names)}, the bot declares "
                           f"{' + '.join(t.keys.names)}")
            for attr, kind in d.key_types.items():
                if attr in t.attributes and t.attributes[attr] != kind:
                    out.append(f"{where} attribute `{attr}` is {kind.value}, the bot declares "
                               f"{t.attributes[attr].value}")
            mine, theirs = {i.name for i in t.indexes}, {i.name for i in d.indexes}
            out += [f"{where} GSI `{n}` is in the file but not in the bot"
                    for n in sorted(theirs - mine)]
            out += [f"{where} GSI `{n}` is in the bot but not in the file"
                    for n in sorted(mine - theirs)]
            bots = {i.name: i for i in t.indexes}
            out += [f"{where} GSI `{i.name}` is {' + '.join(i.keys.names)} ({i.projection}), "
                    f"the bot declares {' + '.join(bots[i.name].keys.names)} "
                    f"({bots[i.name].projection})"
                    for i in d.indexes if i.name in bots and (i.keys, i.projection) != (
                        bots[i.name].keys, bots[i.name].projection)]
        return out


def load_schema_file(path: str | Path, stage: str) -> SchemaFile:
    """The tables of the file at ``path`` with ``stage`` resolved in their names."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaFileError(f"{p}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SchemaFileError(f"{p}: not UTF-8 text") from None
    return parse_schema_file(text, str(p), stage)


def cached_schema_file(path: str, stage: str) -> SchemaFile:
    """``load_schema_file``, read again only when the file changed (``describe``)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SchemaFileError(f"{path}: cannot be read ({exc.strerror})") from None
    return _cached(path, stage, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _cached(path: str, stage: str, mtime_ns: int, size: int) -> SchemaFile:
    return load_schema_file(path, stage)


def parse_schema_file(text: str, source: str, stage: str) -> SchemaFile:
    """The ``AWS::DynamoDB::Table`` resources of a Serverless or CloudFormation file."""
    doc = parse_yaml(text, source)
    if not isinstance(doc, YamlMap):
        raise SchemaFileError(f"{source}: not a Serverless or CloudFormation file "
                              "(expected a mapping with `resources` or `Resources`)")
    reader = _Reader(Resolver(doc, source, stage))
    return SchemaFile(source, stage, tuple(reader.tables(doc)))


class _Reader:
    """Reads table resources; every error names the line of what it is about."""

    def __init__(self, resolver: Resolver) -> None:
        self.r = resolver

    def tables(self, doc: YamlMap) -> list[FileTable]:
        out: list[FileTable] = []
        for resources in self._resource_maps(doc):
            for logical, res in resources.items():
                if isinstance(res, YamlMap) and res.get("Type") == "AWS::DynamoDB::Table":
                    out.append(self.table(str(logical), res, resources.line_of(logical)))
        seen: set[str] = set()
        for t in out:
            if t.name is not None and t.name in seen:
                raise self.r.fail(t.line, f"table name `{t.name}` is defined twice")
            seen.add(t.name or "")
        return out

    def _resource_maps(self, doc: YamlMap) -> list[YamlMap]:
        """``Resources`` of a CloudFormation template, or of Serverless's ``resources``
        (a mapping, or a list of them)."""
        found: list[YamlMap] = []
        if isinstance(doc.get("Resources"), YamlMap):
            found.append(doc["Resources"])  # type: ignore[arg-type]
        block = doc.get("resources")
        for part in block if isinstance(block, list) else [block]:
            if isinstance(part, YamlMap) and isinstance(part.get("Resources"), YamlMap):
                found.append(part["Resources"])  # type: ignore[arg-type]
            elif isinstance(part, str):
                raise self.r.fail(doc.line_of("resources"), f"resources `{part}` cannot be "
                                  "followed by the bot: point DDB_BOT_SCHEMA_FILE at the file "
                                  "that defines the tables")
        if not found:
            raise SchemaFileError(f"{self.r.source}: no `resources: Resources:` (Serverless) "
                                  "or `Resources:` (CloudFormation) in the file")
        return found

    def table(self, logical: str, res: YamlMap, line: int) -> FileTable:
        props = res.get("Properties")
        if not isinstance(props, YamlMap):
            raise self.r.fail(line, f"table `{logical}` has no Properties")
        field = f"`{logical}`"
        name = None
        if "TableName" in props:
            name = self.r.text(props["TableName"], props.line_of("TableName"),
                               f"{field} TableName")
        if "KeySchema" not in props:
            raise self.r.fail(line, f"table {field} has no KeySchema")
        keys = self.keys(props["KeySchema"], props.line_of("KeySchema"), f"{field} KeySchema")
        types = self.attribute_types(props, field)
        indexes = tuple(self.indexes(props, field))
        for owner, ks in [(field, keys), *((f"GSI `{i.name}`", i.keys) for i in indexes)]:
            for attr in ks.names:
                if attr not in types:
                    raise self.r.fail(props.line_of("AttributeDefinitions"),
                                      f"{field}: key attribute `{attr}` of {owner} has no "
                                      "AttributeDefinitions entry")
        ttl = self.mapping(props, "TimeToLiveSpecification", field)
        ttl_attr = None
        if ttl is not None and self.flag(ttl, "Enabled", field, default=False):
            ttl_attr = self.word(ttl, "AttributeName", field)
        stream = self.mapping(props, "StreamSpecification", field)
        pitr = self.mapping(props, "PointInTimeRecoverySpecification", field)
        return FileTable(
            logical_id=logical, line=line, name=name, keys=keys,
            key_types={a: t for a, t in types.items() if a in _key_attrs(keys, indexes)},
            indexes=indexes, ttl_attribute=ttl_attr,
            stream_view=self.choice(stream, "StreamViewType", _STREAM_VIEWS, field)
            if stream is not None else None,
            pitr=self.flag(pitr, "PointInTimeRecoveryEnabled", field, default=False)
            if pitr is not None else False,
            deletion_protection=self.flag(props, "DeletionProtectionEnabled", field,
                                          default=False),
            billing_mode=self.choice(props, "BillingMode", _BILLING, field)
            if "BillingMode" in props else "PROVISIONED",
        )

    # -- parts ---------------------------------------------------------------------------------
    def keys(self, value: object, line: int, field: str) -> KeySchema:
        if not isinstance(value, list) or not 1 <= len(value) <= 2:
            raise self.r.fail(line, f"{field} must list one HASH and at most one RANGE key")
        by_type: dict[str, str] = {}
        for entry in value:
            if not isinstance(entry, YamlMap):
                raise self.r.fail(line, f"{field} entries need AttributeName and KeyType")
            kind = self.choice(entry, "KeyType", ("HASH", "RANGE"), field)
            if kind in by_type:
                raise self.r.fail(entry.line, f"{field} has two {kind} keys")
            by_type[kind] = self.word(entry, "AttributeName", field)
        if "HASH" not in by_type:
            raise self.r.fail(line, f"{field} has no HASH key")
        return KeySchema(by_type["HASH"], by_type.get("RANGE"))

    def attribute_types(self, props: YamlMap, field: str) -> dict[str, AttrType]:
        defs = props.get("AttributeDefinitions")
        line = props.line_of("AttributeDefinitions")
        if not isinstance(defs, list):
            raise self.r.fail(line, f"{field} has no AttributeDefinitions list")
        out: dict[str, AttrType] = {}
        for entry in defs:
            if not isinstance(entry, YamlMap):
                raise self.r.fail(line, f"{field} AttributeDefinitions entries need "
                                        "AttributeName and AttributeType")
            kind = self.choice(entry, "AttributeType", tuple(_KEY_TYPES), field)
            out[self.word(entry, "AttributeName", field)] = _KEY_TYPES[kind]
        return out

    def indexes(self, props: YamlMap, field: str) -> list[Index]:
        gsis = props.get("GlobalSecondaryIndexes")
        if gsis is None:
            return []
        line = props.line_of("GlobalSecondaryIndexes")
        if not isinstance(gsis, list):
            raise self.r.fail(line, f"{field} GlobalSecondaryIndexes must be a list")
        out: list[Index] = []
        for g in gsis:
            if not isinstance(g, YamlMap):
                raise self.r.fail(line, f"{field} GlobalSecondaryIndexes entries are mappings")
            name = self.r.text(g.get("IndexName"), g.line_of("IndexName"), f"{field} IndexName") \
                if "IndexName" in g else None
            if not name:
                raise self.r.fail(g.line, f"{field}: a GSI has no IndexName")
            where = f"{field} GSI `{name}`"
            if "KeySchema" not in g:
                raise self.r.fail(g.line, f"{where} has no KeySchema")
            keys = self.keys(g["KeySchema"], g.line_of("KeySchema"), f"{where} KeySchema")
            proj = self.mapping(g, "Projection", where)
            if proj is None:
                raise self.r.fail(g.line, f"{where} has no Projection")
            kind = self.choice(proj, "ProjectionType", _PROJECTIONS, where) \
                if "ProjectionType" in proj else "INCLUDE" if "NonKeyAttributes" in proj \
                else "KEYS_ONLY"  # CloudFormation's default
            non_key = proj.get("NonKeyAttributes") or []
            if not isinstance(non_key, list):
                raise self.r.fail(proj.line, f"{where} NonKeyAttributes must be a list")
            out.append(Index(name, keys, kind, tuple(
                self.r.text(a, proj.line_of("NonKeyAttributes"), where) for a in non_key)))
        return out

    def mapping(self, parent: YamlMap, key: str, field: str) -> YamlMap | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, YamlMap):
            raise self.r.fail(parent.line_of(key), f"{field} {key} must be a mapping")
        return value

    def word(self, parent: YamlMap, key: str, field: str) -> str:
        if key not in parent:
            raise self.r.fail(parent.line, f"{field}: missing {key}")
        value = self.r.text(parent[key], parent.line_of(key), f"{field} {key}").strip()
        if not value:
            raise self.r.fail(parent.line_of(key), f"{field} {key} is empty")
        return value

    def choice(self, parent: YamlMap, key: str, allowed: tuple[str, ...], field: str) -> str:
        value = self.word(parent, key, field)
        if value not in allowed:
            raise self.r.fail(parent.line_of(key), f"{field} {key} `{value}` is not one of "
                                                   f"{', '.join(allowed)}")
        return value

    def flag(self, parent: YamlMap, key: str, field: str, *, default: bool) -> bool:
        if key not in parent:
            return default
        value = self.r.text(parent[key], parent.line_of(key), f"{field} {key}").lower()
        if value not in ("true", "false"):
            raise self.r.fail(parent.line_of(key), f"{field} {key} must be true or false, "
                                                   f"not `{value}`")
        return value == "true"


def _key_attrs(keys: KeySchema, indexes: Sequence[Index]) -> set[str]:
    return {*keys.names, *(n for i in indexes for n in i.keys.names)}
