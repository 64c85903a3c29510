"""The container image, checked without a Docker engine (none on the CI machine).

The Dockerfile is linted (slim base, non-root user, runtime install only, HEALTHCHECK,
``python -m bot``), its HEALTHCHECK command is run for real against the health server,
and the image's dependency set is rebuilt here: the runtime dependencies of
``pyproject.toml`` (what ``pip install .`` installs) closed over the installed packages'
own requirements. Every shipped module must import, and the Slack app must build, with
only that set importable — so nothing on the image's paths needs moto or a test tool.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"moto", "pytest", "pytest-xdist", "hypothesis", "ruff", "werkzeug", "flask"}


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    ins = _instructions()
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last_from:]


def _global_args() -> dict[str, str]:
    """``ARG name=default`` before the first FROM: what ``${name}`` in a FROM means."""
    out = {}
    for word, args in _instructions():
        if word == "FROM":
            break
        if word == "ARG" and "=" in args:
            name, _, default = args.partition("=")
            out[name] = default
    return out


def _base_images() -> list[str]:
    names = _global_args()
    return [re.sub(r"\$\{(\w+)\}", lambda m: names[m.group(1)], args.split()[0])
            for word, args in _instructions() if word == "FROM"]


def test_base_images_are_slim_python() -> None:
    images = _base_images()
    # the tag, or the tag pinned by its digest (Dockerfile, PYTHON_IMAGE, says how to pin)
    pinned = r"python:3\.1[1-9]-slim(-\w+)?(@sha256:[0-9a-f]{64})?"
    assert images and all(re.fullmatch(pinned, i) for i in images), images
    assert len(set(images)) == 1, "build and final stage share one base (one digest to pin)"


def test_runs_as_a_non_root_user() -> None:
    users = [args for word, args in _final_stage() if word == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_installs_the_package_without_extras_or_test_tools() -> None:
    runs = " ".join(args for word, args in _instructions() if word == "RUN")
    # only the lock, every file checked against its hash, nothing resolved at build time
    assert re.search(r"pip install --no-cache-dir --require-hashes --no-deps -r \S*requirements\.lock",
                     runs), runs
    assert runs.count("pip install") == 1, "every package the image holds comes from the lock"
    for bad in ("[test]", "[local]", "moto", "pytest", "hypothesis", " -e ", "requirements-dev"):
        assert bad not in runs, bad
    copied = " ".join(args for word, args in _instructions() if word == "COPY")
    assert "tests" not in copied and "benchmarks" not in copied and ".env" not in copied
    assert "testkit" not in copied


def test_exposes_the_port_and_runs_python_m_bot() -> None:
    final = _final_stage()
    assert ("EXPOSE", "3000") in final
    cmd = [args for word, args in final if word == "CMD"]
    assert cmd and json.loads(cmd[-1]) == ["python", "-m", "bot"]
    assert any(word == "STOPSIGNAL" and args == "SIGTERM" for word, args in final)


def _healthcheck_command() -> list[str]:
    checks = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1, "one HEALTHCHECK in the final stage"
    options, _, cmd = checks[0].partition("CMD ")
    assert "--interval" in options and "--timeout" in options
    argv = json.loads(cmd)
    assert argv[0] == "python" and "/healthz" in argv[-1] and "curl" not in cmd and "wget" not in cmd
    return argv


def test_the_healthcheck_command_passes_only_when_healthy() -> None:
    from bot.server import start_http

    argv = [sys.executable, *_healthcheck_command()[1:]]
    healthy = threading.Event()
    server = start_http(None, "127.0.0.1", 0)  # the health server Socket Mode runs
    server.health = healthy.is_set
    port = str(server.port)
    env = {**os.environ, "PORT": port}
    try:
        assert subprocess.run(argv, env=env, capture_output=True, timeout=20).returncode != 0
        healthy.set()
        assert subprocess.run(argv, env=env, capture_output=True, timeout=20).returncode == 0
    finally:
        server.close()
    # nothing listening: unhealthy, and quickly
    assert subprocess.run(argv, env=env, capture_output=True, timeout=20).returncode != 0


def _ignored(path: str, patterns: list[str]) -> bool:
    """A simplified .dockerignore matcher: last matching pattern wins, ``!`` re-includes,
    a pattern matching a directory covers what is inside it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        for prefix in prefixes:
            if pat.startswith("**/"):  # at any depth
                hit = fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pat[3:])
            else:
                hit = fnmatch.fnmatchcase(prefix, pat)
            if hit:
                ignored = not negate
                break
    return ignored


def test_dockerignore_sends_only_the_sources() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in ("requirements.lock", "bot/server.py", "dynamo/store.py", "commands/registry.py"):
        assert not _ignored(path, patterns), path
    for path in (".env", ".venv/bin/python", ".git/config", "tests/conftest.py", "testkit/moto.py",
                 "benchmarks/apps.py", "bot/__pycache__/server.cpython-311.pyc", "iam/x.json"):
        assert _ignored(path, patterns), path


