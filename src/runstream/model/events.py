"""The event catalog (SPEC §3): every entry of an execution's log is an ``Event``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every event type that can appear in a log; lifecycle names follow seed 003."""

    WORKFLOW_CREATED = "WORKFLOW_CREATED"
    WORKFLOW_STARTED = "WORKFLOW_STARTED"
    WORKFLOW_SUSPENDED = "WORKFLOW_SUSPENDED"
    WORKFLOW_RESUMED = "WORKFLOW_RESUMED"
    WORKFLOW_COMPLETED = "WORKFLOW_COMPLETED"
    WORKFLOW_FAILED = "WORKFLOW_FAILED"
    WORKFLOW_CANCELLED = "WORKFLOW_CANCELLED"
    TASK_CREATED = "TASK_CREATED"
    TASK_STARTED = "TASK_STARTED"
    TASK_COMPLETED = "TASK_COMPLETED"
    TASK_FAILED = "TASK_FAILED"
    TASK_CANCELLED = "TASK_CANCELLED"
    TIMER_STARTED = "TIMER_STARTED"
    TIMER_FIRED = "TIMER_FIRED"
    TIMER_CANCELLED = "TIMER_CANCELLED"
    PROMISE_CREATED = "PROMISE_CREATED"
    PROMISE_RESOLVED = "PROMISE_RESOLVED"
    PROMISE_REJECTED = "PROMISE_REJECTED"
    CHILD_WORKFLOW_INITIATED = "CHILD_WORKFLOW_INITIATED"
    CHILD_WORKFLOW_STARTED = "CHILD_WORKFLOW_STARTED"
    CHILD_WORKFLOW_COMPLETED = "CHILD_WORKFLOW_COMPLETED"
    CHILD_WORKFLOW_FAILED = "CHILD_WORKFLOW_FAILED"
    CHILD_WORKFLOW_CANCELLATION_REQUESTED = "CHILD_WORKFLOW_CANCELLATION_REQUESTED"
    CHILD_WORKFLOW_CANCELLATION_FAILED = "CHILD_WORKFLOW_CANCELLATION_FAILED"
    OPERATION_COMPLETED = "OPERATION_COMPLETED"
    CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
    STATE_SET = "STATE_SET"
    STATE_CLEARED = "STATE_CLEARED"
    RETRY_REQUESTED = "RETRY_REQUESTED"
    MESSAGE_RECEIVED = "MESSAGE_RECEIVED"
    MESSAGE_CONSUMED = "MESSAGE_CONSUMED"
    # emitted by code
    TOKEN = "token"
    PROGRESS = "progress"
    DATA = "data"
    ERROR = "error"
    # emitted by agents
    AGENT_START = "agent_start"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    STRUCTURED_DELTA = "structured_delta"
    USAGE = "usage"
    # emitted by subprocess tasks (Claude Code)
    CLAUDE = "claude"
    LOG = "log"


EMITTED = frozenset({EventType.TOKEN, EventType.PROGRESS, EventType.DATA, EventType.ERROR})
"""Types emitted by user code through ``ctx.token/progress/data/error``."""

AGENT = frozenset(
    {
        EventType.AGENT_START,
        EventType.TOOL_CALL,
        EventType.TOOL_RESULT,
        EventType.STRUCTURED_DELTA,
        EventType.USAGE,
    }
)
"""Types emitted by agent tasks."""

PROCESS = frozenset({EventType.CLAUDE, EventType.LOG})
"""Types a subprocess task records: ``claude`` (one stdout line of Claude Code, parsed),
``log`` (one stderr line, ``{"text": …}``)."""

LIFECYCLE = frozenset(EventType) - EMITTED - AGENT - PROCESS
"""Types the engine records for state changes (travel as ``{"type": "Event"}``)."""

WORKFLOW_TERMINAL = frozenset(
    {EventType.WORKFLOW_COMPLETED, EventType.WORKFLOW_FAILED, EventType.WORKFLOW_CANCELLED}
)
TASK_TERMINAL = frozenset(
    {EventType.TASK_COMPLETED, EventType.TASK_FAILED, EventType.TASK_CANCELLED}
)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of an execution's append-only log."""

    execution_id: str
    """The execution whose log holds the event."""
    seq: int
    """Position in that log: 1, 2, 3, … with no gaps; the SSE ``id``."""
    type: str
    """An ``EventType`` value."""
    ts: int
    """Server time of the append, epoch milliseconds."""
    data: Any
    """JSON value; lifecycle events hold a camelCase object as in seed 003."""
    task_id: str | None = None
    """The task the event concerns, for task lifecycle and task-emitted events."""
    attempt: int | None = None
    """The task attempt (1-based) that emitted or caused the event."""

    @property
    def is_terminal(self) -> bool:
        """True for the last event of a log: a workflow's end, or a standalone task's end."""
        if self.type in WORKFLOW_TERMINAL:
            return True
        if self.task_id is None or self.task_id != self.execution_id:
            return False
        if self.type == EventType.TASK_FAILED:
            return not (isinstance(self.data, dict) and self.data.get("willRetry"))
        return self.type in TASK_TERMINAL

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (the events page and JSON-lines output)."""
        return {
            "executionId": self.execution_id,
            "seq": self.seq,
            "type": self.type,
            "ts": self.ts,
            "data": self.data,
            "taskId": self.task_id,
            "attempt": self.attempt,
        }


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the store gives it a ``seq`` and a ``ts``."""

    execution_id: str
    type: str
    data: Any
    task_id: str | None = None
    attempt: int | None = None
