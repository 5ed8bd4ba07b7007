"""Task attempts: claiming with a lease, heartbeats, completion with fencing, retries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from runstream.errors import LeaseLost
from runstream.model import EventType, NewEvent, RetryPolicy
from runstream.store.log.steps import (
    lease_workflow,
    resolve_step,
    task_data,
    workflow_history,
)
from runstream.store.log.tx import Fields, Row, Tx, decode, encode
from runstream.store.records import History, Leased, NewExecution, StepRecord, TaskClaim


def create_task(
    tx: Tx,
    *,
    task_id: str,
    execution_id: str,
    workflow_id: str | None,
    step: int | None,
    kind: str,
    input: Any,
    max_retries: int,
    max_recoveries: int | None,
    retry_policy: RetryPolicy | None,
    timeout: float | None,
    trace: str | None,
    lease_to: str | None = None,
    lease: float = 0.0,
) -> dict[str, Any]:
    """Insert a pending task and log ``TASK_CREATED`` in the log it reports to; the row as
    inserted (nothing is read back: every column is known here). With ``lease_to``, its
    first attempt is leased to that worker in the same statement (the caller logs
    ``TASK_STARTED`` with ``started``)."""
    task: dict[str, Any] = {
        "id": task_id,
        "execution_id": execution_id,
        "workflow_id": workflow_id,
        "step": step,
        "kind": kind,
        "input": encode(input),
        "status": "PENDING" if lease_to is None else "RUNNING",
        "max_retries": max_retries,
        "max_recoveries": max_recoveries,
        "retry_policy": encode(retry_policy.to_json() if retry_policy else None),
        "timeout": timeout,
        "trace": trace,
        "attempt": 0 if lease_to is None else 1,
        "lease_owner": lease_to,
        "lease_expires": None if lease_to is None else tx.now + int(lease * 1000),
    }
    tx.run("insert_task", now=tx.now, **task)
    tx.emit(
        execution_id,
        EventType.TASK_CREATED,
        task_data(task, "PENDING", executionCount=0, workerId=None),
        task_id=task_id,
    )
    return task


def insert_standalone(tx: Tx, new: NewExecution) -> Row:
    """A task execution: its own log, whose first event is ``TASK_CREATED``; its row as
    inserted."""
    row = tx.one(
        "insert_execution",
        id=new.id,
        org=new.org,
        kind=new.kind,
        type="task",
        input=encode(new.input),
        parent_id=None,
        parent_step=None,
        now=tx.now,
        ready_at=None,
        trace=new.trace,
    )
    create_task(
        tx,
        task_id=new.id,
        execution_id=new.id,
        workflow_id=None,
        step=None,
        kind=new.kind,
        input=new.input,
        max_retries=new.max_retries,
        max_recoveries=new.max_recoveries,
        retry_policy=new.retry_policy,
        timeout=new.timeout,
        trace=new.trace,
    )
    tx.wakes.add("tasks")
    assert row is not None
    return row


def lease_task(tx: Tx, task_id: str, worker_id: str, lease: float) -> TaskClaim | None:
    """Start the next attempt of a pending task for ``worker_id`` (``TASK_STARTED``)."""
    row = tx.one(
        "lease_task", worker=worker_id, expires=tx.now + int(lease * 1000), now=tx.now, id=task_id
    )
    if row is None:
        return None
    if row["workflow_id"] is None:
        tx.run("set_status", id=task_id, status="RUNNING", now=tx.now)
    return started(tx, row)


def started(tx: Tx, row: Fields) -> TaskClaim:
    """Log ``TASK_STARTED`` for the attempt ``row`` (a task just leased); its claim."""
    tx.emit(
        row["execution_id"],
        EventType.TASK_STARTED,
        task_data(row, "RUNNING"),
        task_id=row["id"],
        attempt=row["attempt"],
    )
    return TaskClaim(
        id=row["id"],
        execution_id=row["execution_id"],
        workflow_id=row["workflow_id"],
        kind=row["kind"],
        input=decode(row["input"]),
        attempt=row["attempt"],
        max_retries=row["max_retries"],
        retry_policy=RetryPolicy.from_json(decode(row["retry_policy"])),
        timeout=row["timeout"],
        trace=row["trace"],
    )


def claim_tasks(
    tx: Tx, worker_id: str, limit: int, lease: float
) -> tuple[list[TaskClaim], float | None]:
    claims = []
    for (task_id,) in tx.all("due_tasks", now=tx.now, limit=limit):
        claim = lease_task(tx, task_id, worker_id, lease)
        if claim is not None:
            claims.append(claim)
    nxt = tx.one("next_due_task")
    return claims, (None if nxt is None or nxt[0] is None else nxt[0] / 1000)


def heartbeat_tasks(tx: Tx, worker_id: str, attempts: dict[str, int], lease: float) -> set[str]:
    lost = set()
    for task_id, attempt in attempts.items():
        if not tx.changed(
            "extend_task_lease",
            id=task_id,
            attempt=attempt,
            worker=worker_id,
            expires=tx.now + int(lease * 1000),
        ):
            lost.add(task_id)
    return lost


def finish_task(
    tx: Tx,
    task_id: str,
    attempt: int,
    worker_id: str,
    output: Any,
    error: str | None,
    retryable: bool,
    events: Sequence[NewEvent],
    resume_for: str | None,
    lease: float,
) -> Leased | None:
    row = tx.one("lock_task", id=task_id)
    if (
        row is None
        or row["status"] != "RUNNING"
        or row["attempt"] != attempt
        or row["lease_owner"] != worker_id
    ):
        raise LeaseLost(task_id, attempt)
    tx.append(events)
    wake = resume_for is None  # else the workflow is leased to resume_for right below
    if error is None:
        resolved = _complete(tx, row, output, wake)
    else:
        resolved = fail_attempt(tx, row, error, retryable, wake)
    workflow_id = row["workflow_id"]
    if resume_for is None or resolved is None:
        return None
    before = lease_workflow(tx, workflow_id, resume_for, lease)
    if before is not None:
        return Leased(workflow_id, _since_last_batch(before, resolved))
    if tx.changed("make_ready", id=workflow_id, now=tx.now):
        tx.wakes.add("workflows")
    return None


def _since_last_batch(row: Row, resolved: StepRecord) -> History | None:
    """The history of the workflow ``row`` since its last activation, when this
    transaction knows it: nothing made the workflow ready since that activation released
    it (every resolution does), so the step just resolved is all that is new."""
    if row["ready_at"] is not None or row["last_batch"] < 0:
        return None
    return workflow_history(row, [resolved], complete=False)


def _complete(tx: Tx, row: Row, output: Any, wake: bool = True) -> StepRecord | None:
    tx.emit(
        row["execution_id"],
        EventType.TASK_COMPLETED,
        task_data(row, "COMPLETED", output=output),
        task_id=row["id"],
        attempt=row["attempt"],
    )
    return _end(tx, row, "COMPLETED", output, None, wake)


def fail_attempt(
    tx: Tx, row: Row, error: str, retryable: bool, wake: bool = True
) -> StepRecord | None:
    """End a failed attempt: schedule the next one with backoff, or fail the task for good
    (the workflow step it resolves, if any)."""
    task_id, attempt = row["id"], row["attempt"]
    # A manual retry starts a fresh budget; attempts that lost their worker spent none.
    used = attempt - row["budget_from"] - row["recoveries"]
    will_retry = retryable and used <= row["max_retries"]
    tx.emit(
        row["execution_id"],
        EventType.TASK_FAILED,
        task_data(row, "PENDING" if will_retry else "FAILED", error=error, willRetry=will_retry),
        task_id=task_id,
        attempt=attempt,
    )
    if not will_retry:
        return _end(tx, row, "FAILED", None, error, wake)
    policy = RetryPolicy.from_json(decode(row["retry_policy"]))
    tx.run(
        "update_task",
        id=task_id,
        status="PENDING",
        output=None,
        error=error,
        available_at=tx.now + int(policy.delay(used) * 1000),
        now=tx.now,
    )
    tx.wakes.add("tasks")
    return None


def _end(
    tx: Tx, row: Row, status: str, output: Any, error: str | None, wake: bool
) -> StepRecord | None:
    """Record a task's end and hand it to its workflow step (the step it resolved), or end
    its standalone execution (after its terminal event, which the caller appended)."""
    tx.run(
        "update_task",
        id=row["id"],
        status=status,
        output=encode(output),
        error=error,
        available_at=tx.now,
        now=tx.now,
    )
    if row["workflow_id"] is None:
        tx.run(
            "finish_execution",
            id=row["id"],
            status=status,
            output=encode(output),
            error=error,
            now=tx.now,
        )
        return None
    step_status: Literal["done", "failed"] = "done" if status == "COMPLETED" else "failed"
    if not resolve_step(tx, row["workflow_id"], row["step"], step_status, output, error, wake=wake):
        return None
    return StepRecord(
        step=row["step"],
        kind="task",
        name=row["kind"],
        status=step_status,
        result=decode(encode(output)),  # as a read of the step would give it
        error=error,
        batch=None,
        ref=row["id"],
    )


def expire_task_leases(tx: Tx, recovery_limit: int, before: int) -> None:
    """End attempts whose lease expired before ``before``: their worker was lost."""
    for row in tx.all("expired_tasks", before=before):
        recover_attempt(
            tx, row, recovery_limit, f"lease expired (worker {row['lease_owner']} lost)"
        )


def release_tasks(tx: Tx, worker_id: str, attempts: dict[str, int], recovery_limit: int) -> None:
    """A stopping worker gives up attempts it did not finish: they run again elsewhere."""
    for task_id, attempt in attempts.items():
        row = tx.one("lock_task", id=task_id)
        if (
            row is not None
            and row["status"] == "RUNNING"
            and row["attempt"] == attempt
            and row["lease_owner"] == worker_id
        ):
            recover_attempt(tx, row, recovery_limit, f"worker {worker_id} stopped")


def recover_attempt(tx: Tx, row: Row, recovery_limit: int, cause: str) -> None:
    """An attempt lost its worker: run the task again at once without spending a retry, or
    fail it for good once it has lost ``recovery_limit`` workers."""
    if row["max_recoveries"] is not None:
        recovery_limit = row["max_recoveries"]
    lost = row["recoveries"] + 1
    error = cause
    if lost > recovery_limit:
        error = (
            f"worker lost: {cause}; the task lost its worker {lost} times (limit {recovery_limit})"
        )
    will_retry = lost <= recovery_limit
    tx.emit(
        row["execution_id"],
        EventType.TASK_FAILED,
        task_data(
            row,
            "PENDING" if will_retry else "FAILED",
            error=error,
            willRetry=will_retry,
            workerLost=True,
        ),
        task_id=row["id"],
        attempt=row["attempt"],
    )
    if not will_retry:
        _end(tx, row, "FAILED", None, error, True)
        return
    tx.run("requeue_task", id=row["id"], error=error, now=tx.now)
    tx.wakes.add("tasks")
