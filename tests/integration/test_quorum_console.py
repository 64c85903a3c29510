"""The console does what Slack does: quorum progress, `as <user>`, the outcome DM line."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from bot.console import Console
from dynamo import demo


def test_quorum_in_the_console_with_as(make_services: Any, seeded: Any, tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {update: {approvals: 2}}\n")
    services = make_services(ddb_bot_policy_file=str(path))
    out = io.StringIO()
    console = Console(services, "U_ALICE", out=out, err=out)
    assert console.one(f"/ddb update users {demo.DEMO_USER_ID} set status=disabled") == 0
    asked = out.getvalue()
    assert "Needs 2 approvals from distinct people, not the requester (approval policy)" in asked
    rid = re.search(r"Write request (R\w+)", asked).group(1)
    script = (f"approve {rid}\nas U_BOB\napprove {rid}\napprove {rid}\nas U_CAROL\n"
              f"approve {rid}\napprove {rid}\n")
    console.loop(io.StringIO(script))
    text = out.getvalue()
    assert "refused: you asked for this change" in text
    assert "approval recorded: 1 of 2 approvals: @U_BOB" in text
    assert "status: PENDING (1 of 2 approvals: @U_BOB)" in text
    assert "refused: you already approved request" in text and "counts once" in text
    assert "status: EXECUTED (approved by @U_BOB, @U_CAROL)" in text
    assert text.count("(DM to @U_ALICE)") == 1
    assert f"(DM to @U_ALICE) Your request {rid} (update users {demo.DEMO_USER_ID}) was executed " \
           "— approved by @U_BOB, @U_CAROL" in text
    assert "already EXECUTED" in text  # U_CAROL's second click
    item = services.client.get_item(TableName="mfh-dev-users",
                                    Key={"user_id": {"S": demo.DEMO_USER_ID}})["Item"]
    assert item["status"] == {"S": "disabled"}
