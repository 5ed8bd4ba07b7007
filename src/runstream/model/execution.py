"""Execution statuses and the materialised snapshot of an execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Status of a workflow, a task, or a standalone task execution."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        """Accept any case (``?status=completed``)."""
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        return None


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


class ExecutionType(StrEnum):
    """What an execution runs."""

    WORKFLOW = "workflow"
    TASK = "task"

    @property
    def segment(self) -> str:
        """The native API's path segment for this type (``workflow-executions``)."""
        return f"{self.value}-executions"


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task of a workflow, or the task of a standalone task execution."""

    id: str
    kind: str
    status: Status
    execution_count: int
    """Attempts started so far."""
    max_retries: int
    worker_id: str | None
    error: str | None
    output: Any

    def to_json(self) -> dict[str, Any]:
        """Seed 003's task data fields."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": str(self.status),
            "executionCount": self.execution_count,
            "maxRetries": self.max_retries,
            "workerId": self.worker_id,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class PromiseInfo:
    """An external promise of a workflow."""

    name: str
    status: str
    """``PENDING``, ``RESOLVED`` or ``REJECTED``."""
    value: Any
    error: str | None


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """A child workflow as seen from its parent."""

    id: str
    kind: str
    status: Status


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The materialised state of an execution at one moment."""

    id: str
    kind: str
    """Workflow or task name."""
    type: ExecutionType
    org: str
    status: Status
    input: Any
    output: Any
    error: str | None
    parent_id: str | None
    created_at: int
    """Epoch milliseconds."""
    updated_at: int
    last_seq: int
    """The seq of the newest event in the execution's log."""
    cancel_requested: bool = False
    tasks: list[TaskInfo] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    promises: list[PromiseInfo] = field(default_factory=list)
    children: list[ChildInfo] = field(default_factory=list)

    def summary_json(self) -> dict[str, Any]:
        """What list pages show of an execution: everything but input, output and detail."""
        return {
            "id": self.id,
            "kind": self.kind,
            "type": str(self.type),
            "org": self.org,
            "status": str(self.status),
            "error": self.error,
            "parentWorkflowExecutionId": self.parent_id,
            "createdAtMs": self.created_at,
            "updatedAtMs": self.updated_at,
            "lastEventId": self.last_seq,
            "cancelRequested": self.cancel_requested,
        }

    def to_json(self) -> dict[str, Any]:
        """The snapshot as the native API returns it."""
        return {
            **self.summary_json(),
            "input": self.input,
            "output": self.output,
            "tasks": [t.to_json() for t in self.tasks],
            "state": self.state,
            "promises": [
                {"promiseId": p.name, "status": p.status, "result": p.value, "error": p.error}
                for p in self.promises
            ],
            "children": [
                {"childWorkflowId": c.id, "kind": c.kind, "status": str(c.status)}
                for c in self.children
            ],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Snapshot:
        """A snapshot from ``to_json``'s form (tasks' outputs are not sent: ``None``)."""
        return cls(
            id=body["id"],
            kind=body["kind"],
            type=ExecutionType(body["type"]),
            org=body["org"],
            status=Status(body["status"]),
            input=body.get("input"),
            output=body.get("output"),
            error=body.get("error"),
            parent_id=body.get("parentWorkflowExecutionId"),
            created_at=body["createdAtMs"],
            updated_at=body["updatedAtMs"],
            last_seq=body.get("lastEventId", 0),
            cancel_requested=body.get("cancelRequested", False),
            tasks=[
                TaskInfo(
                    id=task["id"],
                    kind=task["kind"],
                    status=Status(task["status"]),
                    execution_count=task.get("executionCount", 0),
                    max_retries=task.get("maxRetries", 0),
                    worker_id=task.get("workerId"),
                    error=task.get("error"),
                    output=None,
                )
                for task in body.get("tasks", [])
            ],
            state=dict(body.get("state") or {}),
            promises=[
                PromiseInfo(p["promiseId"], p["status"], p.get("result"), p.get("error"))
                for p in body.get("promises", [])
            ],
            children=[
                ChildInfo(c["childWorkflowId"], c["kind"], Status(c["status"]))
                for c in body.get("children", [])
            ],
        )
