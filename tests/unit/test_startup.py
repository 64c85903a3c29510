"""What ``python -m bot serve`` loads before it is ready, pinned without timing it.

Start-up CPU is mostly imports (README, *Start-up*). The modules only some commands need
load on first use, so a fresh process that builds the served app (settings, services,
the Bolt app, the scheduler's module, the server) must not have imported them, nor moto,
nor walked the stack (Bolt's ``App`` does that when it is not given a name).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# loaded on the first `/ddb aws ...`, never at start
LAZY = ("commands.awscli.call", "commands.awscli.reads", "commands.awscli.writes",
        "commands.awscli.shorthand", "commands.awscli.values", "commands.awscli.output",
        "commands.awscli.batch", "commands.awscli.expressions")

SERVE_PATH = """
import inspect, json, sys

def _no_stack(*a, **k):
    raise AssertionError("inspect.stack() called while building the app")

inspect.stack = _no_stack
import bot.__main__, bot.server, bot.scheduler
from bot.app import build_app
from bot.config import load_settings
from bot.services import Services
from commands import REGISTRY

app = build_app(Services.build(load_settings()))
assert "aws" in REGISTRY and app.name == "ddb-bot"
json.dump(sorted(sys.modules), sys.stdout)
"""


@pytest.fixture
def serve_modules(tmp_path: Path) -> set[str]:
    """The modules a fresh process holds once the served app is built (moto blocked)."""
    blocker = tmp_path / "moto"
    blocker.mkdir()
    (blocker / "__init__.py").write_text('raise ImportError("moto imported at start")\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_"))}
    env.update({"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "SLACK_BOT_TOKEN": "xoxb-1-2-3",
                "SLACK_SIGNING_SECRET": "startup-test-secret", "AWS_ACCESS_KEY_ID": "x",
                "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"})
    out = subprocess.run([sys.executable, "-c", SERVE_PATH], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


def test_serve_start_leaves_the_aws_cli_parser_and_moto_unloaded(serve_modules: set[str]) -> None:
    assert "commands.awscli" in serve_modules  # registered: `/ddb help` lists `aws`
    assert not [m for m in LAZY if m in serve_modules]
    assert not [m for m in serve_modules if m == "moto" or m.startswith("moto.")]


def test_the_lazy_names_still_import_from_the_package() -> None:
    from commands import awscli
    from commands.awscli import AwsCall, parse_call, parse_update_expression, require_all_used

    assert AwsCall.__module__ == "commands.awscli.call"
    assert parse_call.__module__ == require_all_used.__module__ == "commands.awscli.call"
    assert parse_update_expression.__module__ == "commands.awscli.writes"
    with pytest.raises(AttributeError):
        awscli.not_a_name  # noqa: B018
