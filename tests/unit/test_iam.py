"""The shipped IAM policies grant exactly the DynamoDB actions the code calls.

The actions are derived from the source at test time (``ast``): every call of a DynamoDB
client method (``.get_item(`` ...), every operation name handed to the store's getattr
dispatch (``self._call("describe_table")``, ``self._paginate("scan")``), paginators and
waiters. ``transact_write_items`` needs the item actions of its parts (``Put`` /
``Update`` / ``Delete`` / ``ConditionCheck`` found in the same module). Code added later
(the digest, locks) is therefore checked without editing this test.

- ``iam/ddb-bot-policy.json``: the running bot (every module but the two below).
- ``iam/ddb-bot-init-policy.json``: ``python -m bot init`` (``ensure_state_table``): the
  state table created protected (PITR, deletion protection, TTL), and nothing else.
- local only, granted by neither: ``init --all`` (``ensure_platform_tables``), demo
  seeding (``dynamo/demo.py``) and starting DynamoDB Local (``dynamo/local_engine.py``),
  which are for local endpoints and benchmarks.

A behavioural check then runs real workflows against moto, records every call with its
table, and evaluates each against the runtime policy's resources and conditions.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from dynamo.schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_POLICY = ROOT / "iam" / "ddb-bot-policy.json"
INIT_POLICY = ROOT / "iam" / "ddb-bot-init-policy.json"
INIT_MODULE = "dynamo/tables.py"
INIT_ENTRY = "ensure_state_table"  # what `python -m bot init` runs; --all adds the rest
# demo data seeding, DynamoDB Local's readiness probe: local endpoints, benchmarks
LOCAL_MODULES = {"dynamo/demo.py", "dynamo/local_engine.py"}
PLACEHOLDERS = {"${AWS_REGION}": "us-west-2", "${ACCOUNT_ID}": "570331155915", "${STAGE}": "dev"}
STATE_TABLE = "mfh-dev-ddb-bot"
TRANSACT_PARTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem"}
# never granted, whatever the code says (init alone may turn PITR on, for the state table)
FORBIDDEN = {"dynamodb:DeleteTable", "dynamodb:DeleteBackup", "dynamodb:RestoreTableFromBackup",
             "dynamodb:UpdateContinuousBackups", "dynamodb:DeleteResourcePolicy",
             "dynamodb:PutResourcePolicy"}
INIT_ONLY = {"dynamodb:UpdateContinuousBackups"}


# -- deriving actions from the code -------------------------------------------------------
@cache
def _operations() -> dict[str, str]:
    """snake_case client method → DynamoDB API operation, from botocore's own model."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    return {xform_name(op): op for op in model.operation_names}


@cache
def _waiters() -> dict[str, str]:
    waiters = botocore.session.get_session().get_waiter_model("dynamodb")
    return {xform_name(name): waiters.get_waiter(name).operation for name in waiters.waiter_names}


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _ops_in(node: ast.AST) -> set[str]:
    """DynamoDB operations called anywhere under ``node``."""
    ops, found = _operations(), set()
    for n in ast.walk(node):
        if not isinstance(n, ast.Call):
            continue
        f = n.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if isinstance(f, ast.Attribute) and f.attr in ops:
            found.add(ops[f.attr])
        first = _const(n.args[0]) if n.args else None
        if name in ("_call", "_paginate", "get_paginator") and first in ops:
            found.add(ops[first])
        if name == "getattr" and len(n.args) > 1 and _const(n.args[1]) in ops:
            found.add(ops[_const(n.args[1])])  # type: ignore[index]
        if name == "get_waiter" and first in _waiters():
            found.add(_waiters()[first])
    return found


