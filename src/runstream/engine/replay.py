"""One workflow's code, driven batch by batch from its history.

Every call the code makes on its context takes the next step number. A step already in
history must be the same kind and name (else ``NonDeterminismError``); a new step becomes a
``Command`` for the store. Outcomes are fed to the code in *batches*, in the same groups and
order on replay as when they first happened, so code that races steps (``gather``,
``asyncio.wait``) takes the same path every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from runstream.engine.loop import DeterministicLoop
from runstream.errors import (
    CancelledError,
    ChildWorkflowFailed,
    NonDeterminismError,
    OperationFailed,
    PromiseRejected,
    TaskFailed,
)
from runstream.model import Status
from runstream.store.records import Command, History, Outcome, StepRecord

SUSPEND_TYPES = {
    "task": "task",
    "sleep": "timer",
    "promise": "promise",
    "receive": "message",
    "child": "child",
    "operation": "operation",
}
SYNC_KINDS = frozenset({"state", "clear"})


class WorkflowInstance:
    """The running code of one workflow execution plus what it has asked for."""

    def __init__(self, history: History, run: Callable[[WorkflowInstance], Any]) -> None:
        self.execution_id = history.execution_id
        self.loop = DeterministicLoop()  # type: ignore[abstract]  # I/O methods unused
        self.history: dict[int, StepRecord] = {s.step: s for s in history.steps}
        self.recorded_batches = history.last_batch
        """Emissions made while feeding a batch up to this one are already in the log."""
        self.retries = history.retries
        """The history's manual retries: a retry rewrites history behind a cached instance."""
        self.batch = 0
        self.next_step = 1
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.kinds: dict[int, tuple[str, str, str | None]] = {}
        self.commands: list[Command] = []
        self.operations: list[tuple[int, str, Callable[[], Any]]] = []
        self.state: dict[str, Any] = {}
        self.failure: NonDeterminismError | None = None
        self.cancel_reason: str | None = None
        self._raised: list[tuple[BaseException, int]] = []
        """Failures handed to the code, with their steps: which one ended the workflow."""
        self.root: asyncio.Task[Any] = self.loop.create_task(run(self))

    # -- steps -------------------------------------------------------------------------
    def take_step(self, kind: str, name: str) -> tuple[int, StepRecord | None]:
        """The next step number and its history record, checked against what code asks."""
        n = self.next_step
        self.next_step += 1
        rec = self.history.get(n)
        if rec is not None and (rec.kind != kind or rec.name != name):
            self.fail(
                NonDeterminismError(
                    self.execution_id,
                    n,
                    f"history has {rec.kind} {rec.name!r}, the code asked for {kind} {name!r}",
                )
            )
        return n, rec

    def fail(self, error: NonDeterminismError) -> None:
        if self.failure is None:
            self.failure = error
        raise error

    def wait(self, step: int, kind: str, name: str, ref: str | None) -> asyncio.Future[Any]:
        fut = self.loop.create_future()
        self.pending[step] = fut
        self.kinds[step] = (kind, name, ref)
        return fut

    def command(self, cmd: Command) -> None:
        self.commands.append(cmd)

    def emit(self, type: str, data: Any) -> None:
        """Record a data event unless this stretch of code already emitted it."""
        if self.batch > self.recorded_batches:
            orjson.dumps(data)
            self.commands.append(Command("emit", name=type, input=data))

    # -- driving -------------------------------------------------------------------------
    def run(self) -> None:
        self.loop.run_until_quiet()

    def feed(self, records: list[StepRecord]) -> list[int]:
        """Hand outcomes to the code (one batch); returns the steps fed."""
        fed = []
        for rec in records:
            if rec.kind in SYNC_KINDS:
                continue
            fut = self.pending.pop(rec.step, None)
            if fut is None:
                if rec.step >= self.next_step:
                    self.failure = self.failure or NonDeterminismError(
                        self.execution_id,
                        rec.step,
                        f"history has {rec.kind} {rec.name!r} but the code never asked for it",
                    )
                continue
            fed.append(rec.step)
            if fut.done():
                continue
            error = self._error(rec)
            if error is None:
                fut.set_result(rec.result)
            else:
                self._raised.append((error, rec.step))
                fut.set_exception(error)
        return fed

    def feed_cancel(self, reason: str | None) -> list[int]:
        """Deliver the cancellation at every await the code is blocked on."""
        self.cancel_reason = reason
        cancelled = sorted(self.pending)
        for step in cancelled:
            fut = self.pending.pop(step)
            if not fut.done():
                fut.set_exception(CancelledError(reason))
        return cancelled

    def _error(self, rec: StepRecord) -> BaseException | None:
        kind, name, ref = self.kinds.get(rec.step, (rec.kind, rec.name, rec.ref))
        match rec.status:
            case "done":
                return None
            case "cancelled":
                return CancelledError(self.cancel_reason)
            case "timeout":
                return TimeoutError(f"{kind} {name!r} (step {rec.step}) timed out")
        error = rec.error or "failed"
        if kind == "task":
            return TaskFailed(name, ref or "", error)
        if kind == "child":
            return ChildWorkflowFailed(name, ref or "", str(rec.result or "FAILED"), rec.error)
        if kind == "promise":
            return PromiseRejected(name, error)
        return OperationFailed(name, error)

    # -- outcome -------------------------------------------------------------------------
    def outcome(self) -> Outcome | None:
        """How the workflow ended, or None while its code still waits."""
        if self.failure is not None:
            return Outcome(Status.FAILED, error=str(self.failure))
        if not self.root.done():
            return None
        if self.root.cancelled():
            return Outcome(Status.CANCELLED, error=self.cancel_reason)
        exc = self.root.exception()
        if isinstance(exc, CancelledError):
            return Outcome(Status.CANCELLED, error=exc.reason)
        if exc is not None:
            return Outcome(
                Status.FAILED, error=f"{type(exc).__name__}: {exc}", step=self._failed_step(exc)
            )
        result = self.root.result()
        try:
            orjson.dumps(result)
        except TypeError as err:
            return Outcome(Status.FAILED, error=f"workflow result is not JSON: {err}")
        return Outcome(Status.COMPLETED, output=result)

    def _failed_step(self, exc: BaseException) -> int | None:
        """The step whose failure ``exc`` is, or was raised while handling (``raise X from
        err``, a re-raise in ``except``); a manual retry runs that step again."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            for raised, step in self._raised:
                if raised is current:
                    return step
            current = current.__cause__ or current.__context__
        return None

    def suspend_type(self) -> str | None:
        if not self.pending:
            return None
        kind = self.kinds[min(self.pending)][0]
        return SUSPEND_TYPES.get(kind, kind)
