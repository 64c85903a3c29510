"""One workspace: a request from any workspace but the bot token's is refused before any read.

The signing secret belongs to the Slack app, not to a workspace: if the app is installed
in a second workspace (or an org), requests from there verify just as well. The bot serves
the workspace its ``SLACK_BOT_TOKEN`` belongs to, which ``auth.test`` names (``team_id``,
and ``enterprise_id`` in an Enterprise Grid org); this middleware compares the request's
workspace and org, as Bolt reads them from any payload (``context.team_id`` /
``context.enterprise_id``), with those, and answers anything else with a refusal before a
listener runs. An org-wide installation (``is_enterprise_install``) serves its whole org.

Until ``auth.test`` has answered, the token's workspace is unknown and requests are
refused too (closed, not open): a request waits up to ``WAIT_S`` for an ``auth.test``
under way, which at start (``serve`` starts one as the port opens) takes a moment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.authorization.internals import _is_no_auth_required

from bot.edge import BackgroundAuthorization
from bot.logs import CURRENT

log = logging.getLogger(__name__)
WAIT_S = 2.0  # a request waits this long for an auth.test under way (Slack's ack: 3 s)
POLL_S = 0.02
FOREIGN = ("ddb-bot serves only the Slack workspace it is installed in; this request came "
           "from another ({why}), so nothing was read or run.")
UNKNOWN = ("ddb-bot has not yet confirmed which Slack workspace its token belongs to "
           "(auth.test); nothing was read or run. Try again in a moment.")


def foreign(token: Mapping[str, Any], team: str | None, enterprise: str | None) -> str | None:
    """Why a request for ``team`` / ``enterprise`` is not for the token's workspace (None:
    it is). ``token`` is ``auth.test``'s answer."""
    ours_enterprise = token.get("enterprise_id") or None
    if token.get("is_enterprise_install"):
        return None if enterprise == ours_enterprise else f"org {enterprise or 'none'}"
    if team != token.get("team_id"):
        return f"workspace {team or 'none'}"
    if enterprise and enterprise != ours_enterprise:
        return f"org {enterprise}"
    return None


def _refused(outcome: str) -> None:
    """The request's log line (bot.logs) says why nothing ran."""
    info = CURRENT.get()
    if info is not None:
        info.fields["outcome"] = outcome


class OneWorkspace(Middleware):
    """Refuse every request whose workspace is not the token's (module docstring)."""

    def __init__(self, authorization: BackgroundAuthorization) -> None:
        self.authorization = authorization

    def _token(self) -> Mapping[str, Any] | None:
        """``auth.test``'s answer, waiting up to ``WAIT_S`` for one under way."""
        auth = self.authorization
        if not auth.auth_test_result:
            auth.refresh(wait=True)  # starts one unless one runs or one failed lately
            deadline = time.monotonic() + WAIT_S
            while not auth.auth_test_result and auth.fetching and time.monotonic() < deadline:
                time.sleep(POLL_S)
        result = auth.auth_test_result
        return result.data if result and isinstance(result.data, dict) else None

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse:
        if _is_no_auth_required(req):  # url_verification, ssl_check: nothing is read
            return next()
        context = req.context
        token = self._token()
        if token is None:
            _refused("workspace_unknown")
            log.warning("refused a request: the token's workspace is not known yet (auth.test)")
            return BoltResponse(status=200, body=UNKNOWN)
        why = foreign(token, context.team_id, context.enterprise_id)
        if why is not None:
            _refused("other_workspace")
            log.warning("refused a request from another workspace than the token's",
                        extra={"request_team": context.team_id,
                               "request_enterprise": context.enterprise_id,
                               "token_team": token.get("team_id"),
                               "token_enterprise": token.get("enterprise_id")})
            return BoltResponse(status=200, body=FOREIGN.format(why=why))
        return next()
