"""JSON bodies of the native API decoded into the model's values: snapshots, events, pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runstream.model import (
    ChildInfo,
    Event,
    ExecutionType,
    PromiseInfo,
    Snapshot,
    Status,
    TaskInfo,
)


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    """One page of ``list_executions``, newest first."""

    items: list[Snapshot]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last one."""


@dataclass(frozen=True, slots=True)
class EventPage:
    """Stored events of one execution in ``seq`` order."""

    items: list[Event]
    next_after: int
    """Pass as ``after`` to read on."""
    has_more: bool


def snapshot_from_json(body: dict[str, Any]) -> Snapshot:
    """A ``Snapshot`` from the API's snapshot object (tasks' outputs are not sent: ``None``)."""
    return Snapshot(
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


def event_from_json(body: dict[str, Any]) -> Event:
    """An ``Event`` from the events page's event object."""
    return Event(
        execution_id=body["executionId"],
        seq=body["seq"],
        type=body["type"],
        ts=body["ts"],
        data=body.get("data"),
        task_id=body.get("taskId"),
        attempt=body.get("attempt"),
    )


def execution_page_from_json(body: dict[str, Any]) -> ExecutionPage:
    """An ``ExecutionPage`` from the list endpoint's body."""
    return ExecutionPage(
        [snapshot_from_json(item) for item in body["items"]], body.get("nextCursor")
    )


def event_page_from_json(body: dict[str, Any]) -> EventPage:
    """An ``EventPage`` from the events endpoint's body."""
    return EventPage(
        [event_from_json(item) for item in body["items"]],
        body["nextAfter"],
        bool(body.get("hasMore")),
    )
