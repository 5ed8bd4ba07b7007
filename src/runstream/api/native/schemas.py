"""Request and response bodies of the native API (pydantic lives here, not in the core).

Response models document the JSON the endpoints send (``Snapshot.to_json`` and
``Event.to_json``); the handlers encode those dicts directly with orjson.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runstream.model import ExecutionType, Status


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRequest(_Body):
    """Start a workflow or a standalone task."""

    kind: str = Field(min_length=1, description="Registered workflow or task name.")
    input: Any = Field(default=None, description="The one argument passed to the function.")


class CancelRequest(_Body):
    """Cancel an execution; cancelling twice is harmless."""

    reason: str | None = None


class RetryRequest(_Body):
    """Retry a FAILED execution from where it failed."""

    reason: str | None = Field(default=None, description="Why; carried by RETRY_REQUESTED.")


class MessageRequest(_Body):
    """A message for a workflow's next ``ctx.receive()``, or for a Claude Code session (a
    string is its user line's text)."""

    message: Any


class ResolveRequest(_Body):
    """Resolve a promise with a value (first write wins)."""

    value: Any = None


class RejectRequest(_Body):
    """Reject a promise; the workflow's ``ctx.promise`` raises ``PromiseRejected``."""

    error: str = Field(min_length=1)


class StreamTokenRequest(_Body):
    """Mint a read-only token for one execution's streams (for ``EventSource``)."""

    ttlSeconds: int = Field(
        default=3600, ge=1, le=86_400, description="Lifetime in seconds (1..86400)."
    )
    types: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Restrict the token to these event types (the names ``types=`` takes); "
        "a stream then delivers what both the token and its ``types=`` allow.",
    )


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskOut(_Out):
    """A task of an execution."""

    id: str
    kind: str
    status: Status
    executionCount: int
    maxRetries: int
    workerId: str | None
    error: str | None


class PromiseOut(_Out):
    """An external promise of a workflow."""

    promiseId: str
    status: Literal["PENDING", "RESOLVED", "REJECTED"]
    result: Any
    error: str | None


class ChildOut(_Out):
    """A child workflow."""

    childWorkflowId: str
    kind: str
    status: Status


class SummaryOut(_Out):
    """An execution as list pages show it: no input, output or detail."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    kind: str
    type: ExecutionType
    org: str
    status: Status
    error: str | None
    parentWorkflowExecutionId: str | None
    createdAtMs: int
    updatedAtMs: int
    lastEventId: int = Field(description="Seq of the newest event; resume streams from here.")
    cancelRequested: bool


class SnapshotOut(SummaryOut):
    """The state of an execution."""

    input: Any
    output: Any
    tasks: list[TaskOut]
    state: dict[str, Any]
    promises: list[PromiseOut]
    children: list[ChildOut]


class ExecutionPage(_Out):
    """One page of executions, newest first."""

    items: list[SummaryOut]
    nextCursor: str | None = Field(description="Pass as ``cursor`` for the next page.")


class EventOut(_Out):
    """One stored event."""

    executionId: str
    seq: int
    type: str
    ts: int = Field(description="Server time of the append, epoch milliseconds.")
    data: Any
    taskId: str | None
    attempt: int | None


class EventPage(_Out):
    """Events of one execution in ``seq`` order."""

    items: list[EventOut]
    nextAfter: int = Field(description="Pass as ``after`` to continue.")
    hasMore: bool


class MessageAccepted(_Out):
    """The message was appended to the execution's inbox."""

    messageId: str


class RetryAccepted(_Out):
    """The retry was recorded; the execution runs again."""

    attempt: int = Field(description="Which manual retry of the execution this is: 1, 2, …")


class StreamTokenOut(_Out):
    """A stream token: pass it as ``?token=`` (or ``Authorization: Bearer``)."""

    token: str
    expiresAt: str = Field(description="ISO 8601, UTC.")


class StreamEventOut(BaseModel):
    """One Server-Sent Event of a native stream (its frames are described in docs/api.md)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(
        default=None, description="The seq, or a consolidated cursor: resume after it."
    )
    event: Literal["token", "progress", "data", "error"] | None = None
    data: str | None = Field(
        default=None,
        description="The token's text, the progress number, the error message, or JSON.",
    )
    retry: int | None = Field(default=None, ge=0, description="Reconnection delay, in ms.")


class ErrorDetail(_Out):
    """What went wrong."""

    code: str
    message: str
    param: str | None = None


class ErrorBody(_Out):
    """The body of every error response."""

    error: ErrorDetail


class KindInfo(_Out):
    """A registered workflow or task."""

    name: str
    description: str = Field(description="First paragraph of its docstring; may be empty.")


class Kinds(_Out):
    """What the server's app can run."""

    workflows: list[KindInfo]
    tasks: list[KindInfo]
