"""Workflow activations: claiming, loading history, committing what the code did, timers."""

from __future__ import annotations

from typing import Any

from runstream.errors import LeaseLost
from runstream.model import EventType, ExecutionType
from runstream.store.log.steps import (
    cancel_resources,
    end_workflow,
    lease_workflow,
    resolve_step,
    workflow_data,
    workflow_history,
)
from runstream.store.log.tasks import create_task, started
from runstream.store.log.tx import Fields, Row, Tx, decode, encode
from runstream.store.records import (
    Activation,
    Command,
    Committed,
    History,
    Leased,
    NewExecution,
    StepRecord,
)


def insert_workflow(tx: Tx, new: NewExecution, *, ready: bool = True) -> Row:
    """Create a workflow row with ``WORKFLOW_CREATED``, ready for its first activation
    (``ready``: any worker may claim it; else the caller leases it at once); the row as
    inserted."""
    row = tx.one(
        "insert_execution",
        id=new.id,
        org=new.org,
        kind=new.kind,
        type=str(ExecutionType.WORKFLOW),
        input=encode(new.input),
        parent_id=new.parent_id,
        parent_step=new.parent_step,
        now=tx.now,
        ready_at=tx.now,
        trace=new.trace,
    )
    assert row is not None
    tx.emit(new.id, EventType.WORKFLOW_CREATED, workflow_data(row, "PENDING"))
    if ready:
        tx.wakes.add("workflows")
    return row


def claim_workflows(tx: Tx, worker_id: str, limit: int, lease: float) -> list[Leased]:
    # A workflow that never ran has no steps: its row is its whole history.
    return [
        Leased(row["id"], None if row["started"] else workflow_history(row, []))
        for row in tx.all("claimable_workflows", now=tx.now, limit=limit)
        if lease_workflow(tx, row["id"], worker_id, lease, locked=row) is not None
    ]


def heartbeat_workflows(tx: Tx, worker_id: str, ids: list[str], lease: float) -> None:
    for execution_id in ids:
        tx.run(
            "extend_workflow_lease",
            id=execution_id,
            worker=worker_id,
            expires=tx.now + int(lease * 1000),
        )


def _step(row: Row) -> StepRecord:
    return StepRecord(
        step=row["step"],
        kind=row["kind"],
        name=row["name"],
        status=row["status"],
        result=decode(row["result"]),
        error=row["error"],
        batch=row["batch"],
        ref=row["ref"],
    )


def load_history(tx: Tx, execution_id: str) -> History:
    row = tx.one("get_execution", id=execution_id)
    assert row is not None
    return workflow_history(row, [_step(s) for s in tx.all("steps_of", id=execution_id)])


