"""One DynamoDB endpoint, the same data, and the real aws CLI beside the bot.

The endpoint is moto's server or a database of its own on DynamoDB Local
(``DDB_TEST_ENGINE``, ``testkit.engine``). ``cli`` runs a batch of aws CLI commands in
one process (tests/parity/cli_driver.py) with the endpoint's credentials, us-west-2 and
``--endpoint-url`` at it; the bot talks to the same database through its own client.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from testkit import REGION, engine
from testkit.engine import Endpoint

DRIVER = Path(__file__).with_name("cli_driver.py")
ROOT = Path(__file__).resolve().parents[2]


def cli_env(home: Path, endpoint: Endpoint) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=endpoint.access_key, AWS_SECRET_ACCESS_KEY=endpoint.secret_key,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), HOME=str(home),
               PYTHONPATH=str(ROOT))
    return env


class Cli:
    """The real aws CLI against the module's endpoint."""

    def __init__(self, endpoint: Endpoint, home: Path) -> None:
        self.endpoint = endpoint.url
        self.env = cli_env(home, endpoint)

    def argv(self, text: str) -> list[str]:
        words = [w for w in shlex.split(text) if w != "\n"]
        if words and words[0] == "aws":
            words = words[1:]
        if "--output" not in words:
            words += ["--output", "json"]
        return [*words, "--endpoint-url", self.endpoint]

    def run_many(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [sys.executable, str(DRIVER)], input=json.dumps([self.argv(t) for t in texts]),
            capture_output=True, text=True, env=self.env, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with engine.endpoint("parity") as ep:
        yield ep


@pytest.fixture(scope="module")
def client(endpoint: Endpoint) -> Any:
    from tests.parity.data import seed

    client = endpoint.client()
    engine.create_tables(client)
    seed(client)
    return client


@pytest.fixture(scope="module")
def cli(endpoint: Endpoint, client: Any, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(endpoint, tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def services(client: Any) -> Any:
    from bot.config import load_settings
    from bot.services import Services

    return Services.build(load_settings(), client)
