"""DynamoDB Local as the tests use it: one server per test process, one database per world.

The server itself (the pinned npm package, Java 17, start, wait, stop) is
``dynamo.local_engine``, which the demo shares. It runs without ``-sharedDb``, so DynamoDB
Local keeps a separate database per access key id and region: a new access key is a
fresh, empty DynamoDB (``new_namespace``). That is how each test, or each module sharing
a world, gets its isolation while one JVM per test process (``shared()``, started on
first use, stopped at exit) serves them all.

Building a world through the API (eleven CreateTable calls, hundreds of items) takes
seconds on DynamoDB Local, every test. So the server keeps its databases as SQLite files
(``-dbPath``, in ``/dev/shm`` where there is one: ``<access key>_<region>.db``), and
``world(key, build)`` builds each distinct world once per process, through the API, then
hands every test a copy of that file under a new access key: the same tables, indexes,
TTL settings and items, DynamoDB Local's own, in about a millisecond.

``python -m testkit.dynamodb_local check`` says whether the tier can run here (Java 17+,
the jar, installed with npm if missing: ``./dev test`` runs it before the tier, so
parallel test workers never both run npm); ``install`` installs and prints the jar's path;
``serve [--port N]`` runs one in the foreground.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynamo.local_engine import (
    ENGINE_VERSION,
    DynamoDBLocal,
    DynamoDBLocalUnavailable,
    install,
    require_java,
)
from testkit.engine import Endpoint
from testkit.moto import REGION

_shared: DynamoDBLocal | None = None
_lock = threading.Lock()
_counter = itertools.count(1)
_templates: dict[str, Endpoint] = {}


def _db_dir() -> Path:
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="ddb-bot-dynamodb-local-", dir=parent))


def shared() -> DynamoDBLocal:
    """This process's DynamoDB Local, started on first use and stopped when the process exits
    (its database files removed)."""
    global _shared
    with _lock:
        if _shared is None:
            server = DynamoDBLocal(db_path=_db_dir())
            atexit.register(shutil.rmtree, server.db_path, True)
            _shared = server.start()
            atexit.register(server.stop)  # runs first: stop, then remove the files
        return _shared


def new_namespace(label: str = "t", region: str = REGION) -> Endpoint:
    """A fresh, empty database on this process's DynamoDB Local: a new access key."""
    key = f"{label}{os.getpid()}x{next(_counter)}x{uuid.uuid4().hex[:8]}"
    return Endpoint(shared().url, "".join(c for c in key if c.isalnum()), region=region)


def _db_file(ep: Endpoint) -> Path:
    db_path = shared().db_path
    assert db_path is not None
    return db_path / f"{ep.access_key}_{ep.region}.db"


def world(key: str, build: Callable[[Any], None], label: str = "w") -> Endpoint:
    """A fresh database holding what ``build(client)`` makes: built through the API once per
    process for each ``key``, then copied (file) for every caller."""
    with _lock:
        template = _templates.get(key)
    if template is None:
        template = new_namespace("tpl")
        build(template.client())
        with _lock:
            _templates.setdefault(key, template)
    ep = new_namespace(label)
    # the template is only written by ``build``, which has returned: every change committed
    shutil.copyfile(_db_file(template), _db_file(ep))
    return ep


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(install(out=sys.stderr))
        return 0
    if argv[:1] == ["check"]:  # ./dev test: can the DynamoDB Local tier run here?
        try:
            require_java()
            install(out=sys.stderr)
        except DynamoDBLocalUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if argv[:1] == ["serve"]:
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8000
        with DynamoDBLocal(port) as server:
            print(f"DynamoDB Local {ENGINE_VERSION} on {server.url} (Ctrl-C stops it)", flush=True)
            try:
                assert server.proc is not None
                server.proc.wait()
            except KeyboardInterrupt:
                pass
        return 0
    print("usage: python -m testkit.dynamodb_local install | check | serve [--port N]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
