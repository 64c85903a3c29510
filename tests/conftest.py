"""Shared fixtures: DynamoDB with the declared tables, and a Context.

The engine is ``DDB_TEST_ENGINE`` (``testkit.engine``): moto in process by default, or
Amazon's DynamoDB Local. A test that needs moto's internals (its backends, its response
handler, its stubber) is marked ``@pytest.mark.moto_only`` and skipped, with the reason,
on DynamoDB Local.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
for _var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
             "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "STAGE", "DDB_BOT_POLICY_FILE",
             "DDB_BOT_SCHEMA_FILE"):
    os.environ.pop(_var, None)

from testkit import engine  # noqa: E402
from testkit import moto as _moto  # noqa: E402
from testkit.moto import REGION, STAGE  # noqa: E402

# moto atomic per request and comparing like DynamoDB (see testkit.moto)
_moto.install()
MOTO_ONLY = ("needs moto's in-process internals (backend, response handler or stubber); "
             "DDB_TEST_ENGINE={} runs against a real endpoint")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "moto_only(reason): the test drives moto's internals "
                            "and is skipped on DynamoDB Local (README, *Tests*)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if engine.on_moto():
        return
    for item in items:
        marker = item.get_closest_marker("moto_only")
        if marker is not None:
            why = marker.args[0] if marker.args else MOTO_ONLY.format(engine.engine())
            item.add_marker(pytest.mark.skip(reason=f"moto only: {why}"))


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


@pytest.fixture
def ddb() -> Iterator[Any]:
    """A DynamoDB client with the ten declared tables and the state table, on the engine
    ``DDB_TEST_ENGINE`` chooses (a fresh database per test on either)."""
    with engine.dynamodb() as client:
        yield client


@pytest.fixture
def store(ddb: Any) -> Any:
    from dynamo.store import Store

    return Store(ddb, STAGE)


@pytest.fixture
def seeded(ddb: Any) -> Any:
    """The demo data set (deterministic) written into the test's DynamoDB."""
    from dynamo import demo

    demo.seed(ddb, STAGE, scale=1)
    return demo


@pytest.fixture
def ctx(store: Any) -> Any:
    from commands import Context

    return Context(store=store, user_id="U_TESTER", stage=STAGE, region=REGION)


@pytest.fixture
def make_services(ddb: Any) -> Any:
    """Services over the test's client, with settings overrides (``ddb_bot_approvers=...``)."""
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


@pytest.fixture
def slack() -> Iterator[Any]:
    """A local fake Slack Web API (and response_url) on port 0."""
    from testkit.fake_slack import FakeSlack

    fake = FakeSlack().start()
    yield fake
    fake.stop()
