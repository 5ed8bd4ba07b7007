"""The task worker: claims due task attempts, runs them, keeps their leases alive.

A lease is extended every third of its length; a task whose lease this worker lost (it
expired, or the task was cancelled) is cancelled here, and its late result is refused by
the store. Everything the task emitted is queued to the store before its end is recorded.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from runstream.engine.emitter import Emitter
from runstream.engine.signal import Signal
from runstream.errors import LeaseLost, TaskError, UnknownKind
from runstream.observability import metrics, tracing
from runstream.sdk.context import TaskContext
from runstream.sdk.inbox import Inbox, Subscribe
from runstream.sdk.registry import App, TaskDef
from runstream.store.base import Store
from runstream.store.records import Leased, TaskClaim

log = logging.getLogger("runstream.worker")

_current: contextvars.ContextVar[TaskContext] = contextvars.ContextVar("runstream_task")


def current_task() -> TaskContext:
    """The ``TaskContext`` of the task attempt running in this asyncio task."""
    return _current.get()


class AttemptRunner:
    """Runs up to ``concurrency`` task attempts at once for one engine."""

    def __init__(
        self,
        app: App,
        store: Store,
        emitter: Emitter,
        *,
        worker_id: str,
        concurrency: int,
        lease: float,
        poll_interval: float,
        workflow_slots: Callable[[], int],
        hand_workflow: Callable[[Leased], None],
        subscribe: Subscribe,
    ) -> None:
        self._app = app
        self._subscribe = subscribe
        self._store = store
        self._emitter = emitter
        self.worker_id = worker_id
        self._slots = concurrency
        self._lease = lease
        self._poll = poll_interval
        self._running: dict[str, tuple[int, asyncio.Task[None]]] = {}
        self._wake = Signal()
        self._workflow_slots = workflow_slots
        """Free slots of this process's activation runner."""
        self._hand_workflow = hand_workflow
        """Gives a workflow leased in a task's completion to the local activation runner."""
        self.closing = False
        """Stopping: claim nothing more, resume no workflow here."""

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def free_slots(self) -> int:
        return self._slots - len(self._running)

    def adopt(self, claims: list[TaskClaim]) -> None:
        """Run task attempts already leased to this worker."""
        for claim in claims:
            task = asyncio.create_task(self._attempt(claim), name=f"task:{claim.id}")
            self._running[claim.id] = (claim.attempt, task)

    async def run(self) -> None:
        """Claim and run task attempts until cancelled."""
        heartbeat = asyncio.create_task(self._heartbeat(), name="runstream-heartbeat")
        try:
            while True:
                self._wake.clear()
                free = self._slots - len(self._running)
                claims: list[TaskClaim] = []
                next_due: float | None = None
                if free > 0 and not self.closing:
                    claims, next_due = await self._store.claim_tasks(
                        self.worker_id, free, self._lease
                    )
                self.adopt(claims)
                if free <= 0 or len(claims) < free:
                    timeout = self._poll
                    if next_due is not None:
                        timeout = min(timeout, max(0.0, next_due - time.time()))
                    await self._wake.wait(timeout)
        finally:
            heartbeat.cancel()
            await self.drain(0)

    async def drain(self, grace: float) -> dict[str, int]:
        """Give running attempts ``grace`` seconds to finish, then cancel them; returns the
        cancelled ones (task id → attempt), whose leases the caller should release."""
        tasks = [t for _, t in self._running.values()]
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        cancelled = {tid: attempt for tid, (attempt, t) in self._running.items() if not t.done()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return cancelled

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._running:
                continue
            attempts = {tid: attempt for tid, (attempt, _) in self._running.items()}
            lost = await self._store.heartbeat_tasks(self.worker_id, attempts, self._lease)
            for task_id in lost:
                entry = self._running.get(task_id)
                if entry is not None and entry[0] == attempts[task_id]:
                    log.info("task %s lost its lease; stopping its attempt", task_id)
                    entry[1].cancel()

    async def _attempt(self, claim: TaskClaim) -> None:
        started = time.perf_counter()
        with tracing.span(
            f"task {claim.kind}",
            parent=claim.trace,
            **{
                "runstream.execution_id": claim.execution_id,
                "runstream.task_id": claim.id,
                "runstream.attempt": claim.attempt,
                "runstream.worker_id": self.worker_id,
            },
        ):
            await self._run_attempt(claim)
        metrics.TASK_DURATION.observe(time.perf_counter() - started)

    async def _run_attempt(self, claim: TaskClaim) -> None:
        try:
            output, error, retryable = await self._execute(claim)
            self._emitter.flush()
            resume_for = None
            if self._workflow_slots() > 0 and not self.closing:
                resume_for = self.worker_id
            try:
                resumed = await self._store.finish_task(
                    claim.id,
                    claim.attempt,
                    self.worker_id,
                    output=output,
                    error=error,
                    retryable=retryable,
                    resume_for=resume_for,
                    lease=self._lease,
                )
                if resumed is not None:
                    self._hand_workflow(resumed)
            except LeaseLost:
                log.warning(
                    "result of task %s attempt %d refused: lease lost", claim.id, claim.attempt
                )
        finally:
            if self._running.pop(claim.id, None) and len(self._running) == self._slots - 1:
                self._wake.set()  # was full: due tasks may have waited for this slot

    def _inbox(self, task: TaskDef, claim: TaskClaim) -> Inbox | None:
        # Only a standalone execution: a workflow's messages go to its ctx.receive().
        if not task.accepts_messages or claim.workflow_id is not None:
            return None
        return Inbox(self._store, self._subscribe, claim.execution_id, claim.id, claim.attempt)

    async def _execute(self, claim: TaskClaim) -> tuple[Any, str | None, bool]:
        """Run the task code; returns (output, error, retryable)."""
        try:
            task = self._app.get_task(claim.kind)
        except UnknownKind as err:
            return None, str(err), False
        ctx = TaskContext(
            emit=self._emitter.emit,
            execution_id=claim.execution_id,
            workflow_execution_id=claim.workflow_id,
            task_id=claim.id,
            attempt=claim.attempt,
            kind=claim.kind,
            inbox=self._inbox(task, claim),
        )
        token = _current.set(ctx)
        deadline = asyncio.timeout(claim.timeout)
        try:
            async with deadline:
                if task.takes_input:
                    output = await task.fn(ctx, claim.input)
                else:
                    output = await task.fn(ctx)
            orjson.dumps(output)
            return output, None, True
        except TaskError as err:
            return None, str(err), err.retryable
        except TimeoutError as err:
            if deadline.expired():
                return None, f"timed out after {claim.timeout}s", True
            return None, f"TimeoutError: {err}", True
        except Exception as err:
            return None, f"{type(err).__name__}: {err}", True
        finally:
            _current.reset(token)
