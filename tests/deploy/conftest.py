"""The Serverless Framework, pinned, installed from npm into ``.cache/serverless`` on first use,
and ``serverless package`` run once per test session on ``serverless.yml``.

No AWS account: dummy credentials, and nothing in the template or the packaging calls AWS
(``deploy/lambda/package.py`` builds the artifact; a framework-built layer would have asked
CloudFormation for its last version). The framework's telemetry and notices are off.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "serverless"
SERVERLESS = "serverless"
SERVERLESS_VERSION = "3.40.0"  # the newest 3.x; v4 needs an account login even to package
STAGE = "qa"
# a value that must never reach the template, though the deploying shell has it
CANARY = "xoxb-0000-canary-token-from-the-shell"


def install(cache: Path = CACHE) -> Path:
    """The pinned framework's ``serverless`` executable, installed with npm if missing (a
    file lock: concurrent test workers install it once)."""
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / "node_modules" / ".bin" / "serverless"
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = cache / "node_modules" / SERVERLESS / "package.json"
        if installed.exists() and json.loads(installed.read_text())["version"] == SERVERLESS_VERSION:
            return binary
        npm = shutil.which("npm")
        assert npm is not None, "npm is not on PATH: install Node.js (the template is checked with npm's serverless)"
        (cache / "package.json").write_text(json.dumps({
            "name": "ddb-bot-serverless", "private": True,
            "description": "The Serverless Framework that checks serverless.yml (tests/deploy)",
            "dependencies": {SERVERLESS: SERVERLESS_VERSION}}, indent=2) + "\n")
        proc = subprocess.run([npm, "install", "--prefix", str(cache), "--no-package-lock", "--no-audit",
                               "--no-fund", "--ignore-scripts", "--loglevel=error"],
                              capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0 and binary.exists(), f"npm install serverless failed:\n{proc.stderr[-3000:]}"
        return binary


@dataclass
class Packaged:
    """What ``serverless package --stage qa`` made: the CloudFormation template and its output."""

    template: dict[str, Any]
    output: str
    artifact: Path

    def resource(self, logical_id: str) -> dict[str, Any]:
        return self.template["Resources"][logical_id]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    binary = install()
    out = tmp_path_factory.mktemp("serverless") / "package"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(out.parent)),
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "dummy-not-used",
           "AWS_REGION": "us-west-2", "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
           "SLACK_BOT_TOKEN": CANARY, "SLACK_SIGNING_SECRET": CANARY}
    proc = subprocess.run([str(binary), "package", "--stage", STAGE, "--package", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"serverless package failed:\n{output[-4000:]}"
    template = json.loads((out / "cloudformation-template-update-stack.json").read_text())
    return Packaged(template, output, ROOT / ".cache" / "lambda" / "ddb-bot.zip")
