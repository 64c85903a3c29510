"""Shared fixtures: moto's in-process DynamoDB with the declared tables, and a Context."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
for _var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
             "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "STAGE", "DDB_BOT_POLICY_FILE"):
    os.environ.pop(_var, None)

STAGE = "dev"
REGION = "us-west-2"


def _serialize_moto_dynamodb() -> None:
    """Make moto apply each DynamoDB request atomically, as DynamoDB does.

    Under threads moto is not atomic: a failed transaction restores a deep copy of the
    whole table, clobbering writes that other threads made meanwhile. Serialising moto's
    request handling restores the one guarantee the exactly-once tests rely on; our own
    requests still interleave freely between calls, so no race of ours is hidden.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_serialized", False):
        return
    lock = threading.RLock()

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    call_action._serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


_serialize_moto_dynamodb()


def _moto_compares_like_dynamodb() -> None:
    """moto raises on mixed-type comparisons where DynamoDB answers false (dynamo.moto_compat)."""
    from dynamo import moto_compat

    moto_compat.install()


_moto_compares_like_dynamodb()


def _hypothesis_profiles() -> None:
    """CI is deterministic; ``./dev fuzz`` explores at random (README, *Tests*).

    ``ci`` (the default, what ``./dev test`` and ``.ci/run`` use) derandomizes: every run
    tries the same examples, so a submission never fails by chance, and keeps no example
    database. ``fuzz`` draws new random examples and remembers failing ones between runs;
    whatever it finds becomes an explicit ``@example``. Hypothesis's own files (example
    database, caches) go to a directory under the system temp dir, never into the tree.
    """
    import tempfile
    from pathlib import Path

    from hypothesis import settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase

    home = Path(os.environ.get("DDB_BOT_HYPOTHESIS_DIR")
                or Path(tempfile.gettempdir()) / f"ddb-bot-hypothesis-{os.getuid()}")
    set_hypothesis_home_dir(home)
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True,
                              deadline=None)
    settings.register_profile("fuzz", derandomize=False, print_blob=True, deadline=None,
                              database=DirectoryBasedExampleDatabase(home / "examples"))
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()


@contextmanager
def moto_dynamodb(seed: bool = False) -> Iterator[Any]:
    """moto's in-process DynamoDB with the ten declared tables and the state table."""
    from moto import mock_aws

    from dynamo.aws import dynamodb_client
    from dynamo.tables import create_platform_tables, create_state_table

    with mock_aws():
        client = dynamodb_client(REGION)
        create_platform_tables(client, STAGE)
        create_state_table(client, f"mfh-{STAGE}-ddb-bot")
        if seed:
            from dynamo import demo

            demo.seed(client, STAGE, scale=1)
        yield client


@pytest.fixture
def ddb() -> Iterator[Any]:
    """A DynamoDB client on moto with the ten declared tables and the state table."""
    with moto_dynamodb() as client:
        yield client


@pytest.fixture
def store(ddb: Any) -> Any:
    from dynamo.store import Store

    return Store(ddb, STAGE)


@pytest.fixture
def seeded(ddb: Any) -> Any:
    """The demo data set (deterministic) written into moto."""
    from dynamo import demo

    demo.seed(ddb, STAGE, scale=1)
    return demo


@pytest.fixture
def ctx(store: Any) -> Any:
    from commands import Context

    return Context(store=store, user_id="U_TESTER", stage=STAGE, region=REGION)


def scan_all(client: Any, stage: str = STAGE) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (to prove a refusal wrote nothing)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in client.list_tables()["TableNames"]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": name}
        while True:
            resp = client.scan(**kwargs)
            items.extend(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        out[name] = sorted(items, key=repr)
    return out


@pytest.fixture
def make_services(ddb: Any) -> Any:
    """Services over the moto client, with settings overrides (``ddb_bot_approvers=...``)."""
    from bot.config import load_settings
    from bot.services import Services

    def make(**overrides: Any) -> Any:
        return Services.build(load_settings(**overrides), ddb)

    return make


@pytest.fixture
def services(make_services: Any) -> Any:
    return make_services()


@pytest.fixture
def as_user(services: Any) -> Any:
    """A command Context for a given user id (``as_user("U_ALICE")``)."""

    def ctx(user: str, channel: str = "C_OPS") -> Any:
        return services.context(user, channel)

    return ctx


def race(n: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together by a barrier; re-raise failures."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)
    return results


@pytest.fixture
def slack() -> Iterator[Any]:
    """A local fake Slack Web API (and response_url) on port 0."""
    from tests.fake_slack import FakeSlack

    fake = FakeSlack().start()
    yield fake
    fake.stop()
