"""Inference of secrets (SECURITY.md, *Inference through expressions*), end to end.

Each attack is sent as a reader would: a signed slash command into the served app, and
the same text through the console. Every one must be refused with a message naming the
attribute, and no DynamoDB call at all may happen (recorded with a botocore
``before-call`` hook on the bot's own client, i.e. on the real calls).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.console import Console
from dynamo import demo

ROOT = Path(__file__).resolve().parents[2]
AUTH = "mfh-dev-platform-connection-auths"


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# (attack class, command text, the attribute the refusal must name)
ATTACKS: list[tuple[str, str, str]] = [
    ("prefix oracle through a count (the issue's attack)",
     "count platform-connection-auths --exact --filter "
     "\"auth_id = 'auth-0001' and begins_with(access_token, 'ya29.demo-a')\"", "access_token"),
    ("range comparison", "count platform-connection-auths --exact --filter \"refresh_token > 'm'\"",
     "refresh_token"),
    ("contains, rows as the answer",
     "scan platform-connection-auths --filter \"contains(api_secret, 's3cr3t')\"", "api_secret"),
    ("between inside not", "scan platform-connection-auths --filter "
     "\"not (api_key between 'a' and 'm')\"", "api_key"),
    ("size() of a secret (its length)",
     "count platform-connection-auths --exact --filter \"size(access_token) > 30\"", "access_token"),
    ("nested secret path", "scan helpers --filter \"config.api_key = 'x'\"", "api_key"),
    ("presence test inside a secret (its shape)",
     "scan platform-connection-auths --filter \"attribute_exists(access_token[0])\"", "access_token"),
    ("filter of a query", f"query platform-connection-auths connection_id={demo.DEMO_CONNECTION_ID}"
     " --filter \"begins_with(refresh_token, '1//demo-r')\"", "refresh_token"),
    ("a secret as the partition key of /ddb query",
     "query platform-connection-auths access_token=ya29.demo-a", "access_token"),
    ("key_hash range through scan", "scan api-keys --filter \"key_hash > '8'\"", "key_hash"),
    ("key_hash prefix through a generic query", f"query api-keys account_id={demo.DEMO_ACCOUNT_ID} "
     "--filter \"begins_with(key_hash, 'ab')\"", "key_hash"),
    ("pasted --filter-expression with an #alias, --select COUNT",
     f"aws dynamodb scan --table-name {AUTH} --filter-expression 'begins_with(#a, :p)' "
     f"--expression-attribute-names '{_j({'#a': 'access_token'})}' "
     f"--expression-attribute-values '{_j({':p': {'S': 'ya29.demo-a'}})}' --select COUNT",
     "access_token"),
    ("pasted --key-condition-expression, key_hash prefix on its index",
     "aws dynamodb query --table-name mfh-dev-api-keys --index-name KeyHashIndex "
     "--key-condition-expression 'begins_with(#h, :p)' "
     f"--expression-attribute-names '{_j({'#h': 'key_hash'})}' "
     f"--expression-attribute-values '{_j({':p': {'S': 'ab'}})}'", "key_hash"),
    ("scan of an index keyed by a prefix-only attribute (order and start keys)",
     "aws dynamodb scan --table-name mfh-dev-api-keys --index-name KeyHashIndex", "key_hash"),
    ("--projection-expression", f"aws dynamodb get-item --table-name {AUTH} "
     f"--key '{_j({'auth_id': {'S': 'auth-0001'}})}' --projection-expression 'auth_id, #t' "
     f"--expression-attribute-names '{_j({'#t': 'refresh_token'})}'", "refresh_token"),
    ("--exclusive-start-key holding a secret", f"aws dynamodb scan --table-name {AUTH} "
     f"--exclusive-start-key '{_j({'auth_id': {'S': 'a'}, 'access_token': {'S': 'ya29'}})}'",
     "access_token"),
    ("--condition-expression of a write", f"aws dynamodb put-item --table-name {AUTH} "
     f"--item '{_j({'auth_id': {'S': 'auth-x'}})}' "
     "--condition-expression 'attribute_not_exists(auth_id) or begins_with(access_token, :p)' "
     f"--expression-attribute-values '{_j({':p': {'S': 'ya29'}})}'", "access_token"),
    ("a compared value holding a secret map key",
     "aws dynamodb scan --table-name mfh-dev-helpers --filter-expression 'config = :m' "
     f"--expression-attribute-values '{_j({':m': {'M': {'api_key': {'S': 'guess'}}}})}'",
     "api_key"),
    ("an index keyed by a secret (gsi create)",
     "gsi create platform-connection-auths TokenIndex connection_id access_token", "access_token"),
]


def _record(client: Any) -> list[str]:
    """Every DynamoDB operation the client sends from now on (real calls, not a stub)."""
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*",
                                lambda model, **_: calls.append(model.name))
    return calls


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_secret_tests_are_refused_through_slack_and_read_nothing(bot: Any) -> None:
    """Claim: no expression a reader sends through Slack can test a secret; nothing is read."""
    calls = _record(bot.services.client)
    for n, (what, text, attr) in enumerate(ATTACKS, 1):
        calls.clear()
        assert bot.sender.slash(text, user="U_READER").status == 200
        answer = _text(bot.slack.wait_for("/response/", n)[n - 1].body)
        assert f"`{attr}`" in answer, (what, answer)
        assert "Nothing was" in answer and "internal error" not in answer, (what, answer)
        assert calls == [], (what, calls)
    assert not bot.slack.find("/api/chat.postMessage")  # no write request was made either


def test_refusal_is_the_same_whatever_the_data(bot: Any) -> None:
    """Claim: a refused guess and a right guess get the same answer (no oracle in the text)."""
    right, wrong = demo.DEMO_SECRETS[0][:11], "ya29.demo-b"
    assert demo.DEMO_SECRETS[0].startswith(right) and not demo.DEMO_SECRETS[0].startswith(wrong)
    answers = []
    for n, guess in enumerate((right, wrong), 1):
        bot.sender.slash("count platform-connection-auths --exact --filter "
                         f"\"auth_id = 'auth-0001' and begins_with(access_token, '{guess}')\"")
        body = bot.slack.wait_for("/response/", n)[n - 1].body
        answers.append(_text(body).replace(guess, "<guess>"))
    assert answers[0] == answers[1]
    assert "items" not in answers[0]


def test_allowed_uses_still_answer(bot: Any) -> None:
    """Claim: presence tests and the declared api-key pattern (whole hash) still work."""
    checks = [
        (f"api-key {demo.DEMO_KEY_HASH}", demo.DEMO_KEY_HASH[:8]),
        (f"query api-keys key_hash={demo.DEMO_KEY_HASH}", demo.DEMO_KEY_HASH[:8]),
        ("aws dynamodb query --table-name mfh-dev-api-keys --index-name KeyHashIndex "
         "--key-condition-expression 'key_hash = :h' "
         f"--expression-attribute-values '{_j({':h': {'S': demo.DEMO_KEY_HASH}})}'",
         demo.DEMO_KEY_HASH[:8]),
        ("count platform-connection-auths --exact --filter \"attribute_exists(access_token)\"",
         "matching the filter"),
        ("scan platform-connection-auths --filter \"attribute_not_exists(api_secret)\"",
         "No items"),
    ]
    calls = _record(bot.services.client)
    for n, (text, shown) in enumerate(checks, 1):
        calls.clear()
        bot.sender.slash(text)
        answer = _text(bot.slack.wait_for("/response/", n)[n - 1].body)
        assert shown in answer, (text, answer)
        assert not any(s in answer for s in demo.DEMO_SECRETS), text
        assert calls and set(calls) <= {"Query", "Scan"}, (text, calls)


@pytest.fixture
def console(services: Any, seeded: Any) -> Iterator[tuple[Console, io.StringIO, list[str]]]:
    err = io.StringIO()
    calls = _record(services.client)
    yield Console(services, "U_READER", out=io.StringIO(), err=err), err, calls


def test_secret_tests_are_refused_in_the_console_and_read_nothing(
        console: tuple[Console, io.StringIO, list[str]]) -> None:
    """Claim: the same attacks typed in the console: exit 1, the attribute named, no call."""
    con, err, calls = console
    for what, text, attr in ATTACKS:
        calls.clear()
        start = len(err.getvalue())
        assert con.one(f"/ddb {text}") == 1, what
        shown = err.getvalue()[start:]
        assert f"`{attr}`" in shown and "Nothing was" in shown, (what, shown)
        assert calls == [], (what, calls)


def test_demo_console_refuses_the_issue_attack() -> None:
    """Claim: `python -m bot demo -c` (a process of its own) refuses the prefix oracle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "-c", ATTACKS[0][1]], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "`access_token` is a secret attribute" in proc.stderr
    assert "Nothing was read" in proc.stderr
    assert "items" not in proc.stdout
