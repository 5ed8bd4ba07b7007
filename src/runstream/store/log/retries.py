"""Manual retry of a failed execution: reopen its log and rewind it to before its failure.

A workflow's history is a sequence of *batches*: each batch fed some outcomes to the code
and recorded what the code did next. A retry rewinds the workflow to just before the batch
that handed the fatal failure to its code (the step recorded in ``failed_step``; without
one, the last batch). Of the steps that batch and later ones touched:

- steps *made* in those batches are what the code did after the failure (cleanup, an error
  report): they are dropped, and the code may make them again;
- steps made earlier keep what they got when it was a success (the outcome is fed again,
  nothing re-runs); a task that failed for good or was cancelled when the workflow ended
  gets a new attempt with a fresh retry budget, a failed child (or one the failure
  cancelled) is retried in place in its own log, a cancelled timer or wait is armed again,
  a failed operation runs again.

The log reopens with ``RETRY_REQUESTED`` after the old terminal event, and the workflow is
ready for an activation, which replays the kept batches and runs on from there.
"""

from __future__ import annotations

from typing import Any

from runstream.errors import InvalidState
from runstream.model import EventType
from runstream.store.log.executions import INPUT_CLOSED, INPUT_OPEN
from runstream.store.log.reads import execution_row
from runstream.store.log.steps import PARENT_CANCELLED
from runstream.store.log.tx import Row, Tx, decode, encode


def retry(tx: Tx, execution_id: str, reason: str | None) -> int:
    """The ``Store.retry_execution`` transition; returns the retry's number (1, 2, …)."""
    row = reopen(tx, execution_id, reason)
    if row is None:
        current = execution_row(tx, execution_id)
        raise InvalidState(
            execution_id,
            f"only a FAILED execution can be retried; {execution_id} is {current['status']}",
        )
    return int(row["retries"])


def reopen(
    tx: Tx, execution_id: str, reason: str | None, *, parent_cancelled: bool = False
) -> Row | None:
    """Reopen a FAILED execution for its next run (with ``parent_cancelled``: a child its
    parent cancelled when it failed); None, nothing changed, when it is not in that state.
    The status check and change are one statement, so of two concurrent retries exactly
    one gets the row."""
    if parent_cancelled:
        row = tx.one("reopen_cancelled_child", id=execution_id, reason=PARENT_CANCELLED, now=tx.now)
    else:
        row = tx.one("reopen_execution", id=execution_id, now=tx.now)
    if row is None:
        return None
    # The status is no longer terminal, so the log takes events again.
    tx.emit(
        execution_id,
        EventType.RETRY_REQUESTED,
        {
            "targetId": execution_id,
            "targetType": row["type"],
            "attempt": row["retries"],
            "reason": reason,
        },
    )
    if row["type"] == "task":
        _rerun_task(tx, execution_id)
    else:
        _rewind(tx, row, _rewind_point(row, parent_cancelled))
    return row


def _rerun_task(tx: Tx, task_id: str) -> None:
    """A new attempt for a task that failed for good or was cancelled, with a fresh budget;
    its ``executionCount`` goes on from where it was. A session that had ended its input
    (Claude Code) takes messages again."""
    if tx.changed("retry_task", id=task_id, now=tx.now):
        tx.wakes.add("tasks")
    tx.run("reopen_input", id=task_id, open=INPUT_OPEN, closed=INPUT_CLOSED)


def _rewind_point(row: Row, parent_cancelled: bool) -> int:
    """The last batch kept: the one before the batch that fed the failure (or, for a
    child its parent cancelled, the cancellation) to the code."""
    if parent_cancelled:
        cancel_batch = row["cancel_batch"]
        return int(row["last_batch"] if cancel_batch is None else cancel_batch - 1)
    return int(row["last_batch"]) - 1