@cache
def runtime_closure() -> frozenset[str]:
    """What ``pip install .`` installs: pyproject's dependencies and theirs, transitively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    seen: set[str] = set()
    todo = list(project["dependencies"])
    while todo:
        req = Requirement(todo.pop())
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        todo += distribution(req.name).requires or []
    return frozenset(seen)


def test_runtime_dependency_set_has_no_test_or_demo_packages() -> None:
    closure = runtime_closure()
    # waitress: HTTP mode's server (bot/server.py); pure Python, no dependencies of its own
    assert {"slack-bolt", "boto3", "pydantic-settings", "apscheduler", "tzdata", "waitress"} <= closure
    assert not closure & DEV_ONLY, sorted(closure & DEV_ONLY)
    # README states the image's package count; keep it true
    stated = re.search(r"own requirements \((\d+) packages,", (ROOT / "README.md").read_text())
    assert stated and int(stated.group(1)) == len(closure), (stated, len(closure), sorted(closure))


def test_dependencies_are_installed_in_a_layer_before_the_source_is_copied() -> None:
    """A code change rebuilds only the layers that copy the source, never the install."""
    ins = _instructions()
    install = next(i for i, (w, a) in enumerate(ins) if w == "RUN" and "requirements.lock" in a)
    lock_copy = next(i for i, (w, a) in enumerate(ins) if w == "COPY" and "requirements.lock" in a)
    sources = [i for i, (w, a) in enumerate(ins) if w == "COPY" and
               re.match(r"(bot|commands|dynamo)\b", a)]
    venv = next(i for i, (w, a) in enumerate(ins) if w == "COPY" and a.startswith("--from=build"))
    assert sources and lock_copy < install < venv < min(sources), (lock_copy, install, venv, sources)
    assert not any(w == "COPY" and re.match(r"\.\s", a) for w, a in ins), "COPY . copies everything"


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def test_image_tags_are_the_version_never_latest() -> None:
    version = _version()
    final_args = dict(a.partition("=")[::2] for w, a in _final_stage() if w == "ARG" and "=" in a)
    assert final_args.get("VERSION") == version
    images = {
        "deploy/kubernetes.yaml": re.findall(r"image: (\S+)", (ROOT / "deploy/kubernetes.yaml").read_text()),
        "deploy/ecs-task-definition.json": [c["image"] for c in json.loads(
            (ROOT / "deploy/ecs-task-definition.json").read_text())["containerDefinitions"]],
    }
    for where, found in images.items():
        assert found and all(i.endswith(f"/ddb-bot:{version}") for i in found), (where, found)
    # every image the README builds, runs or pushes is tagged with the version (an untagged
    # `ddb-bot` would be `ddb-bot:latest`)
    readme = re.sub(r"\\\n", " ", (ROOT / "README.md").read_text())  # continuation lines
    commands = [line for line in readme.splitlines()
                if re.search(r"\bdocker (build|run|push)\b", line)]
    refs = [m.group(1) for line in commands
            for m in re.finditer(r"(?<![\w./-])(?:\S+/)?ddb-bot(:\S+)?(?=\s|$)", line)]
    assert commands and refs and set(refs) == {f":{version}"}, (refs, commands)
    for path in ("Dockerfile", "deploy/kubernetes.yaml", "deploy/ecs-task-definition.json"):
        assert ":latest" not in (ROOT / path).read_text(), path


def _lock() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: name -> (version, sha256 hashes)."""
    text = re.sub(r"\\\n", " ", (ROOT / "requirements.lock").read_text())
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
            assert m, f"not an exact pin with hashes: {line[:80]}"
            out[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"[0-9a-f]{64}", m.group(3)))
    return out


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    lock = _lock()
    assert all(hashes for _, hashes in lock.values())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        assert name in lock, f"{name} is a dependency in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(lock[name][0], prereleases=True), (dep, lock[name][0])
    # the lock is the runtime closure, no more (no test tool) and no less (--no-deps)
    assert set(lock) == runtime_closure(), set(lock) ^ runtime_closure()
    assert not set(lock) & DEV_ONLY


IMPORT_CHECK = r"""
import importlib, json, pkgutil, sys, time
allowed = set(json.loads(sys.argv[1])) | set(sys.stdlib_module_names) | {"bot", "commands", "dynamo"}

class OnlyRuntime:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in allowed and not top.startswith("_"):
            raise ImportError(f"{top} is not in the image's dependency set")
        return None

sys.meta_path.insert(0, OnlyRuntime())
start = time.perf_counter()
import bot.__main__, bot.server, bot.app, bot.services, bot.scheduler
serve_path = time.perf_counter() - start
for pkg in ("bot", "commands", "dynamo"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        importlib.import_module(info.name)
from bot.config import load_settings
from bot.services import Services
from bot.app import build_app
settings = load_settings(slack_bot_token="xoxb-1-2-x", slack_signing_secret="s" * 32)
app = build_app(Services.build(settings))
assert "moto" not in sys.modules and "pytest" not in sys.modules
try:
    import moto  # the guard itself works: test tools are not importable here
    raise SystemExit("moto importable")
except ImportError:
    pass
print(json.dumps({"serve_imports_s": round(serve_path, 3)}))
"""


def test_every_module_imports_and_the_app_builds_with_only_the_runtime_set() -> None:
    closure = runtime_closure()
    allowed = sorted(top for top, dists in packages_distributions().items()
                     if any(canonicalize_name(d) in closure for d in dists))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_"))}
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK, json.dumps(allowed)], cwd=ROOT,
                          env={**env, "AWS_DEFAULT_REGION": "us-west-2"}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "serve_imports_s" in proc.stdout
