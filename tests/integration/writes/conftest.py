"""The write tests' world: one small seeded moto world per module, restored per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from commands import dispatch
from dynamo import demo
from testkit import scan_all
from testkit.worlds import World, restorable_world, trimmed_demo
from tests.integration.writes.helpers import USER_ABC, Clock, get_item

# One small seeded world per module, restored before every test (see testkit.worlds).
KEEP = {"platforms": 5, "users": 2, "accounts": 1, "user-accounts": 2, "api-keys": 1,
        "connections": 2, "platform-connection-auths": 2, "helpers": 4, "executions": 3,
        "oauth-states": 1}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    data = trimmed_demo(KEEP)
    data["users"].append(dict(USER_ABC))  # the seed's example user
    assert any(demo.DEMO_SECRETS[3] in e.get("error_message", "") for e in data["executions"])
    with restorable_world(data) as w:
        yield w


@pytest.fixture
def ddb(world: World) -> Any:
    world.restore()
    return world.client


@pytest.fixture
def seeded(ddb: Any) -> Any:
    return demo


@pytest.fixture
def pristine(world: World, ddb: Any) -> Any:
    """``scan_all`` of the world every test starts from (computed once per module)."""
    if not world.cache:
        world.cache.append(scan_all(ddb))
    return world.cache[0]


@pytest.fixture
def user_abc(ddb: Any, seeded: Any) -> dict[str, Any]:
    """The seed's example user (its update-item/delete-item examples act on it)."""
    assert get_item(ddb, "users", {"user_id": "user:abc"}) == USER_ABC
    return dict(USER_ABC)


@pytest.fixture
def run(seeded: Any, as_user: Callable[..., Any]) -> Callable[..., Any]:
    """``run("U_A", "/ddb ...")`` through the dispatcher, as that user, in C_OPS."""

    def _run(user: str, text: str, channel: str = "C_OPS") -> Any:
        return dispatch(text, as_user(user, channel))

    return _run


@pytest.fixture
def clock(services: Any) -> Clock:
    c = Clock()
    services.requests.clock = c
    return c
