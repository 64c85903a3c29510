"""``Refused``: a decision that is not allowed, in its own module so that every part of the
state machine (``execute``, ``break_glass``) can raise it without importing the others."""

from __future__ import annotations

from dynamo.errors import DdbBotError


class Refused(DdbBotError):
    """An approval, rejection, break-glass or review that is not allowed; nothing changed."""
