"""The /ddb language: parse text into a command, run it, return a plain result."""

from commands import awscli as _awscli  # noqa: F401
from commands import digest as _digest  # noqa: F401
from commands import lookup as _lookup  # noqa: F401
from commands import patterns as _patterns  # noqa: F401  (registers subcommands)
from commands import reads as _reads  # noqa: F401
from commands import review as _review  # noqa: F401
from commands import undo as _undo  # noqa: F401
from commands import writes as _writes  # noqa: F401
from commands.registry import REGISTRY, CommandError, Context, dispatch

__all__ = ["REGISTRY", "CommandError", "Context", "dispatch"]
