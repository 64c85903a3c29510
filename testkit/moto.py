"""moto's DynamoDB as the tests and benchmarks use it: atomic per request, like DynamoDB.

Under threads moto is not atomic: a failed transaction restores a deep copy of the whole
table, clobbering writes that other threads made meanwhile. ``serialize_moto_dynamodb``
serialises moto's request handling, which restores the one guarantee the exactly-once
tests and the soak rely on; our own requests still interleave freely between calls, so
no race of ours is hidden. In-process users call ``install()``; a moto server in a child
process gets the same patch through ``start_moto_server`` (``python -m testkit.moto_server``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STAGE = "dev"
REGION = "us-west-2"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def serialize_moto_dynamodb() -> None:
    """Make moto apply each DynamoDB request atomically, as DynamoDB does (idempotent)."""
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


def install() -> None:
    """Both patches: atomic requests, and mixed-type comparisons false as in DynamoDB
    (``dynamo.moto_compat``, which the demo mode installs too)."""
    from dynamo import moto_compat

    serialize_moto_dynamodb()
    moto_compat.install()


def start_moto_server(port: int) -> subprocess.Popen[bytes]:
    """moto's server on 127.0.0.1:``port`` in a child process, its DynamoDB serialised."""
    return subprocess.Popen([sys.executable, "-m", "testkit.moto_server", "-H", "127.0.0.1",
                             "-p", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


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


@contextmanager
def threaded_moto_server() -> Iterator[str]:
    """moto's HTTP server on 127.0.0.1 and a free port, in this process; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


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
