"""Seeded demo worlds, built once per test module and restored before each test.

Creating the eleven tables costs about a second under moto, and every scan pays moto's
slow response serializer per attribute value, so a module that writes seeds a trimmed
copy of the demo data once (``trimmed_demo``) and puts the tables back before every
test (``World.restore``). On moto that is a deep copy of moto's tables, as moto itself
does to roll back a failed transaction; on DynamoDB Local (``testkit.engine``) it is a
fresh database (a new access key) with the same tables and data, which also undoes what
a test changed in a table's definition (a GSI created). Each test starts from exactly
the same data.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from testkit import engine
from testkit.moto import REGION, STAGE

STATE = f"mfh-{STAGE}-ddb-bot"


@dataclass
class World:
    """The tables as seeded, a way back to them, and a per-module cache."""

    client: Any
    reset: Callable[[], Any]  # puts the seeded tables back; returns the client to use
    cache: list[Any] = field(default_factory=list)  # e.g. a scan of the seeded world

    def restore(self) -> None:
        """Put every table back as it was seeded (what a test wrote is gone)."""
        self.client = self.reset()


def trimmed_demo(keep: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The demo data (scale 1, deterministic) cut to ``keep[short]`` items per table."""
    from dynamo import demo

    return {short: items[:keep[short]] for short, items in demo.generate(1).items()}


@contextmanager
def restorable_world(data: dict[str, list[dict[str, Any]]]) -> Iterator[World]:
    """The declared tables and the state table holding ``data``, on the chosen engine."""
    if not engine.on_moto():
        with ExitStack() as stack:
            unused = [False]  # True while the last database built has served no test

            def fresh() -> Any:
                if unused[0]:
                    unused[0] = False
                    return world.client
                stack.close()  # the previous test's database and environment
                return stack.enter_context(engine.dynamodb(data=data, label="w"))

            world = World(fresh(), fresh)
            unused[0] = True
            yield world
        return
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    with engine.dynamodb(data=data) as client:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        seeded = copy.deepcopy(backend.tables)

        def put_back() -> Any:
            backend.tables = copy.deepcopy(seeded)
            return client

        yield World(client, put_back)


def read_only_seeded_fixtures() -> tuple[Any, Any]:
    """Module-scoped ``ddb`` and ``seeded`` fixtures for a test module that only reads.

    One seeded world (the full demo data) serves the whole module, overriding the
    function-scoped ``ddb``/``seeded`` of tests/conftest.py; ``store`` and ``ctx`` stay
    per test. Use as ``ddb, seeded = read_only_seeded_fixtures()`` at module level.
    """
    import pytest

    from dynamo import demo

    @pytest.fixture(scope="module", name="ddb")
    def ddb() -> Iterator[Any]:
        with engine.dynamodb(seed=True) as client:
            yield client

    @pytest.fixture(scope="module", name="seeded")
    def seeded(ddb: Any) -> Any:
        return demo

    return ddb, seeded
