"""The command ports: the bot's real parts fit them, dispatch enforces a command's group,
and every user-facing error shares one base."""

from __future__ import annotations

from typing import Any

import pytest

from commands.ports import AccessPolicy, AuditLog, CommandServices, CommandSettings, WriteRequests
from commands.registry import REGISTRY, CommandError, Context, command, dispatch
from commands.results import ErrorResult, Result, TextResult
from dynamo.errors import DdbBotError
from dynamo.schema import SchemaError
from dynamo.store import StoreError
from dynamo.values import ValueTypeError


def test_the_bots_services_satisfy_the_command_ports(services: Any) -> None:
    assert isinstance(services, CommandServices)
    assert isinstance(services.access, AccessPolicy)
    assert isinstance(services.requests, WriteRequests)
    assert isinstance(services.requests.audit, AuditLog)
    assert isinstance(services.settings, CommandSettings)
    ctx = services.context("U_A", "C_OPS")
    assert ctx.services is services and ctx.access is services.access


class _Deny:
    """An access policy that lets only readers in (writes are denied)."""

    def denial(self, group: str, user: str, channel: str | None) -> str | None:
        return "no writes for you" if group == "write" else None

    def shown(self, name: str, group: str, user: str, channel: str | None) -> bool:
        return group != "write"

    def is_reader(self, user: str) -> bool:
        return True

    def is_approver(self, user: str) -> bool:
        return False

    def may_approve_some(self, user: str) -> bool:
        return False


class _Services:
    requests: Any = None
    access = _Deny()


@pytest.fixture
def probe() -> Any:
    """A registered write command that records whether its handler ran."""
    ran: list[str] = []

    @command("zz-probe", "/ddb zz-probe", group="write")
    def probe_cmd(args: list[str], ctx: Context) -> Result:
        ran.append(ctx.user_id)
        return TextResult(title="probe")

    yield ran
    del REGISTRY["zz-probe"]


def test_dispatch_enforces_the_declared_group_before_the_handler(store: Any, probe: Any) -> None:
    denied = dispatch("/ddb zz-probe", Context(store=store, services=_Services()))
    assert isinstance(denied, ErrorResult) and denied.message == "no writes for you"
    assert probe == []
    # no access policy (a bare store): everyone may run it
    assert dispatch("/ddb zz-probe", Context(store=store, user_id="U_X")).ok
    assert probe == ["U_X"]


@pytest.mark.parametrize("error", [CommandError, SchemaError, ValueTypeError, StoreError])
def test_user_facing_errors_share_one_base(error: type[Exception]) -> None:
    assert issubclass(error, DdbBotError)


def test_store_errors_carry_the_dynamodb_code() -> None:
    exc = StoreError("DynamoDB put_item failed", "ConditionalCheckFailedException")
    assert exc.code == "ConditionalCheckFailedException" and str(exc).startswith("DynamoDB")
