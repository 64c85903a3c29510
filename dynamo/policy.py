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

A change is judged by what it does, not by its name: a put that replaces an existing item
falls under the put, update *and* delete rules, an update that removes attributes under
the update and delete rules, and it needs the strictest of them (``Policy.strictest``).

The file cannot weaken itself silently: a key listed twice (YAML keeps the last one), a
count that is not a whole number (``true``, ``"2"``, ``2.0``), an empty approver list or
an unknown key stops start-up with the file, the line and the reason (``parse_policy``).

``break_glass`` lists the user and user-group ids who may add ``--break-glass "<reason>"``
to an update, delete or put: it runs at once and is reviewed afterwards
(``dynamo.requests.break_glass``). Absent or empty: nobody may.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from dynamo.errors import DdbBotError
from dynamo.schema import BY_SHORT

if TYPE_CHECKING:
    import yaml

KINDS = ("update", "delete", "put", "gsi-create", "gsi-delete", "*")
KindName = Literal["update", "delete", "put", "gsi-create", "gsi-delete", "*"]
MAX_APPROVALS = 5
_SLACK_ID = re.compile(r"[A-Z][A-Z0-9_]{2,}")
MAX_NODES = 10_000  # a policy file is a few dozen nodes; aliases must not multiply them


class PolicyError(DdbBotError, ValueError):
    """A policy file that must not be served; the message is one line naming the place."""


class NoCommonApprovers(DdbBotError, ValueError):
    """The rules a change falls under name approver lists with no id in common."""


def _slack_id(v: str) -> str:
    if not _SLACK_ID.fullmatch(v):
        raise ValueError(f"`{v}` is not a Slack user or user-group id (like U123ABC or S0G1)")
    return v


def _known_table(v: str) -> str:
    if v not in BY_SHORT:
        raise ValueError(f"unknown table `{v}` (tables: {', '.join(sorted(BY_SHORT))})")
    return v


SlackId = Annotated[StrictStr, AfterValidator(_slack_id)]
TableName = Annotated[StrictStr, AfterValidator(_known_table)]


class Rule(BaseModel):
    """What one kind of change on one table needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # strict: YAML's `true` is not 1, nor is "2" or 2.0 a count
    approvals: StrictInt = Field(1, ge=1, le=MAX_APPROVALS)
    # user or user-group ids; None: DDB_BOT_APPROVERS (empty there: anyone but the requester).
    # An empty list is refused: it would read as "anyone" while looking like "nobody".
    approvers: Annotated[tuple[SlackId, ...], Field(min_length=1)] | None = None


class PolicyFile(BaseModel):
    """The file's shape; unknown keys, tables and kinds are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Rule | None = None
    tables: dict[TableName, dict[KindName, Rule]] = Field(default_factory=dict)
    break_glass: tuple[SlackId, ...] = ()


@dataclass(frozen=True)
class Strictest:
    """The rule a change gets under several rules, and which of them made it stricter."""

    rule: Rule
    # the kinds whose rules set its count (where they differ) or name its approvers;
    # empty when the rule is the change's own kind's
    by: tuple[str, ...]


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

    def strictest(self, table: str, kinds: Sequence[str]) -> Strictest:
        """The strictest of the rules for ``kinds`` (the change's own kind first) on ``table``.

        Strictest means the rules are met at once: the most approvals any of them asks, by
        people every named approver list admits, i.e. the ids named in *each* list (a group
        id counts when every list names that group; no group is resolved here, so this is
        never wider than the true intersection). A rule without ``approvers`` adds no list
        of its own: where another rule names one, that list decides, as it does for its
        kind alone; where none does, ``DDB_BOT_APPROVERS``. Lists with no id in common:
        ``NoCommonApprovers``, since no one could approve under all of them.
        """
        rules = [(k, self.rule(table, k)) for k in kinds]
        own = rules[0][1]
        need = max(r.approvals for _, r in rules)
        named = [(k, r.approvers) for k, r in rules if r.approvers]
        approvers: tuple[str, ...] | None = None
        if named:
            approvers = tuple(a for a in named[0][1] if all(a in ids for _, ids in named[1:]))
            if not approvers:
                lists = "; ".join(f"{k}: {', '.join(ids)}" for k, ids in named)
                raise NoCommonApprovers(
                    f"the {and_list([k for k, _ in named])} rules of `{table}` name different "
                    f"approvers ({lists}) and no id is in all of them, so nobody could approve "
                    "this change")
        rule = Rule(approvals=need, approvers=approvers)
        if rule == own:
            return Strictest(rule, ())
        fewest = min(r.approvals for _, r in rules)
        return Strictest(rule, tuple(k for k, r in rules
                                     if (r.approvals == need > fewest) or r.approvers))

    def approver_lists(self) -> list[tuple[str, ...]]:
        """Every approver list the policy names (for "may this person approve anything")."""
        rules = [r for t in self.spec.tables.values() for r in t.values()]
        if self.spec.default:
            rules.append(self.spec.default)
        return [r.approvers for r in rules if r.approvers]


