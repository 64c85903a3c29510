"""One base for the errors a person is meant to read.

As bolt's ``BoltError`` and PynamoDB's ``PynamoDBException``: every user-facing error of
the DynamoDB layer and the ``/ddb`` language derives from :class:`DdbBotError`, so the
dispatcher translates one type into an answer (its message, plus the command's usage)
and anything else is a bug. ``code`` carries DynamoDB's error code when the error came
from a failed call (PynamoDB's ``cause_response_code``), e.g.
``ConditionalCheckFailedException``; it is None for bad input.
"""

from __future__ import annotations


class DdbBotError(Exception):
    """A failure the person can act on: the message says what is wrong."""

    # whether the dispatcher logs it as a warning (a failing service, not bad input)
    logged = False
    # the usage line to show with it, when the error knows it better than the command
    usage: str | None = None

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
