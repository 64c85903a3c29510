"""Who may do what: DDB_BOT_ALLOWED_CHANNELS, _READERS, _REQUESTERS, _APPROVERS.

Entries are Slack user ids or user group ids (``S…``); groups are expanded with
``usergroups.users.list`` and cached for a few minutes. An empty list means anyone in
the workspace (for approvers: anyone but the requester, which the state machine checks).
Closed by default: ``serve`` and ``socket`` do not start while DDB_BOT_READERS or
DDB_BOT_APPROVERS is empty unless DDB_BOT_OPEN_ACCESS=true says the whole workspace is
meant (``closed_by_default``); then the log says so at start and ``/ddb help`` tells
admins (``open_access_note``). The demo and the console are local and keep the open default.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from bot.config import Settings
from dynamo.policy import Policy

log = logging.getLogger(__name__)
GROUP_CACHE_SECONDS = 300
LOCAL_CHANNELS = {"CONSOLE"}


def left_open(settings: Settings) -> list[tuple[str, str]]:
    """(variable, what the whole workspace may then do) for each of DDB_BOT_READERS and
    DDB_BOT_APPROVERS left empty."""
    lists = (("DDB_BOT_READERS", settings.ddb_bot_readers,
              "everyone in the workspace reads every table, PII included"),
             ("DDB_BOT_APPROVERS", settings.ddb_bot_approvers,
              "everyone in the workspace approves changes (never their own)"))
    return [(name, what) for name, ids, what in lists if not ids]


def closed_by_default(settings: Settings) -> str | None:
    """Why ``serve`` / ``socket`` must not start (None: they may): an empty list opens the
    bot to the whole workspace, which only DDB_BOT_OPEN_ACCESS=true may say is meant."""
    empty = left_open(settings)
    if not empty or settings.ddb_bot_open_access:
        return None
    names = " and ".join(name for name, _ in empty)
    return (f"ddb-bot: {names} {'is' if len(empty) == 1 else 'are'} empty, so "
            + "; ".join(what for _, what in empty) + ". Set "
            + " and ".join(name for name, _ in empty)
            + " to Slack user or user-group ids (U…, S…), or set DDB_BOT_OPEN_ACCESS=true if "
            "the whole workspace is meant (README, Configuration).")


def open_access_warning(settings: Settings) -> str | None:
    """The start-up warning when DDB_BOT_OPEN_ACCESS=true leaves a list open (else None)."""
    empty = left_open(settings)
    if not empty or not settings.ddb_bot_open_access:
        return None
    return ("DDB_BOT_OPEN_ACCESS=true: " + "; ".join(f"{name} is empty, so {what}"
                                                     for name, what in empty))


class Access:
    def __init__(self, settings: Settings, web_client: Any | None = None,
                 cache_seconds: float = GROUP_CACHE_SECONDS, policy: Policy | None = None) -> None:
        self.settings = settings
        self.policy = policy or Policy()
        self.client = web_client
        self.cache_seconds = cache_seconds
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def _group(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._groups.get(group_id)
            if cached and now - cached[0] < self.cache_seconds:
                return cached[1]
        members: frozenset[str] = frozenset()
        if self.client is None:
            log.warning("user group %s cannot be resolved without Slack; treated as empty",
                        group_id)
        else:
            try:
                resp = self.client.usergroups_users_list(usergroup=group_id)
                members = frozenset(resp.get("users", []))
            except Exception as exc:  # a Slack error must deny, never grant
                log.warning("usergroups.users.list %s failed: %s", group_id, exc)
                return frozenset()
        with self._lock:
            self._groups[group_id] = (now, members)
        return members

    def member(self, ids: Sequence[str], user: str) -> bool:
        """Whether ``user`` is named in ``ids`` or in one of its user groups."""
        return self._member(ids, user)

    def _member(self, ids: Sequence[str], user: str) -> bool:
        """Whether ``user`` is named in ``ids`` or in one of its user groups."""
        if user in ids:
            return True
        return any(user in self._group(g) for g in ids if g.startswith("S"))

    def _allowed(self, ids: list[str], user: str) -> bool:
        return not ids or self._member(ids, user)

    def is_reader(self, user: str) -> bool:
        """Readers, plus anyone explicitly named a requester or approver (they must see data)."""
        s = self.settings
        return (self._allowed(s.ddb_bot_readers, user)
                or (bool(s.ddb_bot_requesters) and self._member(s.ddb_bot_requesters, user))
                or (bool(s.ddb_bot_approvers) and self._member(s.ddb_bot_approvers, user)))

    def is_requester(self, user: str) -> bool:
        return self._allowed(self.settings.ddb_bot_requesters, user)

    def is_approver(self, user: str) -> bool:
        return self._allowed(self.settings.ddb_bot_approvers, user)

    def may_approve_some(self, user: str) -> bool:
        """Whether some request could be approved by ``user``: DDB_BOT_APPROVERS (empty: anyone)
        or an approver list of the approval policy."""
        return self.is_approver(user) or any(self._member(ids, user)
                                             for ids in self.policy.approver_lists())

    def open_access_note(self, user: str) -> str | None:
        """For someone who may approve (an admin): what DDB_BOT_OPEN_ACCESS=true opens to
        the whole workspace; None for others, or when nothing is open."""
        warning = open_access_warning(self.settings)
        if warning is None or not self.may_approve_some(user):
            return None
        return (f":warning: {warning}. Name readers and approvers (Slack user or user-group "
                "ids) to close it.")

    def shown(self, name: str, group: str, user: str, channel: str | None) -> bool:
        """Whether ``/ddb help`` lists command ``name`` to ``user``: only what they may run."""
        if self.denial(group, user, channel):
            return False
        if name in ("approve", "review"):
            return self.may_approve_some(user)
        if name == "reject":  # approvers reject; requesters withdraw their own
            return self.may_approve_some(user) or self.is_requester(user)
        return True

    def _named_approver(self, user: str) -> bool:
        """Named as an approver (env or policy): may decide requests without being a reader."""
        s = self.settings
        return ((bool(s.ddb_bot_approvers) and self.is_approver(user))
                or any(self._member(ids, user) for ids in self.policy.approver_lists()))

    def channel_allowed(self, channel: str | None) -> bool:
        """No channel means the person's own App Home, which is never a shared channel."""
        allowed = self.settings.ddb_bot_allowed_channels
        return not allowed or channel is None or channel in LOCAL_CHANNELS or channel in allowed

    def denial(self, group: str, user: str, channel: str | None) -> str | None:
        """Why ``user`` may not run a command of ``group`` here, or None."""
        if not self.channel_allowed(channel):
            return "ddb-bot is not enabled in this channel (DDB_BOT_ALLOWED_CHANNELS)"
        if group == "write":
            if not self.is_requester(user):
                return "you are not in DDB_BOT_REQUESTERS, so you cannot request changes"
            return None
        if group == "admin" and self._named_approver(user):
            return None  # approvers decide requests even when not listed as readers
        if not self.is_reader(user):
            return "you are not in DDB_BOT_READERS, so you cannot use ddb-bot"
        return None
