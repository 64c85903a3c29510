"""The one switch that chooses the DynamoDB engine under the tests: ``DDB_TEST_ENGINE``.

- ``moto`` (the default): moto in process (``mock_aws``), made atomic per request and
  comparing like DynamoDB (``testkit.moto``); moto's threaded server for processes.
- ``dynamodb-local``: Amazon's DynamoDB Local (``testkit.dynamodb_local``), one server
  per test process, a fresh database (access key) for each world, copied from one built
  once per process for each distinct content.

Fixtures ask this module, never an engine directly: ``dynamodb()`` for an in-process
client with the declared tables, ``endpoint()`` for an HTTP endpoint that a child
process (``python -m bot serve``, the real aws CLI) reaches with ``Endpoint.env()``.
Tests that need moto's internals are marked ``@pytest.mark.moto_only`` and are skipped,
with the reason, on the real engine (README, *Tests*, lists them).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from testkit.moto import REGION, STAGE

MOTO, DYNAMODB_LOCAL = "moto", "dynamodb-local"
ENGINES = (MOTO, DYNAMODB_LOCAL)
STATE = f"mfh-{STAGE}-ddb-bot"


def engine() -> str:
    """The engine this run uses (``DDB_TEST_ENGINE``, default moto)."""
    name = os.environ.get("DDB_TEST_ENGINE", MOTO) or MOTO
    if name not in ENGINES:
        raise ValueError(f"DDB_TEST_ENGINE={name!r}: use one of {', '.join(ENGINES)}")
    return name


def on_moto() -> bool:
    return engine() == MOTO


@dataclass(frozen=True)
class Endpoint:
    """A DynamoDB HTTP endpoint and the credentials that select its database."""

    url: str
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = REGION

    def client(self, **kwargs: Any) -> Any:
        from dynamo.aws import dynamodb_client

        return dynamodb_client(self.region, self.url, aws_access_key_id=self.access_key,
                               aws_secret_access_key=self.secret_key, **kwargs)

    def env(self) -> dict[str, str]:
        """What a child process needs in its environment to reach this database."""
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": self.region}


def create_tables(client: Any, stage: str = STAGE) -> None:
    """The ten declared tables and the state table."""
    from dynamo.tables import create_platform_tables, create_state_table

    create_platform_tables(client, stage)
    create_state_table(client, f"mfh-{stage}-ddb-bot")


@contextmanager
def endpoint(label: str = "e") -> Iterator[Endpoint]:
    """An empty DynamoDB reachable over HTTP: moto's threaded server on a free port, or a
    fresh database on DynamoDB Local.

    moto's server in this process shares moto's global backends, which keep what an
    earlier server held: it is reset first (no ``mock_aws`` world may be open meanwhile)."""
    if on_moto():
        import urllib.request

        from testkit.moto import threaded_moto_server

        with threaded_moto_server() as url:
            urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"),
                                   timeout=30).close()
            yield Endpoint(url)
        return
    from testkit.dynamodb_local import new_namespace

    yield new_namespace(label)


@contextmanager
def in_process_env(ep: Endpoint) -> Iterator[None]:
    """``ep``'s variables in ``os.environ`` while inside, so that code which builds its own
    client reaches the same database (what ``mock_aws`` does for every client on moto)."""
    names = (*ep.env(), "AWS_SESSION_TOKEN")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(ep.env())
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def dynamodb(seed: bool = False, data: dict[str, list[dict[str, Any]]] | None = None,
             label: str = "t") -> Iterator[Any]:
    """A client on the chosen engine with the declared tables and the state table, holding
    the demo data (``seed``) or ``data``; every client built inside reaches the same tables.

    Other AWS services (S3, for the audit export) are moto's in-process mock on either
    engine: on DynamoDB Local the DynamoDB requests go to its endpoint, which moto's mock
    lets through (it answers only AWS's own endpoints)."""
    from moto import mock_aws

    if on_moto():
        from dynamo.aws import dynamodb_client

        with mock_aws():
            client = dynamodb_client(REGION)
            yield _filled(client, seed, data)
        return
    from testkit.dynamodb_local import world

    key = json.dumps({"seed": seed, "data": data}, sort_keys=True, default=str)
    ep = world(hashlib.sha256(key.encode()).hexdigest(),
               lambda client: _filled(client, seed, data), label)
    with mock_aws(), in_process_env(ep):
        yield ep.client()


def _filled(client: Any, seed: bool, data: dict[str, list[dict[str, Any]]] | None) -> Any:
    from dynamo import demo

    create_tables(client)
    if seed:
        demo.seed(client, STAGE, scale=1)
    if data is not None:
        demo.write(client, STAGE, data)
    return client


def deliver(request: Any, event_name: str) -> Any:
    """Send a request that a botocore ``before-send`` hook holds to the engine, and return
    DynamoDB's answer: the hook can then drop that answer (a commit whose answer is lost,
    as a timeout or reset). moto in process answers through its own stubber; a real
    endpoint gets the request over HTTP."""
    if on_moto():
        from moto.core.models import botocore_stubber

        return botocore_stubber(event_name=event_name, request=request)
    from botocore.httpsession import URLLib3Session

    return URLLib3Session(timeout=10).send(request)


def settled(client: Any, table: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """The table's description once every index is ACTIVE and none is being deleted.

    DynamoDB (and DynamoDB Local) build a new GSI in the background (CREATING) and list a
    deleted one as DELETING for a while; moto does both at once. A test that acts on an
    index right after changing it waits here, as a person watching ``gsi list`` would."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        desc: dict[str, Any] = client.describe_table(TableName=table)["Table"]
        busy = [g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])
                if g.get("IndexStatus", "ACTIVE") != "ACTIVE"]
        if not busy:
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"{table}: {busy} not settled after {timeout_s:.0f} s")
        time.sleep(0.2)
