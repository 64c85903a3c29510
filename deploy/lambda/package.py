"""Build the Lambda deployment package: ``python deploy/lambda/package.py`` prints its path.

``serverless.yml`` runs this (through ``package.js``) while it resolves
``package.artifact``, so ``serverless package`` and ``serverless deploy`` build the zip when
it is missing or out of date and reuse it otherwise, without calling AWS (a framework-built
layer would ask CloudFormation for the last one). The zip (``.cache/lambda/ddb-bot.zip``)
holds, at its root as Lambda's Python runtime imports them:

- the dependencies of ``pyproject.toml`` as wheels for Lambda's Linux, whatever machine
  builds it: CPython 3.11, manylinux2014, x86_64, binary only (``pip install --platform``);
  at the versions installed where this runs (``pip freeze`` as constraints), so with
  ``./dev``'s virtualenv exactly what the tests ran against (with a bare ``python3``, pip
  takes the newest versions the ranges allow);
- the ``bot``, ``commands`` and ``dynamo`` packages;
- the files ``DDB_BOT_POLICY_FILE`` and ``DDB_BOT_SCHEMA_FILE`` name, when set (paths inside
  the repository: the function reads them relative to its root, as ``serverless.yml``
  passes the same variables on).

Bytecode is included, compiled ahead (when this runs on CPython 3.11, Lambda's): the task
directory is read-only, so without it every cold start would compile every module from
source. Its pyc files are "unchecked hash" ones (PEP 552): valid whatever the files'
timestamps. Reproducible: entries sorted, timestamps and permissions fixed, so the same
inputs make the same bytes (and CloudFormation sees no change). Standard library only.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".cache" / "lambda"
ARTIFACT = OUT / "ddb-bot.zip"
PACKAGES = ("bot", "commands", "dynamo")
PLATFORM = ("--platform", "manylinux2014_x86_64", "--implementation", "cp",
            "--python-version", "3.11", "--only-binary=:all:")
EPOCH = (1980, 1, 1, 0, 0, 0)
LAMBDA_PYTHON = (3, 11)
# bytecode only when this interpreter is Lambda's: another one's pyc would never be read
BYTECODE = sys.version_info[:2] == LAMBDA_PYTHON
SETTING_FILES = ("DDB_BOT_POLICY_FILE", "DDB_BOT_SCHEMA_FILE")


def dependencies() -> list[str]:
    """The project's runtime requirements, as pyproject.toml states them."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def constraints() -> str:
    """``pip freeze`` of this interpreter's environment (the project itself left out)."""
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    return "".join(line + "\n" for line in out.splitlines()
                   if line and not line.lower().startswith(("ddb-bot", "ddb_bot", "-e ")))


def _files(base: Path, under: Path) -> Iterator[tuple[str, Path]]:
    """(name in the zip, path) of every file below ``under``, stale bytecode left out."""
    for path in sorted(under.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path.relative_to(base).as_posix(), path


def _bytecode(name: str, path: Path) -> tuple[str, bytes] | None:
    """The pyc of one source file, as ``pkg/__pycache__/mod.cpython-311.pyc`` in the zip."""
    if not BYTECODE or path.suffix != ".py":
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.pyc"
        py_compile.compile(str(path), cfile=str(out), dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        data = out.read_bytes()
    parent, _, stem = name.rpartition("/")
    tag = sys.implementation.cache_tag
    return f"{parent}/__pycache__/{stem[:-3]}.{tag}.pyc" if parent else f"__pycache__/{stem[:-3]}.{tag}.pyc", data


def setting_files() -> list[tuple[str, Path]]:
    """The files the settings name, at the same relative path in the zip."""
    out = []
    for var in SETTING_FILES:
        value = os.environ.get(var)
        if not value:
            continue
        path = (ROOT / value).resolve()
        if Path(value).is_absolute() or not path.is_relative_to(ROOT) or not path.is_file():
            raise SystemExit(f"{var}={value}: for Lambda it must name a file inside the repository, "
                             "by a relative path (it is packaged at that path)")
        out.append((path.relative_to(ROOT).as_posix(), path))
    return out


def sources() -> list[tuple[str, Path]]:
    return [f for pkg in PACKAGES for f in _files(ROOT, ROOT / pkg)] + setting_files()


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def dependencies_dir() -> Path:
    """The dependencies installed for Lambda, built once per set of inputs."""
    deps, pins = dependencies(), constraints()
    target = OUT / f"deps-{_digest(*PLATFORM, *deps, pins, str(BYTECODE))[:16]}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    pinned = OUT / "constraints.txt"
    pinned.write_text(pins)
    print(f"installing the dependencies for Lambda into {target} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile", "--target", str(target), *PLATFORM, "--constraint", str(pinned),
                    *deps], check=True, stdout=sys.stderr)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: not used on Lambda
    if BYTECODE:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
                        "unchecked-hash", str(target)], check=True, stdout=sys.stderr)
    (target / ".complete").touch()
    for old in OUT.glob("deps-*"):  # earlier inputs' builds
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def build() -> Path:
    deps = dependencies_dir()
    ours = sources()
    stamp = OUT / "ddb-bot.zip.sha256"
    inputs = _digest(deps.name, *(f"{name}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
                                  for name, path in ours))
    if ARTIFACT.exists() and stamp.exists() and stamp.read_text() == inputs:
        return ARTIFACT
    entries: dict[str, bytes] = {}
    for path in sorted(deps.rglob("*")):  # with the bytecode compiled there
        if path.is_file() and path.name != ".complete":
            entries[path.relative_to(deps).as_posix()] = path.read_bytes()
    for name, path in ours:
        entries[name] = path.read_bytes()
        compiled = _bytecode(name, path)
        if compiled is not None:
            entries[compiled[0]] = compiled[1]
    partial = ARTIFACT.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    partial.replace(ARTIFACT)
    stamp.write_text(inputs)
    return ARTIFACT


def build_once() -> Path:
    """``build`` under a file lock: two builds at once (test workers, a deploy) make one zip."""
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return build()


if __name__ == "__main__":
    print(build_once())
