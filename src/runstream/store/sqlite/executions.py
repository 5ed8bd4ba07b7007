"""Executions as a whole: creation, requests from outside, and the read side."""

from __future__ import annotations

import sqlite3
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
from runstream.model.events import EventType
from runstream.store.base import NewExecution
from runstream.store.sqlite.connection import Tx, decode, encode
from runstream.store.sqlite.steps import TERMINAL, request_cancel, resolve_step
from runstream.store.sqlite.tasks import insert_standalone
from runstream.store.sqlite.workflows import insert_workflow


def create_execution(tx: Tx, new: NewExecution) -> None:
    if new.type == ExecutionType.WORKFLOW:
        insert_workflow(tx, new)
    else:
        insert_standalone(tx, new)


def _get(tx: Tx, execution_id: str) -> sqlite3.Row:
    row = tx.one("get_execution", id=execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    return row


def cancel(tx: Tx, execution_id: str, reason: str | None) -> None:
    request_cancel(tx, _get(tx, execution_id), reason)


def _open_workflow(tx: Tx, execution_id: str, what: str) -> sqlite3.Row:
    row = _get(tx, execution_id)
    if row["type"] != "workflow":
        raise InvalidState(execution_id, f"{what} only go to workflow executions")
    if row["status"] in TERMINAL:
        raise InvalidState(execution_id, f"execution {execution_id} is {row['status']}")
    return row


def post_message(tx: Tx, execution_id: str, message_id: str, payload: Any) -> None:
    _open_workflow(tx, execution_id, "messages")
    tx.run("insert_message", mid=message_id, id=execution_id, payload=encode(payload))
    tx.emit(execution_id, EventType.MESSAGE_RECEIVED, {"messageId": message_id})
    if tx.run("make_ready", id=execution_id, now=tx.now):
        tx.wakes.add("workflows")


def settle_promise(tx: Tx, execution_id: str, name: str, value: Any, error: str | None) -> None:
    _open_workflow(tx, execution_id, "promises")
    status = "RESOLVED" if error is None else "REJECTED"
    promise = tx.one("get_promise", id=execution_id, name=name)
    if promise is not None and promise["status"] != "PENDING":
        same = promise["status"] == status and (
            decode(promise["value"]) == value if error is None else promise["error"] == error
        )
        if same:
            return
        raise InvalidState(execution_id, f"promise {name!r} is already {promise['status']}")
    if promise is None:
        tx.run(
            "insert_promise",
            id=execution_id,
            name=name,
            status="PENDING",
            value=encode(None),
            error=None,
        )
        tx.emit(execution_id, EventType.PROMISE_CREATED, {"promiseId": name})
    tx.run(
        "settle_promise",
        id=execution_id,
        name=name,
        status=status,
        value=encode(value),
        error=error,
    )
    if error is None:
        tx.emit(execution_id, EventType.PROMISE_RESOLVED, {"promiseId": name, "result": value})
    else:
        tx.emit(execution_id, EventType.PROMISE_REJECTED, {"promiseId": name, "error": error})
    for (step,) in tx.all("waiting_on_promise", id=execution_id, name=name):
        resolve_step(tx, execution_id, step, "done" if error is None else "failed", value, error)


# -- read side (reader connection) ------------------------------------------------------


def _snapshot(row: sqlite3.Row, **detail: Any) -> Snapshot:
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


def get_snapshot(tx: Tx, execution_id: str) -> Snapshot:
    row = _get(tx, execution_id)
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


def read_events(tx: Tx, execution_id: str, after: int, limit: int) -> list[Event]:
    return [
        Event(r[0], r[1], r[2], r[3], decode(r[4]), r[5], r[6])
        for r in tx.all("read_events", id=execution_id, after=after, limit=limit)
    ]


def children_of(tx: Tx, execution_id: str) -> list[str]:
    return [r["id"] for r in tx.all("children_of", id=execution_id)]
