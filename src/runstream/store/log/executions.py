"""Executions as a whole: creation, requests from outside, and the read side."""

from __future__ import annotations

from typing import Any

from runstream.errors import ExecutionNotFound, InvalidState
from runstream.model import ExecutionType
from runstream.model.events import EventType
from runstream.model.execution import TERMINAL
from runstream.store.log.reads import created_snapshot
from runstream.store.log.steps import lease_workflow, request_cancel, resolve_step, workflow_history
from runstream.store.log.tasks import insert_standalone
from runstream.store.log.tx import Row, Tx, decode, encode
from runstream.store.log.workflows import insert_workflow
from runstream.store.records import Created, Leased, NewExecution

INPUT_OPEN = 1
"""``executions.input_open`` of a task that takes messages now (0: it never does)."""
INPUT_CLOSED = 2
"""``executions.input_open`` of a task whose session stopped taking messages."""


def create_execution(tx: Tx, new: NewExecution, lease_to: str | None, lease: float) -> Created:
    if new.type == ExecutionType.WORKFLOW:
        row = insert_workflow(tx, new, ready=lease_to is None)
        if lease_to is None:
            return Created(created_snapshot(row, new))
        # Its row is its whole history: the activation needs nothing else.
        lease_workflow(tx, new.id, lease_to, lease, locked=row)
        return Created(created_snapshot(row, new), Leased(new.id, workflow_history(row, [])))
    snapshot = created_snapshot(insert_standalone(tx, new), new)
    if new.accepts_messages:
        tx.run("open_input", id=new.id, open=INPUT_OPEN)
    return Created(snapshot)


def _locked(tx: Tx, execution_id: str) -> Row:
    """The execution's row, locked until the commit (another process may be changing it)."""
    row = tx.one("lock_execution", id=execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    return row


def cancel(tx: Tx, execution_id: str, reason: str | None) -> None:
    request_cancel(tx, _locked(tx, execution_id), reason)


def _open_workflow(tx: Tx, execution_id: str, what: str) -> Row:
    row = _locked(tx, execution_id)
    if row["type"] != "workflow":
        raise InvalidState(execution_id, f"{what} only go to workflow executions")
    if row["status"] in TERMINAL:
        raise InvalidState(execution_id, f"execution {execution_id} is {row['status']}")
    return row


def post_message(tx: Tx, execution_id: str, message_id: str, payload: Any) -> int:
    row = _locked(tx, execution_id)
    if row["type"] == "task" and row["input_open"] not in (INPUT_OPEN, INPUT_CLOSED):
        raise InvalidState(
            execution_id, f"task {row['kind']!r} takes no messages (Claude Code tasks do)"
        )
    if row["status"] in TERMINAL:
        raise InvalidState(execution_id, f"execution {execution_id} is {row['status']}")
    if row["type"] == "task" and row["input_open"] == INPUT_CLOSED:
        raise InvalidState(
            execution_id, f"the session of task execution {execution_id} has ended its input"
        )
    tx.run("insert_message", mid=message_id, id=execution_id, payload=encode(payload))
    tx.emit(execution_id, EventType.MESSAGE_RECEIVED, {"messageId": message_id})
    if row["type"] == "workflow" and tx.changed("make_ready", id=execution_id, now=tx.now):
        tx.wakes.add("workflows")
    queued = tx.one("queued_messages", id=execution_id)
    return 0 if queued is None else int(queued[0])


def consume_message(tx: Tx, execution_id: str, message_id: str, task_id: str, attempt: int) -> None:
    row = tx.one("get_message", id=execution_id, mid=message_id)
    if row is None or row["consumed_step"] is not None:
        return
    # A task has no steps: the column records the attempt that delivered the message.
    tx.run("consume_message", n=row["n"], step=attempt)
    tx.emit(
        execution_id,
        EventType.MESSAGE_CONSUMED,
        {"messageId": message_id},
        task_id=task_id,
        attempt=attempt,
    )


def close_input(tx: Tx, execution_id: str) -> bool:
    if _locked(tx, execution_id)["input_open"] != INPUT_OPEN:
        return True
    return tx.changed("close_input", id=execution_id, closed=INPUT_CLOSED, open=INPUT_OPEN) > 0


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
