"""The read side: snapshots, pages of executions, pages of the log (reader connections)."""

from __future__ import annotations

import dataclasses
from typing import Any

from runstream.errors import ExecutionNotFound, InvalidState
from runstream.model import (
    ChildInfo,
    Event,
    ExecutionType,
    PromiseInfo,
    Snapshot,
    Status,
    TaskInfo,
)
from runstream.observability.metrics import StoreFigures
from runstream.store.log.tx import Row, Tx, decode
from runstream.store.records import NewExecution


def execution_row(tx: Tx, execution_id: str) -> Row:
    """The execution's row; raises ``ExecutionNotFound``."""
    row = tx.one("get_execution", id=execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    return row


def _snapshot(row: Row, **detail: Any) -> Snapshot:
    return Snapshot(
        id=row["id"],
        kind=row["kind"],
        type=ExecutionType(row["type"]),
        org=row["org"],
        status=Status(row["status"]),
        input=decode(row["input"]),
        output=decode(row["output"]),
        error=row["error"],
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_seq=row["last_seq"],
        cancel_requested=bool(row["cancel_requested"]),
        **detail,
    )


def created_snapshot(row: Row, new: NewExecution) -> Snapshot:
    """The snapshot of an execution just inserted as ``row`` (its log holds the creation
    event, seq 1; a standalone task's only task is itself, not yet tried)."""
    tasks = []
    if new.type == ExecutionType.TASK:
        tasks = [TaskInfo(new.id, new.kind, Status.PENDING, 0, new.max_retries, None, None, None)]
    snapshot = _snapshot(row, tasks=tasks, state={}, promises=[], children=[])
    return dataclasses.replace(snapshot, last_seq=1)


def get_snapshot(tx: Tx, execution_id: str) -> Snapshot:
    row = execution_row(tx, execution_id)
    tasks = [
        TaskInfo(
            id=t["id"],
            kind=t["kind"],
            status=Status(t["status"]),
            execution_count=t["attempt"],
            max_retries=t["max_retries"],
            worker_id=t["lease_owner"],
            error=t["error"],
            output=decode(t["output"]),
        )
        for t in tx.all("tasks_of", id=execution_id)
    ]
    state = {s["key"]: decode(s["value"]) for s in tx.all("state_of", id=execution_id)}
    promises = [
        PromiseInfo(p["name"], p["status"], decode(p["value"]), p["error"])
        for p in tx.all("promises_of", id=execution_id)
    ]
    children = [
        ChildInfo(c["id"], c["kind"], Status(c["status"]))
        for c in tx.all("children_of", id=execution_id)
    ]
    return _snapshot(row, tasks=tasks, state=state, promises=promises, children=children)


def log_position(tx: Tx, execution_id: str) -> tuple[Status, int]:
    row = tx.one("log_position", id=execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    return Status(row["status"]), int(row["last_seq"])


def log_positions(tx: Tx, execution_ids: list[str]) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in tx.all("log_positions", ids=tx.array(execution_ids))}


def list_executions(
    tx: Tx,
    org: str,
    type: ExecutionType,
    status: Status | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Snapshot], str | None]:
    rows = tx.all(
        "list_executions",
        org=org,
        type=str(type),
        status=None if status is None else str(status),
        kind=kind,
        cursor=cursor,
        limit=limit + 1,
    )
    page = [_snapshot(r) for r in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)


def read_events(
    tx: Tx, execution_id: str, after: int, limit: int, max_bytes: int | None = None
) -> list[Event]:
    if max_bytes is not None:
        # Sizes first (no data is loaded), so a page of large events never reaches Python.
        total = 0
        for taken, row in enumerate(
            tx.all("event_sizes", id=execution_id, after=after, limit=limit)
        ):
            total += row[0] or 0
            if total > max_bytes:
                limit = max(1, taken)
                break
    return [
        Event(r[0], r[1], r[2], r[3], decode(r[4]), r[5], r[6])
        for r in tx.all("read_events", id=execution_id, after=after, limit=limit)
    ]


def children_of(tx: Tx, execution_id: str) -> list[str]:
    return [r["id"] for r in tx.all("children_of", id=execution_id)]


def figures(tx: Tx) -> StoreFigures:
    executions = {(r[0], r[1]): int(r[2]) for r in tx.all("unfinished_by_status")}
    due = tx.one("due_task_figures", now=tx.now)
    oldest = None if due is None else due[1]
    return StoreFigures(
        executions=executions,
        runnable_tasks=0 if due is None else int(due[0]),
        oldest_runnable_age=0.0 if oldest is None else max(0.0, (tx.now - oldest) / 1000),
        running_tasks=_count(tx, "running_task_count"),
        timers_due=_count(tx, "due_timer_count", now=tx.now),
        workers=_count(tx, "lease_owner_count"),
    )


def _count(tx: Tx, query: str, **params: Any) -> int:
    row = tx.one(query, **params)
    return 0 if row is None else int(row[0])


def read_message(tx: Tx, execution_id: str, message_id: str) -> Any:
    row = tx.one("get_message", id=execution_id, mid=message_id)
    if row is None:
        raise InvalidState(execution_id, f"no message {message_id} in {execution_id}")
    return decode(row["payload"])


def find_event(tx: Tx, execution_id: str, type: str, nth: int) -> Event | None:
    if nth < 1:
        return None
    r = tx.one("nth_event", id=execution_id, type=type, offset=nth - 1)
    return None if r is None else Event(r[0], r[1], r[2], r[3], decode(r[4]), r[5], r[6])