def commit_activation(tx: Tx, act: Activation) -> Committed:
    execution_id = act.execution_id
    row = tx.one("check_lease", id=execution_id, worker=act.worker_id)
    if row is None or row["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
        raise LeaseLost(execution_id, act.batch)
    for step in act.fed:
        tx.run("set_batch", id=execution_id, step=step, batch=act.batch)
    for step in act.cancelled:
        pending = tx.one("pending_step", id=execution_id, step=step)
        if pending is not None:
            cancel_resources(tx, execution_id, pending)
        tx.run("cancel_step", id=execution_id, step=step, batch=act.batch)
    # New tasks start on this worker in the same statement, up to its free slots (not when
    # the workflow ends: they are cancelled with it).
    claim = act.claim_tasks if act.outcome is None else 0
    leased: list[Fields] = []
    for command in act.commands:
        _apply(tx, act, command, row["trace"], leased if len(leased) < claim else None)
    if row["queued_messages"]:
        _deliver_messages(tx, execution_id)
    # Nothing above changed what is read from it below (the row is ours until the commit).
    full = row
    cancel_batch = act.batch if act.cancel_fed else None
    # A step resolved since the lease was taken made the workflow ready (the row is locked:
    # none resolves until the commit); so did one resolved by this transaction.
    maybe_ready = row["ready_at"] is not None or execution_id in tx.readied
    ready = (
        [_step(s) for s in tx.all("ready_steps", id=execution_id)]
        if act.outcome is None and maybe_ready
        else []
    )
    if act.outcome is not None or ready:
        tx.run(
            "keep_batch",
            id=execution_id,
            worker=act.worker_id,
            batch=act.batch,
            cancel_batch=cancel_batch,
            now=tx.now,
        )
        if act.outcome is not None:
            end_workflow(tx, full, act.outcome)
    else:
        tx.emit(
            execution_id,
            EventType.WORKFLOW_SUSPENDED,
            workflow_data(full, "WAITING", workerId=None, suspendType=act.suspend_type),
        )
        tx.run(
            "release_workflow",
            id=execution_id,
            worker=act.worker_id,
            status="WAITING",
            batch=act.batch,
            cancel_batch=cancel_batch,
            now=tx.now,
        )
        if full["cancel_requested"] and full["cancel_batch"] is None and cancel_batch is None:
            tx.wakes.add("workflows")  # a cancel arrived mid-activation: activate again
    claims = [started(tx, task) for task in leased]
    if len(leased) < sum(cmd.kind == "task" for cmd in act.commands):
        tx.wakes.add("tasks")  # the others are left for any worker to claim
    return Committed(ready, claims)


def _apply(
    tx: Tx, act: Activation, cmd: Command, trace: str | None, leased: list[Fields] | None
) -> None:
    """Record one command of an activation with its event; a new task is leased to the
    activation's worker when ``leased`` (where its row goes) is given."""
    execution_id, batch = act.execution_id, act.batch
    step_row: dict[str, Any] = {
        "id": execution_id,
        "step": cmd.step,
        "kind": cmd.kind,
        "name": cmd.name,
        "status": "pending",
        "result": encode(None),
        "error": None,
        "batch": None,
        "ref": cmd.ref,
        "timeout_id": None,
        "made_in": batch,
    }
    match cmd.kind:
        case "emit":
            tx.emit(execution_id, cmd.name, cmd.input)
        case "task":
            task = create_task(
                tx,
                task_id=cmd.ref or "",
                execution_id=execution_id,
                workflow_id=execution_id,
                step=cmd.step,
                kind=cmd.name,
                input=cmd.input,
                max_retries=cmd.max_retries,
                max_recoveries=cmd.max_recoveries,
                retry_policy=cmd.retry_policy,
                timeout=cmd.timeout,
                trace=trace,
                lease_to=None if leased is None else act.worker_id,
                lease=act.lease,
            )
            if leased is not None:
                leased.append(task)
            tx.run("insert_step", **step_row)
        case "sleep":
            fire_at = tx.now + int((cmd.seconds or 0) * 1000)
            tx.run(
                "insert_timer",
                id=cmd.ref,
                execution_id=execution_id,
                step=cmd.step,
                kind="sleep",
                fire_at=fire_at,
            )
            tx.run("insert_step", **step_row)
            tx.emit(
                execution_id, EventType.TIMER_STARTED, {"timerId": cmd.ref, "fireAtMs": fire_at}
            )
            tx.wakes.add("timers")
        case "promise" | "receive":
            if cmd.seconds is not None:
                step_row["timeout_id"] = f"{execution_id}:{cmd.step}:timeout"
                tx.run(
                    "insert_timer",
                    id=step_row["timeout_id"],
                    execution_id=execution_id,
                    step=cmd.step,
                    kind="timeout",
                    fire_at=tx.now + int(cmd.seconds * 1000),
                )
                tx.wakes.add("timers")
            tx.run("insert_step", **step_row)
            if cmd.kind == "promise":
                _await_promise(tx, execution_id, cmd)
        case "child":
            parent = tx.one("get_execution", id=execution_id)
            assert parent is not None
            insert_workflow(
                tx,
                NewExecution(
                    id=cmd.ref or "",
                    org=parent["org"],
                    kind=cmd.name,
                    type=ExecutionType.WORKFLOW,
                    input=cmd.input,
                    parent_id=execution_id,
                    parent_step=cmd.step,
                    trace=parent["trace"],
                ),
            )
            tx.run("insert_step", **step_row)
            tx.emit(
                execution_id,
                EventType.CHILD_WORKFLOW_INITIATED,
                {"childWorkflowId": cmd.ref, "kind": cmd.name, "status": "PENDING", "error": None},
            )
        case "operation":
            step_row.update(
                status="failed" if cmd.error else "done", result=encode(cmd.input), error=cmd.error
            )
            tx.run("insert_step", **step_row)
            tx.readied.add(execution_id)  # its result feeds the next batch at once
            tx.emit(
                execution_id,
                EventType.OPERATION_COMPLETED,
                {"operationId": cmd.name, "result": cmd.input, "error": cmd.error},
            )
        case "state" | "clear":
            # The value is kept with the step so a retry that rewinds past it can restore
            # the key's earlier value.
            step_row.update(status="done", batch=batch, result=encode(cmd.input))
            tx.run("insert_step", **step_row)
            if cmd.kind == "state":
                tx.run("set_state", id=execution_id, key=cmd.name, value=encode(cmd.input))
                tx.emit(execution_id, EventType.STATE_SET, {"key": cmd.name, "value": cmd.input})
            else:
                tx.run("clear_state", id=execution_id, key=cmd.name)
                tx.emit(execution_id, EventType.STATE_CLEARED, {"key": cmd.name})


def _await_promise(tx: Tx, execution_id: str, cmd: Command) -> None:
    promise = tx.one("get_promise", id=execution_id, name=cmd.name)
    if promise is None:
        tx.run(
            "insert_promise",
            id=execution_id,
            name=cmd.name,
            status="PENDING",
            value=encode(None),
            error=None,
        )
        tx.emit(execution_id, EventType.PROMISE_CREATED, {"promiseId": cmd.name})
    elif promise["status"] == "RESOLVED":
        resolve_step(tx, execution_id, cmd.step, "done", decode(promise["value"]))
    elif promise["status"] == "REJECTED":
        resolve_step(tx, execution_id, cmd.step, "failed", None, promise["error"])


def _deliver_messages(tx: Tx, execution_id: str) -> None:
    """Hand queued messages to pending ``receive()`` steps, oldest first."""
    for (step,) in tx.all("pending_receives", id=execution_id):
        msg = tx.one("next_message", id=execution_id)
        if msg is None:
            return
        tx.run("consume_message", n=msg["n"], step=step)
        resolve_step(tx, execution_id, step, "done", decode(msg["payload"]))
        tx.emit(execution_id, EventType.MESSAGE_CONSUMED, {"messageId": msg["id"]})


def fire_timers(tx: Tx) -> float | None:
    for timer in tx.all("due_timers", now=tx.now):
        if not tx.changed("close_timer", id=timer["id"], status="fired"):
            continue
        execution_id, step = timer["execution_id"], timer["step"]
        if timer["kind"] == "sleep":
            if resolve_step(tx, execution_id, step, "done"):
                tx.emit(execution_id, EventType.TIMER_FIRED, {"timerId": timer["id"]})
        else:
            resolve_step(tx, execution_id, step, "timeout", None, "timed out")
    row = tx.one("next_timer")
    return None if row is None or row[0] is None else row[0] / 1000


def release_workflows(tx: Tx, worker_id: str, ids: list[str]) -> None:
    """A stopping worker gives up workflow leases: claimable again at once."""
    for execution_id in ids:
        if tx.changed("release_lease", id=execution_id, worker=worker_id, now=tx.now):
            tx.wakes.add("workflows")


def release_expired_workflows(tx: Tx, before: int) -> None:
    """Make workflows whose lease ends before ``before`` claimable again."""
    if tx.changed("expired_workflows", now=tx.now, before=before):
        tx.wakes.add("workflows")
