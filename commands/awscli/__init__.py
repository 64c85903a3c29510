"""``/ddb aws dynamodb ...``: pasted AWS CLI commands, parsed into a checked call and run.

Nothing is passed through: tables resolve through the declared schema, keys and values
are checked against it, and expressions become boto3 condition objects. Reads run at
once and answer as the aws CLI would (typed response, its paging and --query); writes
become approval requests.

``flags`` (the flag table), ``shorthand`` / ``values`` (typed values, JSON or the CLI's
shorthand), ``expressions``, ``call`` (the parsed call), ``reads`` + ``batch`` +
``output`` (running reads and shaping answers), ``writes`` (approval requests).

Only ``flags`` loads with the package (the usage is built from it): the parser, typed
values, the CLI's shorthand, paging and output load on the first ``/ddb aws``, so
``serve`` does not pay for them at start (README, *Start-up*).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from commands.awscli.flags import GLOBAL, OP_FLAGS, READ_OPS, WRITE_OPS, split_op, usage
from commands.registry import CommandError, Context, command
from commands.results import Result

USAGE = usage()
EXAMPLES = (
    "/ddb aws dynamodb get-item --table-name mfh-dev-users "
    "--key '{\"user_id\":{\"S\":\"user:abc-123\"}}' --region us-west-2",
    "/ddb aws dynamodb get-item --table-name mfh-dev-users --key 'user_id={S=user:abc-123}'",
    "/ddb aws dynamodb query --table-name mfh-dev-users --index-name EmailIndex "
    "--key-condition-expression \"email = :e\" "
    "--expression-attribute-values '{\":e\":{\"S\":\"user@example.com\"}}' --region us-west-2",
    "/ddb aws dynamodb query --table-name mfh-dev-executions --index-name HelperIdCreatedAtIndex "
    "--key-condition-expression \"helper_id = :hid\" "
    "--expression-attribute-values ':hid={S=helper-123}' "
    "--no-scan-index-forward --limit 10 --region us-west-2",
    "/ddb aws dynamodb scan --table-name mfh-dev-users --max-items 10 --region us-west-2",
    "/ddb aws dynamodb scan --table-name mfh-dev-users --select COUNT --query Count",
    "/ddb aws dynamodb describe-table --table-name mfh-dev-users --region us-west-2 "
    "--query 'Table.ItemCount'",
)

__all__ = ["GLOBAL", "OP_FLAGS", "READ_OPS", "USAGE", "WRITE_OPS", "AwsCall", "parse_call",
           "parse_update_expression", "require_all_used", "split_op"]

# names this package re-exports from the modules it loads on first use
_LAZY = {"AwsCall": "call", "parse_call": "call", "require_all_used": "call",
         "parse_update_expression": "writes"}


def __getattr__(name: str) -> Any:
    """``from commands.awscli import parse_call`` still works: the module loads then."""
    if name in _LAZY:
        return getattr(import_module(f"commands.awscli.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@command("aws", usage=USAGE, examples=EXAMPLES)
def aws(args: list[str], ctx: Context) -> Result:
    """Run a pasted `aws dynamodb` command as the aws CLI would (reads), or request it (writes).

    Flags are parsed, never passed through: tables must be this stage's, expressions
    use #name/:value placeholders, and writes (update-item, delete-item, put-item)
    become approval requests.
    """
    from commands import break_glass as bg
    from commands.awscli.call import parse_call
    from commands.awscli.reads import run
    from commands.awscli.writes import write

    args, reason = bg.take_reason(args, USAGE)
    call = parse_call(args, ctx)
    if call.op in WRITE_OPS:
        return write(call, ctx, reason)
    if reason is not None:
        raise CommandError(f"{bg.OPTION} runs a write at once (update-item, delete-item, "
                           f"put-item); `{call.op}` only reads", USAGE)
    return run(call, ctx)