def _rewind(tx: Tx, row: Row, keep: int) -> None:
    execution_id = row["id"]
    if row["failed_step"] is not None:
        failed = tx.one("get_step", id=execution_id, step=row["failed_step"])
        if failed is not None and failed["batch"] is not None:
            keep = min(keep, failed["batch"] - 1)
    touched_keys: set[str] = set()
    for step in tx.all("steps_to_rewind", id=execution_id, batch=keep):
        made_in = step["made_in"]
        if made_in is not None and made_in > keep:
            _drop(tx, execution_id, step)
            if step["kind"] in ("state", "clear"):
                touched_keys.add(step["name"])
        else:
            _reopen_step(tx, execution_id, step)
    for key in sorted(touched_keys):
        _restore_state(tx, execution_id, key)
    tx.run("rewind_workflow", id=execution_id, batch=keep, now=tx.now)
    tx.wakes.add("workflows")


def _drop(tx: Tx, execution_id: str, step: Row) -> None:
    """Forget a step the code made after its failure. Whatever it waited on has ended (the
    failure cancelled it); it is detached so a late end cannot resolve a new step that
    takes the same number, and the messages it consumed are delivered again."""
    n = step["step"]
    tx.run("delete_step", id=execution_id, step=n)
    tx.run("delete_step_timers", id=execution_id, step=n)
    tx.run("release_messages", id=execution_id, step=n)
    tx.run("detach_step_children", id=execution_id, step=n)
    tx.run("detach_step_tasks", id=execution_id, step=n)


def _reopen_step(tx: Tx, execution_id: str, step: Row) -> None:
    """A step made before the rewind point: keep a success, run a failure again."""
    n, kind, status = step["step"], step["kind"], step["status"]
    if status == "pending":
        return
    if kind == "child" and status in ("failed", "cancelled"):
        _reattach_child(tx, execution_id, n, step["ref"])
    elif kind == "operation" and status == "failed":
        tx.run("delete_step", id=execution_id, step=n)  # the replay asks for it anew
    elif (kind == "task" and status in ("failed", "cancelled")) or status == "cancelled":
        tx.run("reopen_step", id=execution_id, step=n)
        _rearm(tx, kind, step)
    else:
        tx.run("unfeed_step", id=execution_id, step=n)  # fed again by the next activation


def _rearm(tx: Tx, kind: str, step: Row) -> None:
    """Give a reopened step back what it waits on."""
    if kind == "task":
        _rerun_task(tx, step["ref"])
    elif kind == "sleep" and tx.changed("reopen_timer", id=step["ref"]):
        tx.wakes.add("timers")
    if step["timeout_id"] and tx.changed("reopen_timer", id=step["timeout_id"]):
        tx.wakes.add("timers")


def _reattach_child(tx: Tx, parent_id: str, n: int, child_id: str) -> None:
    """Make the parent's step follow its child again: a failed child, or one the parent's
    failure cancelled, is retried in place (its own ``RETRY_REQUESTED``), a running one
    will report its end as usual, one that completed meanwhile (retried on its own) hands
    over its output, and one cancelled from outside stays a failure."""
    tx.run("reopen_step", id=parent_id, step=n)
    child = tx.one("lock_execution", id=child_id)
    if child is None:
        return
    status = child["status"]
    if status == "FAILED":
        reopen(tx, child_id, "parent retried")
    elif status == "CANCELLED" and child["cancel_reason"] == PARENT_CANCELLED:
        reopen(tx, child_id, "parent retried", parent_cancelled=True)
    elif status == "COMPLETED":
        output = decode(child["output"])
        _settle(tx, parent_id, n, "done", output, None)
        tx.emit(
            parent_id,
            EventType.CHILD_WORKFLOW_COMPLETED,
            {"childWorkflowId": child_id, "kind": child["kind"], "status": status, "error": None},
        )
    elif status == "CANCELLED":
        _settle(tx, parent_id, n, "failed", status, child["error"])


def _settle(tx: Tx, execution_id: str, n: int, status: str, result: Any, error: Any) -> None:
    tx.run(
        "settle_step",
        id=execution_id,
        step=n,
        status=status,
        result=encode(result),
        error=error,
    )


def _restore_state(tx: Tx, execution_id: str, key: str) -> None:
    """Set a state key back to what the kept steps last made it."""
    last = tx.one("last_state_step", id=execution_id, key=key)
    if last is None or last["kind"] == "clear":
        tx.run("clear_state", id=execution_id, key=key)
    else:
        tx.run("set_state", id=execution_id, key=key, value=last["result"])
