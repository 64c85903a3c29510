"""The console undoes as Slack does: `/ddb undo`, `as <user>` to approve, secrets unseen."""

from __future__ import annotations

import io
import re
from typing import Any

from bot.console import Console
from dynamo import demo

AUTH_KEY = {"auth_id": {"S": "auth-0001"}}
AUTHS = "mfh-dev-platform-connection-auths"


def _ids(text: str) -> list[str]:
    return re.findall(r"Write request (R\w+)", text)


def test_undo_of_a_delete_in_the_console_with_as(services: Any, seeded: Any) -> None:
    original = services.client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"]
    out = io.StringIO()
    console = Console(services, "U_ALICE", out=out, err=out)
    assert console.one("/ddb delete platform-connection-auths auth-0001") == 0
    (rid,) = _ids(out.getvalue())
    console.loop(io.StringIO(f"as U_BOB\napprove {rid}\nas U_CAROL\nundo {rid}\n"))
    text = out.getvalue()
    assert f"undo with `/ddb undo {rid}`" in text  # the executed delete says how
    assert "Item" not in services.client.get_item(TableName=AUTHS, Key=AUTH_KEY)
    undo_id = _ids(text)[-1]
    assert f"Write request {undo_id}: put platform-connection-auths auth-0001 (undo of {rid})" \
        in text
    assert re.search(r"attribute\s+current\s+restored", text)
    assert re.search(r"access_token\s+\(absent\)\s+\(restored, not shown\)", text)
    console.loop(io.StringIO(f"approve {undo_id}\nas U_BOB\napprove {undo_id}\n"))
    text = out.getvalue()
    assert "refused: you asked for this change" in text  # U_CAROL asked for the undo
    assert "status: EXECUTED (by U_BOB" in text.split(f"Write request {undo_id}")[-1]
    assert f"(DM to @U_CAROL) Your request {undo_id}" in text
    assert services.client.get_item(TableName=AUTHS, Key=AUTH_KEY)["Item"] == original
    for secret in demo.DEMO_SECRETS:
        assert secret not in text


def test_undo_refused_in_the_console_goes_to_stderr(services: Any, seeded: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(services, "U_ALICE", out=out, err=err)
    assert console.one("/ddb undo R0000000000NOPE") == 1
    assert "no write request `R0000000000NOPE`; nothing to undo" in err.getvalue()
    assert "/ddb undo <request id>" in err.getvalue()
