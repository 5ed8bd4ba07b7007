"""Transitions shared by every write: resolving steps, cancelling what they wait on, ending
workflows and telling their parents. All run inside a writer transaction (``Tx``)."""

from __future__ import annotations

from typing import Any

from runstream.model import EventType, Status
from runstream.model.execution import TERMINAL
from runstream.store.log.tx import Fields, Row, Tx, decode, encode
from runstream.store.records import History, Outcome, StepRecord

PARENT_CANCELLED = "parent cancelled"
"""The cancel reason of a child its parent cancelled (a retry of the parent reopens it)."""


def workflow_data(row: Row, status: str, **extra: Any) -> dict[str, Any]:
    """Seed 003's workflow data fields."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": status,
        "workerId": extra.pop("workerId", row["lease_owner"]),
        "error": extra.pop("error", None),
        "parentWorkflowExecutionId": row["parent_id"],
        **extra,
    }


def task_data(row: Fields, status: str, **extra: Any) -> dict[str, Any]:
    """Seed 003's task data fields."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": status,
        "executionCount": extra.pop("executionCount", row["attempt"]),
        "maxRetries": row["max_retries"],
        "workerId": extra.pop("workerId", row["lease_owner"]),
        "error": extra.pop("error", None),
        **extra,
    }


def workflow_history(row: Row, steps: list[StepRecord], *, complete: bool = True) -> History:
    """A workflow's history from its execution row and ``steps``."""
    return History(
        execution_id=row["id"],
        kind=row["kind"],
        input=decode(row["input"]),
        last_batch=row["last_batch"],
        cancel_requested=bool(row["cancel_requested"]),
        cancel_reason=row["cancel_reason"],
        cancel_batch=row["cancel_batch"],
        retries=row["retries"],
        steps=steps,
        trace=row["trace"],
        complete=complete,
    )


def resolve_step(
    tx: Tx,
    execution_id: str,
    step: int,
    status: str,
    result: Any = None,
    error: str | None = None,
    *,
    wake: bool = True,
) -> bool:
    """Give a pending step its outcome and wake the workflow (not with ``wake`` false: the
    caller leases it or makes it ready); False if it was not pending."""
    row = tx.one(
        "resolve_step",
        id=execution_id,
        step=step,
        status=status,
        result=encode(result),
        error=error,
    )
    if row is None:
        return False
    tx.readied.add(execution_id)
    if row["timeout_id"]:
        tx.run("close_timer", id=row["timeout_id"], status="cancelled")
    if wake and tx.changed("make_ready", id=execution_id, now=tx.now):
        tx.wakes.add("workflows")
    return True


def cancel_resources(tx: Tx, execution_id: str, step: Row) -> None:
    """Cancel the task, timer or child a pending step waits on, with their events."""
    if step["timeout_id"]:
        tx.run("close_timer", id=step["timeout_id"], status="cancelled")
    kind, ref = step["kind"], step["ref"]
    if kind == "task":
        cancel_task(tx, ref, "cancelled")
    elif kind == "sleep":
        if tx.changed("close_timer", id=ref, status="cancelled"):
            tx.emit(execution_id, EventType.TIMER_CANCELLED, {"timerId": ref})
    elif kind == "child":
        child = tx.one("lock_execution", id=ref)
        if child is not None and child["status"] not in TERMINAL:
            tx.emit(
                execution_id,
                EventType.CHILD_WORKFLOW_CANCELLATION_REQUESTED,
                {
                    "childWorkflowId": ref,
                    "kind": child["kind"],
                    "status": child["status"],
                    "error": None,
                },
            )
            request_cancel(tx, child, PARENT_CANCELLED)


def cancel_task(tx: Tx, task_id: str, reason: str | None) -> None:
    """Cancel a task that has not ended (``TASK_CANCELLED`` in the log it reports to); a
    running attempt learns at its next heartbeat that its lease is gone."""
    task = tx.one("get_task", id=task_id)
    if task is None or task["status"] not in ("PENDING", "RUNNING"):
        return
    tx.emit(
        task["execution_id"],
        EventType.TASK_CANCELLED,
        task_data(task, "CANCELLED"),
        task_id=task_id,
        attempt=task["attempt"] or None,
    )
    tx.run(
        "update_task",
        id=task_id,
        status="CANCELLED",
        output=None,
        error=reason,
        available_at=tx.now,
        now=tx.now,
    )


