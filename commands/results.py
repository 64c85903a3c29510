"""Plain results of commands: no Slack types, so the console and Slack render the same.

Items are redacted when a result is built (``ItemsResult``), so no renderer can show a
secret by forgetting to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dynamo.redact import mask_text, redact_any, redact_item
from dynamo.schema import BY_SHORT

if TYPE_CHECKING:
    from dynamo.requests import WriteRequest


class Result(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: str = "result"
    title: str = ""
    notes: list[str] = Field(default_factory=list)
    ok: bool = True
    # a read whose answer may be posted to the channel (``--share``)
    share: bool = False

    @model_validator(mode="after")
    def _mask_common(self) -> Result:
        # titles and notes echo user input (ids, values): mask credentials there too
        self.title = mask_text(self.title)
        self.notes = [mask_text(n) for n in self.notes]
        return self


class TextResult(Result):
    """Headed sections of mrkdwn-ish text (help, schema, describe)."""

    kind: Literal["text"] = "text"
    sections: list[tuple[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mask(self) -> TextResult:
        self.sections = [(h, mask_text(t)) for h, t in self.sections]
        return self


class TableResult(Result):
    """Rows under column headings (tables, patterns, pending)."""

    kind: Literal["table"] = "table"
    columns: list[str]
    rows: list[list[str]]
    # further tables shown below this one, each under its own title (``/ddb pending``)
    more: list[TableResult] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mask(self) -> TableResult:
        self.rows = [[mask_text(str(c)) for c in row] for row in self.rows]
        return self


class ItemsResult(Result):
    """Items of one table, one page of them, with where the next page starts."""

    kind: Literal["items"] = "items"
    table: str | None = None  # short name, drives key order and redaction
    index: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    next_key: dict[str, Any] | None = None
    scanned: int = 0
    consumed: float = 0.0
    # set when the result is a single-item lookup (get, user by id)
    single: bool = False

    @model_validator(mode="after")
    def _redact(self) -> ItemsResult:
        schema = BY_SHORT.get(self.table) if self.table else None
        self.items = [redact_item(i, schema) for i in self.items]
        return self

    @property
    def has_more(self) -> bool:
        return self.next_key is not None


class JsonResult(Result):
    """A JSON document (JMESPath output, raw describe-table)."""

    kind: Literal["json"] = "json"
    data: Any = None

    @model_validator(mode="after")
    def _redact(self) -> JsonResult:
        self.data = redact_any(self.data)
        return self


class ErrorResult(Result):
    """What is wrong, and the right usage."""

    kind: Literal["error"] = "error"
    ok: bool = False
    message: str
    usage: str = ""

    @model_validator(mode="after")
    def _mask(self) -> ErrorResult:
        self.message = mask_text(self.message)
        return self


# "break-glass": run at once by a break_glass member (EXECUTED or STALE); "reviewed": its
# review was recorded
Event = Literal["created", "approved", "decided", "refused", "expired", "break-glass", "reviewed"]
# fields of RequestResult that mean something else on WriteRequest (kind) or are derived
_OWN = frozenset({"kind", "status"})


class RequestResult(Result):
    """A write request as people see it: what, before → after, who, status.

    Built only from the request's redacted preview, never from its raw values.
    """

    kind: Literal["request"] = "request"
    # "approved": an approval was recorded and more are needed (still PENDING)
    event: Event = "created"
    id: str
    status: str = ""
    change: str = ""
    table: str = ""
    preview: list[tuple[str, str, str]] = Field(default_factory=list)
    requester: str = ""
    decided_by: str | None = None
    decided_at: int | None = None
    created_at: int | None = None
    expires_at: int | None = None
    reason: str | None = None
    error: str | None = None
    channel: str | None = None
    message_channel: str | None = None
    message_ts: str | None = None
    refusal: str | None = None
    need: int = 1  # distinct approvals the policy requires
    approvers: list[str] = Field(default_factory=list)  # the policy's; empty: DDB_BOT_APPROVERS
    judged: str | None = None  # why the rule is stricter than the kind's (judged by effect)
    approvals: list[str] = Field(default_factory=list)
    undo_of: str | None = None  # the executed request this one reverses (commands.undo)
    undoable: bool = False  # an executed update, delete or put: its message offers Undo
    # break-glass (dynamo.requests.break_glass): ran without approval, reviewed afterwards
    break_glass: bool = False
    break_glass_reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: int | None = None

    @model_validator(mode="after")
    def _mask(self) -> RequestResult:
        self.preview = [(a, mask_text(b), mask_text(c)) for a, b, c in self.preview]
        if self.break_glass_reason:
            self.break_glass_reason = mask_text(self.break_glass_reason)
        return self

    @property
    def needs_review(self) -> bool:
        """An executed break-glass change nobody has reviewed yet."""
        return self.break_glass and self.status == "EXECUTED" and not self.reviewed_by

    @classmethod
    def of(cls, req: WriteRequest, event: Event = "created") -> RequestResult:
        """The request as people see it. Each field this model shares by name with
        ``WriteRequest`` is carried over as it is (so no list here restates them); the
        rest is derived: the status's value, the summary, the redacted preview. Only
        fields declared above are carried, so raw values (``set``, ``before``) never are."""
        shared = {f.name: getattr(req, f.name) for f in fields(req)
                  if f.name in cls.model_fields and f.name not in _OWN}
        return cls(event=event, status=req.status.value, change=req.summary,
                   preview=req.preview(), title=f"Write request {req.id}",
                   undoable=req.status.value == "EXECUTED"
                   and req.kind.value in ("update", "delete", "put"), **shared)

    @property
    def columns(self) -> tuple[str, str]:
        """The preview's two value columns: an undo shows what it restores."""
        return ("current", "restored") if self.undo_of else ("before", "after")

    def requirement(self, mention: Callable[[str], str]) -> str:
        """What the approval policy requires, for the request message (empty: the default)."""
        if self.need <= 1 and not self.approvers:
            return ""
        n = "1 approval" if self.need == 1 else f"{self.need} approvals from distinct people"
        who = (" in " + ", ".join(mention(a) for a in self.approvers)) if self.approvers else ""
        why = f": {self.judged}" if self.judged else ""
        return f"Needs {n}{who}, not the requester (approval policy{why})"

    def progress(self, mention: Callable[[str], str]) -> str:
        """``1 of 2 approvals: @B`` once a quorum request has approvals."""
        if self.need <= 1 or not self.approvals:
            return ""
        return (f"{len(self.approvals)} of {self.need} approvals: "
                + ", ".join(mention(a) for a in self.approvals))

    @classmethod
    def refused(cls, message: str, request_id: str) -> RequestResult:
        return cls(event="refused", id=request_id, ok=False, refusal=mask_text(message),
                   title=f"Write request {request_id}")


AnyResult = TextResult | TableResult | ItemsResult | JsonResult | ErrorResult | RequestResult
