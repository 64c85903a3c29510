"""The one declared schema of the platform's ten ``mfh-{stage}-*`` tables.

Everything that needs to know a table's shape reads it from here: key parsing, value
typing, redaction, local table creation, demo data and ``describe``'s drift report.
Facts come from the platform's seed document (keys, GSIs, TTL, streams, PITR,
deletion protection); attribute types follow SPEC §6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dynamo.errors import DdbBotError
from dynamo.secret_names import is_secret_name


class AttrType(StrEnum):
    """DynamoDB attribute types the schema declares (scalar key types + documents)."""

    S = "S"
    N = "N"
    B = "B"
    BOOL = "BOOL"
    M = "M"
    L = "L"


@dataclass(frozen=True)
class KeySchema:
    hash_key: str
    range_key: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)


@dataclass(frozen=True)
class Index:
    name: str
    keys: KeySchema
    projection: str = "ALL"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    short: str
    keys: KeySchema
    attributes: dict[str, AttrType]
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream_view: str | None = None
    pitr: bool = False
    deletion_protection: bool = True
    secret: frozenset[str] = frozenset()
    pii: frozenset[str] = frozenset()
    # attributes shown first in a card / summary line after the key
    summary: tuple[str, ...] = ()
    description: str = ""
    # names users may type for an attribute that DynamoDB stores under another name
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def never_shown(self) -> frozenset[str]:
        """Attributes whose values are never shown nor written from chat: the secrets every
        table has (``SECRET_ATTRIBUTES``) and this table's own."""
        return SECRET_ATTRIBUTES | self.secret

    def is_secret(self, attr: str) -> bool:
        """Whether ``attr`` (an attribute or a map key at any depth) holds a secret: one the
        schema declares, or one whose name says so (``dynamo.secret_names``)."""
        return attr in self.never_shown or is_secret_name(attr)

    def holds_secret(self, attr: str, value: object) -> bool:
        """Whether attribute ``attr`` with ``value`` holds a secret: it is one, or a map in
        it has a key that is (``config`` = ``{"password": …}``)."""
        return self.is_secret(attr) or secret_inside(value) is not None

    def full_name(self, stage: str) -> str:
        return f"mfh-{stage}-{self.short}"

    def index(self, name: str) -> Index:
        for idx in self.indexes:
            if idx.name.lower() == name.lower():
                return idx
        known = ", ".join(i.name for i in self.indexes) or "none"
        raise UnknownIndexError(f"table `{self.short}` has no index `{name}` (indexes: {known})")

    def key_names_for(self, index: str | None) -> tuple[str, ...]:
        """Attributes that identify an item's position in the table or index (for paging)."""
        names = list(self.keys.names)
        if index:
            for n in self.index(index).keys.names:
                if n not in names:
                    names.append(n)
        return tuple(names)

    def type_of(self, attr: str) -> AttrType | None:
        return self.attributes.get(self.canonical(attr).split(".")[0])

    def canonical(self, attr: str) -> str:
        return self.aliases.get(attr, attr)

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self.attributes


class SchemaError(DdbBotError, ValueError):
    """A name that the declared schema does not know."""


class UnknownTableError(SchemaError):
    pass


class UnknownIndexError(SchemaError):
    pass


S, N, BOOL, M, L = AttrType.S, AttrType.N, AttrType.BOOL, AttrType.M, AttrType.L

# Attributes that are always secret wherever they appear (SPEC §5).
SECRET_ATTRIBUTES = frozenset({"access_token", "refresh_token", "api_key", "api_secret"})


def is_secret(attr: str, table: Table | None = None) -> bool:
    """``Table.is_secret`` for a name seen outside any one table (nested, or no table)."""
    return table.is_secret(attr) if table is not None else \
        attr in SECRET_ATTRIBUTES or is_secret_name(attr)


def secret_inside(value: object, path: str = "") -> str | None:
    """The path of the first map key in ``value``, at any depth, that names a secret."""
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if is_secret(str(k)):
                return here
            found = secret_inside(v, here)
            if found:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            found = secret_inside(v, path)
            if found:
                return found
    return None


# Shown as a short prefix only.
PREFIX_ONLY_ATTRIBUTES = frozenset({"key_hash"})


