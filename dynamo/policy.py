"""Per-table approval policy: how many distinct approvers a change needs, and who they are.

Read once at start from the YAML file named by ``DDB_BOT_POLICY_FILE``::

    default: {approvals: 1}
    tables:
      users:    {delete: {approvals: 2}}
      api-keys: {"*": {approvals: 2, approvers: [S0SECURITY]}}
    break_glass: [U0ONCALL, S0ONCALL]

A rule is looked up most specific first: the table's kind, the table's ``*``, the
``default``, then one approval by ``DDB_BOT_APPROVERS``. The rule is resolved when a
request is created and stored on it, so the request message can say what it needs and
a policy change never moves the goal posts of a request already waiting.

``break_glass`` lists the user and user-group ids who may add ``--break-glass "<reason>"``
to an update, delete or put: it runs at once and is reviewed afterwards
(``dynamo.requests.break_glass``). Absent or empty: nobody may.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dynamo.errors import DdbBotError
from dynamo.schema import BY_SHORT

KINDS = ("update", "delete", "put", "gsi-create", "gsi-delete", "*")
KindName = Literal["update", "delete", "put", "gsi-create", "gsi-delete", "*"]
MAX_APPROVALS = 5
_SLACK_ID = re.compile(r"[A-Z][A-Z0-9_]{2,}")


class PolicyError(DdbBotError, ValueError):
    """A policy file that must not be served; the message is one line naming the place."""


def _slack_id(v: str) -> str:
    if not _SLACK_ID.fullmatch(v):
        raise ValueError(f"`{v}` is not a Slack user or user-group id (like U123ABC or S0G1)")
    return v


SlackId = Annotated[str, AfterValidator(_slack_id)]


class Rule(BaseModel):
    """What one kind of change on one table needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approvals: int = Field(1, ge=1, le=MAX_APPROVALS)
    # user or user-group ids; None: DDB_BOT_APPROVERS (empty there: anyone but the requester)
    approvers: tuple[SlackId, ...] | None = None


class PolicyFile(BaseModel):
    """The file's shape; unknown keys, tables and kinds are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Rule | None = None
    tables: dict[str, dict[KindName, Rule]] = Field(default_factory=dict)
    break_glass: tuple[SlackId, ...] = ()

    @field_validator("tables", mode="before")
    @classmethod
    def _known_tables(cls, v: object) -> object:
        if isinstance(v, dict):
            for name in v:
                if name not in BY_SHORT:
                    raise ValueError(f"unknown table `{name}` (tables: {', '.join(sorted(BY_SHORT))})")
        return v


class Policy:
    """Resolves the rule for a (table, kind) pair."""

    def __init__(self, spec: PolicyFile | None = None) -> None:
        self.spec = spec or PolicyFile()

    @property
    def break_glass(self) -> tuple[str, ...]:
        return self.spec.break_glass

    def rule(self, table: str, kind: str) -> Rule:
        """The most specific rule for ``kind`` on the short-named ``table``."""
        per_table = self.spec.tables.get(table, {})
        return (per_table.get(kind)  # type: ignore[call-overload]
                or per_table.get("*") or self.spec.default or Rule())

    def approver_lists(self) -> list[tuple[str, ...]]:
        """Every approver list the policy names (for "may this person approve anything")."""
        rules = [r for t in self.spec.tables.values() for r in t.values()]
        if self.spec.default:
            rules.append(self.spec.default)
        return [r.approvers for r in rules if r.approvers]


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Parse and validate YAML text; a bad file raises ``PolicyError`` naming the place."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{source}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: must be a mapping with `default`, `tables`, `break_glass`")
    try:
        return Policy(PolicyFile.model_validate(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        place = ".".join(str(p) for p in err["loc"] if p != "[key]") or "(top)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "literal_error":
            msg = f"unknown kind (kinds: {', '.join(KINDS)})"
        elif err["type"] in ("greater_than_equal", "less_than_equal"):
            msg = f"must be between 1 and {MAX_APPROVALS}"
        raise PolicyError(f"{source}: {place}: {msg}") from None


def load_policy(path: str | Path | None) -> Policy:
    """The policy in ``path``; no path means the default (one approval, DDB_BOT_APPROVERS)."""
    if not path:
        return Policy()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: cannot be read ({exc.strerror})") from None
    return parse_policy(text, str(p))