def request_cancel(tx: Tx, row: Row, reason: str | None) -> None:
    """Record a cancellation request and act on it (see ``Store.request_cancel``)."""
    if row["status"] in TERMINAL or row["cancel_requested"]:
        return
    if not tx.changed("request_cancel", id=row["id"], reason=reason, now=tx.now):
        return
    tx.emit(
        row["id"],
        EventType.CANCELLATION_REQUESTED,
        {"workflowExecutionId": row["id"], "reason": reason},
    )
    if row["type"] == "task":
        cancel_task(tx, row["id"], reason)
        tx.run(
            "finish_execution",
            id=row["id"],
            status="CANCELLED",
            output=None,
            error=reason,
            now=tx.now,
        )
    elif not row["started"] and row["lease_owner"] is None:
        end_workflow(tx, row, Outcome(Status.CANCELLED, error=reason))
    elif tx.changed("make_ready", id=row["id"], now=tx.now):
        tx.wakes.add("workflows")


def end_workflow(tx: Tx, row: Row, outcome: Outcome) -> None:
    """Close a workflow's log with its terminal event, cancel what it still waits on and
    hand the outcome to its parent."""
    execution_id = row["id"]
    for step in tx.all("pending_steps", id=execution_id):
        cancel_resources(tx, execution_id, step)
        tx.run("cancel_step", id=execution_id, step=step["step"], batch=None)
    event = {
        Status.COMPLETED: EventType.WORKFLOW_COMPLETED,
        Status.FAILED: EventType.WORKFLOW_FAILED,
        Status.CANCELLED: EventType.WORKFLOW_CANCELLED,
    }[outcome.status]
    extra: dict[str, Any] = {"error": outcome.error}
    if outcome.status == Status.COMPLETED:
        extra["output"] = outcome.output
    tx.emit(execution_id, event, workflow_data(row, str(outcome.status), **extra))
    tx.run(
        "finish_execution",
        id=execution_id,
        status=str(outcome.status),
        output=encode(outcome.output),
        error=outcome.error,
        now=tx.now,
    )
    if outcome.status == Status.FAILED and outcome.step is not None:
        tx.run("set_failed_step", id=execution_id, step=outcome.step)
    parent_id = row["parent_id"]
    if parent_id is None:
        return
    child = {"childWorkflowId": execution_id, "kind": row["kind"], "status": str(outcome.status)}
    if outcome.status == Status.COMPLETED:
        if resolve_step(tx, parent_id, row["parent_step"], "done", outcome.output):
            tx.emit(parent_id, EventType.CHILD_WORKFLOW_COMPLETED, {**child, "error": None})
    elif resolve_step(
        tx, parent_id, row["parent_step"], "failed", str(outcome.status), outcome.error
    ):
        tx.emit(parent_id, EventType.CHILD_WORKFLOW_FAILED, {**child, "error": outcome.error})


def lease_workflow(
    tx: Tx, execution_id: str, worker_id: str, lease: float, locked: Row | None = None
) -> Row | None:
    """Lease a workflow for an activation (``WORKFLOW_STARTED`` or ``WORKFLOW_RESUMED`` as
    its status turns RUNNING); its row as it was before, or None when it is finished or
    leased by someone else. ``locked``: its row, already locked by this transaction."""
    before = locked or tx.one("lock_execution", id=execution_id)
    if before is None or before["status"] in TERMINAL:
        return None
    if before["lease_owner"] is not None and before["lease_expires"] >= tx.now:
        return None
    tx.run(
        "lease_workflow",
        worker=worker_id,
        expires=tx.now + int(lease * 1000),
        now=tx.now,
        id=execution_id,
    )
    # PENDING after a start means a manual retry reopened it: it starts again.
    if not before["started"] or before["status"] == "PENDING":
        tx.emit(
            execution_id,
            EventType.WORKFLOW_STARTED,
            workflow_data(before, "RUNNING", workerId=worker_id),
        )
        if before["parent_id"]:
            tx.emit(
                before["parent_id"],
                EventType.CHILD_WORKFLOW_STARTED,
                {
                    "childWorkflowId": execution_id,
                    "kind": before["kind"],
                    "status": "RUNNING",
                    "error": None,
                },
            )
    elif before["status"] == "WAITING":
        tx.emit(
            execution_id,
            EventType.WORKFLOW_RESUMED,
            workflow_data(before, "RUNNING", workerId=worker_id),
        )
    return before
