"""``python -m bot audit export``: JSON Lines of the audit log to stdout, a file or S3 (moto)."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name

from bot.__main__ import main
from commands import dispatch
from dynamo import demo
from dynamo.audit_export import FIELDS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-1234567890-0987654321-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def history(make_services: Any, seeded: Any, tmp_path: Path) -> Any:
    """A quorum request approved by two people, and a rejected delete with a reason."""
    path = tmp_path / "policy.yml"
    path.write_text("tables:\n  users: {update: {approvals: 2}}\n")
    services = make_services(ddb_bot_policy_file=str(path))

    def run(user: str, text: str) -> Any:
        return dispatch(text, services.context(user, "C_OPS"))

    update = run("U_ALICE", f"update users {demo.DEMO_USER_ID} set status=disabled").id
    run("U_BOB", f"approve {update}")
    run("U_BOB", f"approve {update}")  # refused: counts once
    run("U_CAROL", f"approve {update}")
    delete = run("U_ALICE", f"delete users {demo.DEMO_USER_ID}").id
    run("U_BOB", f"reject {delete} leaked {TOKEN} in the ticket")
    return services, update, delete


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_export_to_stdout_one_object_per_record(history: Any, capsys: Any) -> None:
    _services, update, delete = history
    assert main(["audit", "export", "--since", "1h"]) == 0
    out = capsys.readouterr().out
    records = _lines(out)
    assert [tuple(r) for r in records] == [FIELDS] * len(records)
    assert [(r["actor"], r["action"], r["request_id"]) for r in records] == [
        ("U_ALICE", "request", update), ("U_BOB", "approve", update),
        ("U_BOB", "approve refused", update), ("U_CAROL", "approve", update),
        ("U_ALICE", "request", delete), ("U_BOB", "reject", delete)]
    first, partial, refused, final = records[:4]
    assert (first["table"], first["kind"], first["key"]) == ("users", "update",
                                                             {"user_id": demo.DEMO_USER_ID})
    assert first["outcome"] == "PENDING" and first["approvals_needed"] == 2
    status = next(c for c in first["change"] if c["attribute"] == "status")
    assert status["after"] == "disabled" and status["before"] not in ("", "disabled")
    assert partial["approvals"] == ["U_BOB"] and partial["outcome"] == "PENDING"
    assert "counts once" in refused["outcome"]
    assert final["approvals"] == ["U_BOB", "U_CAROL"] and final["outcome"] == "EXECUTED"
    assert all(r["break_glass"] is False for r in records)
    rejected = records[-1]
    assert rejected["outcome"] == "REJECTED" and rejected["reason"].startswith("leaked ")
    assert TOKEN not in out  # the reason's token is masked
    assert datetime.fromisoformat(records[0]["time"].replace("Z", "+00:00")) <= \
        datetime.fromisoformat(records[-1]["time"].replace("Z", "+00:00"))


def test_window_and_file_target(history: Any, tmp_path: Path, capsys: Any) -> None:
    now = datetime.now(UTC)
    out = tmp_path / "audit.jsonl"
    earlier = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["audit", "export", "--since", "3h", "--until", earlier, "--out", str(out)]) == 0
    assert out.read_text() == ""
    assert "0 records" in capsys.readouterr().err
    assert main(["audit", "export", "--since", earlier, "--out", str(out)]) == 0
    assert len(_lines(out.read_text())) == 6
    assert f"6 records → {out}" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday"], "--since: `yesterday` is neither a duration"),
    (["--since", "0d"], "--since: `0d` is not a duration"),
    (["--since", "1h", "--until", "2h"], "must be before --until"),
    (["--out", "s3://"], "give a bucket"),
])
def test_bad_arguments_say_what_is_wrong_and_write_nothing(history: Any, capsys: Any,
                                                           args: list[str], message: str) -> None:
    assert main(["audit", "export", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("audit export: ") and message in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_s3_target_writes_one_object_per_run_under_a_date_prefix(history: Any, capsys: Any) -> None:
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="audit-bucket",
                     CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert main(["audit", "export", "--since", "1h"]) == 0
    expected = capsys.readouterr().out
    for _ in range(2):
        assert main(["audit", "export", "--since", "1h", "--out", "s3://audit-bucket/ddb-bot/"]) == 0
    err = capsys.readouterr().err
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="audit-bucket")["Contents"])
    assert len(keys) == 2 and keys[0] != keys[1]
    today = datetime.now(UTC)
    for key in keys:
        assert key.startswith(f"ddb-bot/{today:%Y/%m/%d}/audit-") and key.endswith(".jsonl")
        assert f"s3://audit-bucket/{key}" in err
        obj = s3.get_object(Bucket="audit-bucket", Key=key)
        assert obj["Body"].read().decode() == expected
        assert obj["ServerSideEncryption"] == "AES256"


def test_missing_bucket_fails_with_the_error(history: Any, capsys: Any) -> None:
    assert main(["audit", "export", "--out", "s3://no-such-bucket/x"]) == 1
    assert "NoSuchBucket" in capsys.readouterr().err


def test_export_iam_policy_grants_what_the_export_calls_and_no_more() -> None:
    policy = json.loads((ROOT / "iam" / "ddb-bot-audit-export-policy.json").read_text())
    granted = {a for st in policy["Statement"] for a in st["Action"]}
    session = botocore.session.get_session()
    ops = {svc: {xform_name(op): op for op in session.get_service_model(svc).operation_names}
           for svc in ("s3", "dynamodb")}
    called: set[str] = set()
    for rel in ("dynamo/audit_export.py", "bot/audit_cli.py"):
        tree = ast.parse((ROOT / rel).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                receiver = node.func.value
                who = receiver.id if isinstance(receiver, ast.Name) else ""
                if who in ("s3", "client") and name in ops["s3" if who == "s3" else "dynamodb"]:
                    svc = "s3" if who == "s3" else "dynamodb"
                    called.add(f"{svc}:{ops[svc][name]}")
    assert called == {"s3:PutObject", "dynamodb:Query"}
    assert granted == called
    query = next(st for st in policy["Statement"] if "dynamodb:Query" in st["Action"])
    assert query["Resource"] == ["arn:aws:dynamodb:${AWS_REGION}:${ACCOUNT_ID}:table/mfh-${STAGE}-ddb-bot"]
    assert query["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == ["AUDIT"]