def _actions(ops: set[str], module: ast.Module) -> set[str]:
    """IAM actions for API operations; a transaction needs the actions of its parts."""
    out = set()
    for op in ops:
        if op == "TransactWriteItems":
            parts = {_const(n) for n in ast.walk(module)} & set(TRANSACT_PARTS)
            assert parts, "transact_write_items without Put/Update/Delete/ConditionCheck parts"
            out |= {f"dynamodb:{TRANSACT_PARTS[p]}" for p in parts}  # type: ignore[index]
        elif op == "TransactGetItems":
            out.add("dynamodb:GetItem")
        else:
            out.add(f"dynamodb:{op}")
    return out


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for pkg in ("bot", "commands", "dynamo"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _function_closure(module: ast.Module, entry: str) -> set[str]:
    """Operations of a module-level function and of the same-module functions it calls."""
    funcs = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
    seen, todo, ops = set(), [entry], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in funcs:
            continue
        seen.add(name)
        ops |= _ops_in(funcs[name])
        todo += [n.func.id for n in ast.walk(funcs[name])
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return ops


@cache
def derived() -> dict[str, set[str]]:
    """IAM actions by use: runtime, init, local (and which module needs each)."""
    runtime: set[str] = set()
    local: set[str] = set()
    init: set[str] = set()
    for rel, module in _modules():
        actions = _actions(_ops_in(module), module)
        if rel == INIT_MODULE:
            init = _actions(_function_closure(module, INIT_ENTRY), module)
            local |= actions - init
        elif rel in LOCAL_MODULES:
            local |= actions
        else:
            runtime |= actions
    return {"runtime": runtime, "init": init, "local": local - runtime - init}


# -- the policies -----------------------------------------------------------------------------
def _policy(path: Path) -> dict[str, Any]:
    text = path.read_text()
    for k, v in PLACEHOLDERS.items():
        text = text.replace(k, v)
    assert "${" not in text, f"{path.name}: unknown placeholder"
    return json.loads(text)


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _allowed(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _list(s["Action"])}


def _arn(name: str) -> str:
    return f"arn:aws:dynamodb:us-west-2:570331155915:table/{name}"


def test_runtime_policy_grants_exactly_what_the_code_calls() -> None:
    need = derived()["runtime"]
    granted = _allowed(_policy(RUNTIME_POLICY))
    assert need, "derivation found no DynamoDB calls"
    assert not need - granted, f"the code calls actions the policy lacks: {sorted(need - granted)}"
    assert not granted - need, f"the policy grants unused actions: {sorted(granted - need)}"


def test_init_policy_grants_exactly_what_init_calls() -> None:
    need = derived()["init"]
    assert {"dynamodb:CreateTable", "dynamodb:DescribeTable"} <= need  # waiter → DescribeTable
    # the state table is created protected: PITR turned on, TTL checked and turned on;
    # deletion protection is a CreateTable parameter, so no UpdateTable
    assert {"dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateTimeToLive"} <= need
    assert "dynamodb:UpdateTable" not in need
    assert _allowed(_policy(INIT_POLICY)) == need
    for s in _policy(INIT_POLICY)["Statement"]:
        assert _list(s["Resource"]) == [_arn(STATE_TABLE)]  # init creates only the state table


def test_init_creates_the_state_table_with_deletion_protection() -> None:
    from dynamo.tables import state_table_params

    params = state_table_params(STATE_TABLE)
    assert params["DeletionProtectionEnabled"] is True
    assert params["TableName"] == STATE_TABLE


def test_local_only_actions_are_in_no_policy() -> None:
    local = derived()["local"]
    assert "dynamodb:BatchWriteItem" in local  # demo seeding
    assert not local & (_allowed(_policy(RUNTIME_POLICY)) | _allowed(_policy(INIT_POLICY)))


def test_no_wildcards_and_never_table_deletion() -> None:
    runtime = _policy(RUNTIME_POLICY)
    for policy, forbidden in ((runtime, FORBIDDEN), (_policy(INIT_POLICY), FORBIDDEN - INIT_ONLY)):
        for s in policy["Statement"]:
            for action in _list(s["Action"]):
                assert action.startswith("dynamodb:") and "*" not in action
            if s["Effect"] == "Allow":
                assert not set(_list(s["Action"])) & forbidden
                if _list(s["Resource"]) == ["*"]:
                    assert _list(s["Action"]) == ["dynamodb:ListTables"]  # no resource-level form
    denies = [s for s in runtime["Statement"] if s["Effect"] == "Deny"]
    assert any("dynamodb:DeleteTable" in _list(s["Action"]) for s in denies)


def test_resources_are_the_declared_tables_and_the_state_table() -> None:
    platform = {_arn(t.full_name("dev")) for t in TABLES}
    state = _arn(STATE_TABLE)
    for s in _policy(RUNTIME_POLICY)["Statement"]:
        if s["Effect"] != "Allow" or _list(s["Resource"]) == ["*"]:
            continue
        tables = {r.split("/index/")[0] for r in _list(s["Resource"])}
        assert tables == {state} or tables == platform, s["Sid"]


# -- behaviour: every call real workflows make is allowed, on its table ------------------------
def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _permits(policy: dict[str, Any], action: str, resource: str, enclosing: str | None) -> bool:
    """A small IAM evaluator: explicit deny wins, else some allow must match."""
    allowed = False
    for s in policy["Statement"]:
        if not any(_matches(a, action) for a in _list(s["Action"])):
            continue
        if not any(_matches(r, resource) for r in _list(s["Resource"])):
            continue
        cond = s.get("Condition", {}).get("ForAnyValue:StringEquals", {})
        if "dynamodb:EnclosingOperation" in cond and enclosing not in cond["dynamodb:EnclosingOperation"]:
            continue
        if s["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _requirements(op: str, params: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(action, resource ARN, enclosing operation) that one API call needs."""
    if op == "TransactWriteItems":
        for item in params["TransactItems"]:
            (kind, part), = item.items()
            yield f"dynamodb:{TRANSACT_PARTS[kind]}", _arn(part["TableName"]), op
        return
    if op in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield f"dynamodb:{op}", _arn(table), None
        return
    if op == "ListTables":
        yield "dynamodb:ListTables", "*", None
        return
    resource = _arn(params["TableName"])
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    yield f"dynamodb:{op}", resource, None


@pytest.fixture
def recorded(services: Any) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    services.client.meta.events.register("before-parameter-build.dynamodb", record)
    return calls


def test_every_call_of_real_workflows_is_allowed(services: Any, seeded: Any,
                                                 recorded: list[tuple[str, dict[str, Any]]]) -> None:
    from commands import dispatch
    from commands.results import RequestResult

    alice, bob = services.context("U_ALICE", "C_OPS"), services.context("U_BOB", "C_OPS")
    reads = ["tables", "describe users", "count users", "count executions --exact",
             f"user {seeded.DEMO_EMAIL}", f"get users {seeded.DEMO_USER_ID}",
             f"executions {seeded.DEMO_ACCOUNT_ID} --status failed", "scan helpers --limit 3",
             f"auth {seeded.DEMO_CONNECTION_ID}", "pending", "history", "digest",
             "aws dynamodb scan --table-name mfh-dev-platforms --max-items 2",
             "aws dynamodb describe-table --table-name mfh-dev-users"]
    for text in reads:
        dispatch(text, alice)
    writes = [f"update users {seeded.DEMO_USER_ID} set name=Ada2",
              "put platforms {\"platform_id\":\"p-iam\",\"slug\":\"iam-test\",\"name\":\"IAM\"}",
              "gsi create oauth-states ByProvider provider:S"]
    for text in writes:
        result = dispatch(text, alice)
        assert isinstance(result, RequestResult), getattr(result, "message", result)
        dispatch(f"approve {result.id}", bob)
    # undo of a delete with secrets: the kept image is put, then read and deleted
    deleted = dispatch("delete platform-connection-auths auth-0001", alice)
    assert dispatch(f"approve {deleted.id}", bob).status == "EXECUTED"
    undo = dispatch(f"undo {deleted.id}", alice)
    assert dispatch(f"approve {undo.id}", bob).status == "EXECUTED"
    rejected = dispatch(f"delete users {seeded.DEMO_USER_ID}", alice)
    assert isinstance(rejected, RequestResult)
    dispatch(f"reject {rejected.id} not today", bob)
    services.requests.expire_due()
    services.pages.load(services.pages.save("U_ALICE", "x" * 3000))  # stored, not inline
    if importlib.util.find_spec("dynamo.locks"):  # the scheduled digest's window lock
        from dynamo.locks import WindowLocks

        locks = WindowLocks(services.store, services.settings.state_table)
        lock = locks.acquire("2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z")
        assert lock is not None
        locks.mark_posted(lock, "C_DIGEST", "1.0", {"failed": 0})
        locks.latest_end("2026-01-03T00:00:00Z")

    policy = _policy(RUNTIME_POLICY)
    ops = {op for op, _ in recorded}
    assert {"TransactWriteItems", "UpdateTable", "Query", "Scan", "GetItem", "PutItem"} <= ops
    denied = sorted({need for op, params in recorded for need in _requirements(op, params)
                     if not _permits(policy, *need)})
    assert not denied, f"calls the runtime policy would deny: {denied}"
    # and the policy really is scoped: a platform item write outside a transaction is denied
    assert not _permits(policy, "dynamodb:PutItem", _arn("mfh-dev-users"), None)
    assert not _permits(policy, "dynamodb:UpdateTable", _arn(STATE_TABLE), None)
    # the state table's items are deleted only in a transaction (the undo's kept image)
    assert not _permits(policy, "dynamodb:DeleteItem", _arn(STATE_TABLE), None)
    assert not _permits(policy, "dynamodb:Scan", _arn("mfh-prod-users"), None)