def _attrs(spec: str, **typed: AttrType) -> dict[str, AttrType]:
    """String attributes from a whitespace list, plus explicitly typed ones."""
    out = {name: S for name in spec.split()}
    out.update(typed)
    return out


TABLES: tuple[Table, ...] = (
    Table(
        short="users",
        keys=KeySchema("user_id"),
        indexes=(
            Index("EmailIndex", KeySchema("email")),
            Index("CognitoUserIdIndex", KeySchema("cognito_user_id")),
        ),
        stream_view="NEW_AND_OLD_IMAGES",
        pitr=True,
        attributes=_attrs(
            "user_id cognito_user_id email name phone_number company status "
            "current_account_id created_at updated_at last_login_at"
        ),
        pii=frozenset({"email", "name", "phone_number"}),
        summary=("email", "name", "status", "current_account_id"),
        description="Platform users; user_id is `user:{cognito-sub}`",
    ),
    Table(
        short="accounts",
        keys=KeySchema("account_id"),
        indexes=(Index("OwnerUserIdIndex", KeySchema("owner_user_id")),),
        stream_view="NEW_AND_OLD_IMAGES",
        pitr=True,
        attributes=_attrs(
            "account_id owner_user_id created_by_user_id name company plan status "
            "stripe_customer_id created_at updated_at",
            settings=M,
            usage=M,
        ),
        summary=("name", "plan", "status", "owner_user_id"),
        description="Customer accounts with plan, settings and usage",
    ),
    Table(
        short="user-accounts",
        keys=KeySchema("user_id", "account_id"),
        indexes=(Index("AccountIdIndex", KeySchema("account_id")),),
        pitr=True,
        attributes=_attrs("user_id account_id role status linked_at updated_at", permissions=M),
        summary=("role", "status", "linked_at"),
        description="Membership of users in accounts (role, permissions)",
    ),
    Table(
        short="api-keys",
        keys=KeySchema("key_id"),
        indexes=(
            Index("AccountIdIndex", KeySchema("account_id")),
            Index("KeyHashIndex", KeySchema("key_hash")),
        ),
        attributes=_attrs(
            "key_id account_id created_by name key_hash key_prefix status last_used_at "
            "created_at expires_at",
            permissions=M,
        ),
        summary=("name", "account_id", "key_prefix", "status"),
        description="API keys (only the hash is stored)",
    ),
    Table(
        short="connections",
        keys=KeySchema("connection_id"),
        indexes=(Index("AccountIdIndex", KeySchema("account_id")),),
        attributes=_attrs(
            "connection_id account_id user_id platform_id name status auth_type auth_id "
            "external_user_id external_app_id last_connected created_at updated_at "
            "last_synced_at sync_status",
            sync_record_counts=M,
        ),
        summary=("name", "platform_id", "status", "account_id"),
        description="Connections of accounts to CRM platforms",
    ),
    Table(
        short="helpers",
        keys=KeySchema("helper_id"),
        indexes=(Index("AccountIdIndex", KeySchema("account_id")),),
        attributes=_attrs(
            "helper_id account_id created_by connection_id name description helper_type "
            "category status last_executed_at created_at updated_at",
            config=M,
            config_schema=M,
            enabled=BOOL,
            execution_count=N,
        ),
        summary=("name", "helper_type", "status", "account_id"),
        description="Automation helpers configured by accounts",
    ),
    Table(
        short="executions",
        keys=KeySchema("execution_id"),
        indexes=(
            Index("AccountIdCreatedAtIndex", KeySchema("account_id", "created_at")),
            Index("HelperIdCreatedAtIndex", KeySchema("helper_id", "created_at")),
        ),
        ttl_attribute="ttl",
        attributes=_attrs(
            "execution_id helper_id account_id user_id api_key_id connection_id contact_id "
            "status trigger_type error_message created_at started_at completed_at",
            input=M,
            output=M,
            duration_ms=N,
            ttl=N,
        ),
        summary=("status", "helper_id", "created_at", "error_message"),
        description="Helper executions; expire through TTL on `ttl`",
    ),
    Table(
        short="platforms",
        keys=KeySchema("platform_id"),
        indexes=(Index("SlugIndex", KeySchema("slug")),),
        attributes=_attrs(
            "platform_id name slug category description status logo_url documentation_url "
            "created_at updated_at",
            version=N,
            oauth=M,
            api_config=M,
            test_endpoints=M,
            capabilities=L,
        ),
        summary=("name", "slug", "category", "status"),
        description="CRM platforms the helpers connect to",
    ),
    Table(
        short="platform-connection-auths",
        keys=KeySchema("auth_id"),
        indexes=(Index("ConnectionIdIndex", KeySchema("connection_id")),),
        attributes=_attrs(
            "auth_id connection_id account_id user_id platform_id auth_type status "
            "access_token refresh_token token_type expires_at api_key api_secret "
            "created_at updated_at last_used_at",
            version=N,
            refresh_attempts=N,
        ),
        secret=SECRET_ATTRIBUTES,
        summary=("connection_id", "auth_type", "status", "expires_at"),
        description="Credentials of connections (secrets never shown)",
    ),
    Table(
        short="oauth-states",
        keys=KeySchema("state_id"),
        ttl_attribute="expires_at",
        deletion_protection=False,
        attributes=_attrs(
            "state_id user_id account_id platform_id redirect_uri created_at",
            metadata=M,
            expires_at=N,
        ),
        summary=("user_id", "platform_id", "created_at"),
        description="Short-lived OAuth states (`state` in the Go type); TTL on `expires_at`",
        aliases={"state": "state_id"},
    ),
)

