"""``/ddb help <name>`` agrees with the ``/ddb help`` list: a command hidden there (the
person may not run it) is not explained in full, and the answer names what grants it."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bot.console import Console
from commands import REGISTRY


def _help(services: Any, user: str, text: str) -> tuple[int, str]:
    out = io.StringIO()
    code = Console(services, user, out=out, err=out).one(text)
    return code, out.getvalue()


@pytest.fixture
def roles(make_services: Any, seeded: Any) -> Any:
    return make_services(ddb_bot_readers=["U_READER"], ddb_bot_requesters=["U_REQ"],
                         ddb_bot_approvers=["U_APPR"])


@pytest.mark.parametrize(("user", "name", "grants"), [
    ("U_READER", "update", "DDB_BOT_REQUESTERS"),
    ("U_READER", "approve", "DDB_BOT_APPROVERS, or an approver list of the approval policy "
                            "(DDB_BOT_POLICY_FILE)"),
    ("U_READER", "reject", "requesters (DDB_BOT_REQUESTERS) withdraw their own"),
    ("U_STRANGER", "get", "DDB_BOT_READERS"),  # help itself is refused first
])
def test_help_for_a_command_you_may_not_run_says_so_and_what_grants_it(
        roles: Any, user: str, name: str, grants: str) -> None:
    code, text = _help(roles, user, f"/ddb help {name}")
    assert code == 1
    assert grants in text
    if user == "U_READER":
        assert f"you may not run `/ddb {name}`" in text
        cmd = REGISTRY[name]
        assert cmd.summary not in text and cmd.usage not in text  # not the full help
        assert "/ddb help   (lists what you may run)" in text
    assert roles.requests.audit.recent(10) == []  # help never writes


def test_help_for_a_command_you_may_run_is_unchanged(roles: Any) -> None:
    code, text = _help(roles, "U_REQ", "/ddb help update")
    assert code == 0 and "may not run" not in text and "Examples" in text
    code, text = _help(roles, "U_READER", "/ddb help get")
    assert code == 0 and "may not run" not in text
    listed = _help(roles, "U_READER", "/ddb help")[1]
    assert "/ddb update" not in listed and "/ddb get" in listed  # the list agrees
