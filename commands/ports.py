"""What a command may use, as typed interfaces: the ports of the ``/ddb`` language.

A command sees its dependencies only through :class:`commands.registry.Context`, and the
context carries these Protocols instead of ``Any``: a reader sees what a command may
touch, and a type checker can hold the edges to it. The bot's ``Services`` satisfies
:class:`CommandServices` structurally (``bot.access.Access`` is an :class:`AccessPolicy`,
``dynamo.requests.Requests`` is :class:`WriteRequests`, ``bot.config.Settings`` is
:class:`CommandSettings`), so nothing here imports the bot or Slack.

They are ``runtime_checkable`` so a test can assert the real classes still fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from dynamo.audit import AuditRecord
    from dynamo.requests import Gsi, Kind, WriteRequest


@runtime_checkable
class CommandSettings(Protocol):
    """The slice of the bot's settings that commands read (all optional to a caller)."""

    @property
    def ddb_bot_count_cap(self) -> int: ...
    @property
    def ddb_bot_approval_channel(self) -> str | None: ...
    @property
    def ddb_bot_approvers(self) -> Sequence[str]: ...
    @property
    def ddb_bot_failed_statuses(self) -> Sequence[str]: ...
    @property
    def ddb_bot_digest_cron(self) -> str: ...
    @property
    def ddb_bot_digest_tz(self) -> str: ...


@runtime_checkable
class AccessPolicy(Protocol):
    """Who may do what. ``dispatch`` asks :meth:`denial` for a command's declared group;
    the finer questions (may this person approve?) go through the same port."""

    def denial(self, group: str, user: str, channel: str | None) -> str | None: ...
    def shown(self, name: str, group: str, user: str, channel: str | None) -> bool: ...
    def is_reader(self, user: str) -> bool: ...
    def is_approver(self, user: str) -> bool: ...
    def may_approve_some(self, user: str) -> bool: ...


@runtime_checkable
class AuditLog(Protocol):
    """The audit trail of write requests, newest first."""

    def recent(self, limit: int = 20) -> list[AuditRecord]: ...


@runtime_checkable
class WriteRequests(Protocol):
    """Write requests: planned, stored PENDING, decided by a second person."""

    @property
    def audit(self) -> AuditLog: ...

    def plan_update(self, table_name: str, key: dict[str, Any], set_: dict[str, Any],
                    remove: list[str], requester: str, *, touch: bool = True,
                    **kw: Any) -> WriteRequest: ...
    def plan_delete(self, table_name: str, key: dict[str, Any], requester: str,
                    **kw: Any) -> WriteRequest: ...
    def plan_put(self, table_name: str, item: dict[str, Any], requester: str, *,
                 replace: bool = False, **kw: Any) -> WriteRequest: ...
    def plan_gsi(self, table_name: str, gsi: Gsi, create: bool, requester: str,
                 **kw: Any) -> WriteRequest: ...
    def plan_undo(self, request_id: str, requester: str, **kw: Any) -> WriteRequest: ...
    def save(self, req: WriteRequest) -> WriteRequest: ...
    def list(self, *, statuses: Iterable[str] | None = None, limit: int = 50,
             requester: str | None = None) -> list[WriteRequest]: ...
    def may_decide(self, req: WriteRequest, user: str,
                   is_approver: Callable[[str], bool]) -> bool: ...
    def approve(self, request_id: str, approver: str,
                is_approver: Callable[[str], bool] = ...) -> WriteRequest: ...
    def reject(self, request_id: str, user: str, reason: str | None,
               is_approver: Callable[[str], bool] = ...) -> WriteRequest: ...
    # break-glass (dynamo.requests.break_glass)
    def break_glass_denial(self, user: str, kind: Kind | None = None) -> str | None: ...
    def refuse_break_glass(self, user: str, why: str, summary: str,
                           detail: dict[str, Any] | None = None) -> None: ...
    def run_break_glass(self, req: WriteRequest, reason: str) -> WriteRequest: ...
    def review(self, request_id: str, reviewer: str,
               is_approver: Callable[[str], bool] = ...) -> WriteRequest: ...
    def needs_review(self, limit: int = 50) -> list[WriteRequest]: ...


@runtime_checkable
class CommandServices(Protocol):
    """The long-lived parts a command may reach beyond the store."""

    @property
    def requests(self) -> WriteRequests: ...
    @property
    def access(self) -> AccessPolicy: ...
