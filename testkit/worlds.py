"""Seeded demo worlds on moto, built once per test module and restored before each test.

Creating the eleven tables costs about a second under moto, and every scan pays moto's
slow response serializer per attribute value, so a module that writes seeds a trimmed
copy of the demo data once (``trimmed_demo``) and puts moto's tables back before every
test (``World.restore``: a deep copy, as moto itself does to roll back a failed
transaction). Each test still starts from exactly the same data.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from testkit.moto import REGION, STAGE

STATE = f"mfh-{STAGE}-ddb-bot"


@dataclass
class World:
    """moto's DynamoDB backend with the tables as seeded, and a per-module cache."""

    client: Any
    backend: Any
    tables: dict[str, Any]
    cache: list[Any] = field(default_factory=list)  # e.g. a scan of the seeded world

    def restore(self) -> None:
        """Put every table back as it was seeded (what a test wrote is gone)."""
        self.backend.tables = copy.deepcopy(self.tables)


def trimmed_demo(keep: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The demo data (scale 1, deterministic) cut to ``keep[short]`` items per table."""
    from dynamo import demo

    return {short: items[:keep[short]] for short, items in demo.generate(1).items()}


@contextmanager
def restorable_world(data: dict[str, list[dict[str, Any]]]) -> Iterator[World]:
    """moto with the declared tables and the state table holding ``data``."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from dynamo import demo
    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table

    with mock_aws():
        client = dynamodb_client(REGION)
        create_platform_tables(client, STAGE)
        create_state_table(client, STATE)
        demo.write(client, STAGE, data)
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        yield World(client, backend, copy.deepcopy(backend.tables))


def read_only_seeded_fixtures() -> tuple[Any, Any]:
    """Module-scoped ``ddb`` and ``seeded`` fixtures for a test module that only reads.

    One seeded moto world (the full demo data) serves the whole module, overriding the
    function-scoped ``ddb``/``seeded`` of tests/conftest.py; ``store`` and ``ctx`` stay
    per test. Use as ``ddb, seeded = read_only_seeded_fixtures()`` at module level.
    """
    import pytest

    from dynamo import demo
    from testkit.moto import moto_dynamodb

    @pytest.fixture(scope="module", name="ddb")
    def ddb() -> Iterator[Any]:
        with moto_dynamodb(seed=True) as client:
            yield client

    @pytest.fixture(scope="module", name="seeded")
    def seeded(ddb: Any) -> Any:
        return demo

    return ddb, seeded