BY_SHORT: dict[str, Table] = {t.short: t for t in TABLES}


def resolve_table(name: str, stage: str) -> tuple[Table, str]:
    """Map a short or full table name to its declared schema and full name.

    Full names must carry the configured ``mfh-{stage}-`` prefix: a table of another
    stage or outside the platform is refused, never silently mapped.
    """
    prefix = f"mfh-{stage}-"
    raw = name.strip()
    if raw in BY_SHORT:
        table = BY_SHORT[raw]
        return table, table.full_name(stage)
    if raw.startswith(prefix) and raw[len(prefix) :] in BY_SHORT:
        table = BY_SHORT[raw[len(prefix) :]]
        return table, raw
    if raw.startswith("mfh-") or not raw:
        raise UnknownTableError(
            f"table `{raw}` is outside this bot's `{prefix}*` tables (stage `{stage}`)"
        )
    raise UnknownTableError(
        f"unknown table `{raw}`; tables: {', '.join(t.short for t in TABLES)}"
    )


def table_by_full_name(full: str, stage: str) -> Table:
    return resolve_table(full, stage)[0]


# The access patterns of the seed, one row each: (pattern, table, index, key condition).
# ``dynamo.patterns`` implements each; ``/ddb patterns`` prints this table.
ACCESS_PATTERNS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("Get user by ID", "users", None, "user_id = X", "/ddb user user:<sub>"),
    ("Find user by email", "users", "EmailIndex", "email = X", "/ddb user <email>"),
    ("Find user by Cognito sub", "users", "CognitoUserIdIndex", "cognito_user_id = X",
     "/ddb user <sub>"),
    ("List user's accounts", "user-accounts", None, "user_id = X", "/ddb user-accounts <user_id>"),
    ("List account members", "user-accounts", "AccountIdIndex", "account_id = X",
     "/ddb members <account_id>"),
    ("List account helpers", "helpers", "AccountIdIndex", "account_id = X",
     "/ddb helpers <account_id>"),
    ("List account connections", "connections", "AccountIdIndex", "account_id = X",
     "/ddb connections <account_id>"),
    ("List account executions (recent)", "executions", "AccountIdCreatedAtIndex",
     "account_id = X, created_at desc", "/ddb executions <account_id>"),
    ("List helper executions", "executions", "HelperIdCreatedAtIndex", "helper_id = X",
     "/ddb helper-executions <helper_id>"),
    ("Find platform by slug", "platforms", "SlugIndex", "slug = X", "/ddb platform <slug>"),
    ("Find auth by connection", "platform-connection-auths", "ConnectionIdIndex",
     "connection_id = X", "/ddb auth <connection_id>"),
    ("Look up API key by hash", "api-keys", "KeyHashIndex", "key_hash = X",
     "/ddb api-key <key_hash>"),
)
