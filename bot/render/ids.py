"""Action and callback ids: one name each, shared by the renderers, listeners and manifest."""

from __future__ import annotations

NEXT_PAGE = "ddb_next_page"
SHOW_JSON = "ddb_show_json"
REQUEST_CHANGE = "ddb_request_change"
APPROVE = "ddb_approve"
REJECT = "ddb_reject"
SHOW_EXECUTIONS = "ddb_show_executions"
LOOKUP_SHORTCUT = "ddb_lookup"
CHANGE_SHORTCUT = "ddb_change"
REREQUEST = "ddb_rerequest"
UNDO = "ddb_undo"
CHANGE_MODAL = "ddb_change_modal"
REVIEW = "ddb_review"
