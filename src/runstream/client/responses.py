"""JSON bodies of the native API decoded into the model's values: snapshots, events, pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runstream.model import (
    Event,
    Snapshot,
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
        [Snapshot.from_json(item) for item in body["items"]], body.get("nextCursor")
    )


def event_page_from_json(body: dict[str, Any]) -> EventPage:
    """An ``EventPage`` from the events endpoint's body."""
    return EventPage(
        [event_from_json(item) for item in body["items"]],
        body["nextAfter"],
        bool(body.get("hasMore")),
    )