def and_list(words: Sequence[str]) -> str:
    """``put, update and delete``: kinds as a message names them."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# -- reading the file: YAML with its lines, duplicates refused ---------------------------------
KeyPath = tuple[str | int, ...]


class _Reader:
    """Builds plain data from YAML nodes, remembering each key's line and refusing what
    PyYAML's own constructor lets through silently: a key given twice (it keeps the last),
    merge keys (``<<``, which hide where a value came from) and recursive aliases."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader, self.source = loader, source
        self.lines: dict[KeyPath, int] = {}
        self.nodes = 0

    def fail(self, node: yaml.Node, reason: str) -> PolicyError:
        return PolicyError(f"{self.source}: line {node.start_mark.line + 1}: {reason}")

    def build(self, node: yaml.Node, path: KeyPath, open_: frozenset[int]) -> object:
        import yaml

        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES} values (aliases included); "
                                  "a policy file is a few dozen")
        if id(node) in open_:  # reported where the alias is used, not where it was defined
            line = self.lines.get(path, node.start_mark.line + 1)
            raise PolicyError(f"{self.source}: line {line}: {_place(path)}: an alias refers to "
                              "the value it is part of")
        inner = open_ | {id(node)}
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"`{node.tag}` is not supported here; write a plain mapping")
            out: dict[object, object] = {}
            first: dict[object, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, "merge keys (`<<`) are not supported; write the "
                                              "rule out in full")
                key = self.build(key_node, path, inner) if isinstance(
                    key_node, yaml.ScalarNode) else None
                if not isinstance(key, str | int | float | bool):
                    raise self.fail(key_node, "a key must be a plain name")
                line = key_node.start_mark.line + 1
                if key in first:
                    raise self.fail(key_node, f"{_place((*path, key))}: listed twice (first on "
                                              f"line {first[key]}); YAML would keep only the "
                                              "last one, so merge them into one entry")
                first[key] = line
                self.lines[(*path, key)] = line  # type: ignore[arg-type]
                out[key] = self.build(value_node, (*path, key), inner)  # type: ignore[arg-type]
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, f"`{node.tag}` is not supported here; write a plain list")
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, i), inner))
            return items
        return self.loader.construct_object(node)


def _read_yaml(text: str, source: str) -> tuple[object, dict[KeyPath, int]]:
    """The document's data and the line of every key and list item in it."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        reader = _Reader(loader, source)
        return reader.build(node, (), frozenset()), reader.lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise PolicyError(f"{source}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()


def _place(path: Sequence[object]) -> str:
    return ".".join(str(p) for p in path) or "(top)"


def _shown(value: object) -> str:
    """A wrong value as the file spells it (``true``, ``"2"``, ``2.0``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _reason(err: dict[str, object]) -> str:
    """One validation error as a person fixes it."""
    kind, msg = err["type"], str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"unknown kind (kinds: {', '.join(KINDS)})"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be between 1 and {MAX_APPROVALS}"
    if kind == "int_type":
        return f"must be a whole number between 1 and {MAX_APPROVALS}, not {_shown(err['input'])}"
    if kind == "too_short":
        return ("an empty approver list would admit anyone; name at least one user or group "
                "id, or leave `approvers` out to use DDB_BOT_APPROVERS")
    if kind == "string_type":
        return f"must be a name or id, not {_shown(err['input'])}"
    if kind == "dict_type":
        return "must be a mapping, like `users: {delete: {approvals: 2}}`"
    if kind == "model_type":
        return "must be a rule, like `{approvals: 2}` or `{approvals: 2, approvers: [S0TEAM]}`"
    if kind == "tuple_type":
        return "must be a list of user or user-group ids, like `[U123ABC, S0TEAM]`"
    return msg


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Parse and validate YAML text; a bad file raises ``PolicyError`` naming the line."""
    data, lines = _read_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: must be a mapping with `default`, `tables`, `break_glass`")
    try:
        return Policy(PolicyFile.model_validate(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        path = tuple(p for p in err["loc"] if p != "[key]")
        line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines),
                    None)
        where = f" line {line}:" if line is not None else ""
        raise PolicyError(f"{source}:{where} {_place(path)}: {_reason(dict(err))}") from None


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
