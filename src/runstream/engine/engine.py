"""``rs.Engine``: start, watch and steer executions; runs the worker loops in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runstream.engine import accounting
from runstream.engine.activations import ActivationRunner
from runstream.engine.attempts import AttemptRunner
from runstream.engine.emitter import Emitter
from runstream.engine.signal import Signal
from runstream.engine.wakeups import Wakeups
from runstream.errors import ExecutionFailed, ExecutionNotFound, StoreError
from runstream.model import Event, ExecutionType, Snapshot, Status, is_uuid, new_id
from runstream.model.json import check
from runstream.observability import tracing
from runstream.sdk.registry import App
from runstream.store import Store, open_store
from runstream.store.base import RECOVERY_LIMIT, Wake
from runstream.store.records import NewExecution
from runstream.streaming.consolidated import consolidated
from runstream.streaming.hub import Hub

log = logging.getLogger("runstream.engine")


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message the store accepted."""

    id: str
    queue_size: int
    """Messages of the execution accepted and not yet consumed, this one included."""


class ExecutionHandle:
    """A reference to one execution."""

    def __init__(self, engine: Engine, execution_id: str, created: Snapshot | None = None) -> None:
        self._engine = engine
        self.id = execution_id
        self.created = created
        """The snapshot as the execution was created (on handles ``start`` returns)."""

    def __repr__(self) -> str:
        return f"ExecutionHandle({self.id!r})"

    def stream(self, after: int = 0, *, consolidated: bool = False) -> AsyncIterator[Event]:
        """The execution's events after seq ``after``, then live, ending after the terminal
        event; ``consolidated=True`` adds every descendant's events (``after`` ignored)."""
        if consolidated:
            return self._engine._consolidated_events(self.id)
        return self._engine.stream(self.id, after)

    async def result(self, timeout: float | None = None) -> Any:
        """Wait for the end and return the output; raises ``ExecutionFailed``."""
        async with asyncio.timeout(timeout):
            snap = await self._engine.get(self.id)
            if not snap.status.is_terminal:
                async for _ in self._engine.stream(self.id, snap.last_seq):
                    pass
                snap = await self._engine.get(self.id)
        if snap.status == Status.COMPLETED:
            return snap.output
        raise ExecutionFailed(self.id, str(snap.status), snap.error)

    async def get(self) -> Snapshot:
        return await self._engine.get(self.id)


class Engine:
    """Runs an ``App`` on a store; use as ``async with rs.Engine(app) as engine``."""

    def __init__(
        self,
        app: App,
        *,
        store: str | Store = "sqlite:///./runstream.db",
        worker: bool = True,
        concurrency: int = 100,
        lease_timeout: float = 30.0,
        poll_interval: float = 1.0,
        shutdown_grace: float = 2.0,
        worker_id: str | None = None,
        bus: str | None = None,
        recovery_limit: int = RECOVERY_LIMIT,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if lease_timeout <= 0:
            raise ValueError("lease_timeout must be > 0")
        self.app = app
        self.store = open_store(store) if isinstance(store, str) else store
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self.hub = Hub(self.store)
        self._wakeups = Wakeups(
            self.store, self.hub, self._run_loops, bus_url=bus, poll_interval=poll_interval
        )
        self._recovery_limit = recovery_limit
        self._worker_enabled = worker
        self._lease = lease_timeout
        self._poll = poll_interval
        self._grace = shutdown_grace
        self._concurrency = concurrency
        self._emitter = Emitter(self.store.append_events)
        self._runner: ActivationRunner | None = None
        self._worker: AttemptRunner | None = None
        self._timer_wake: Signal | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._observers: list[Callable[[Sequence[Event]], None]] = []

    # -- lifecycle -----------------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the store and, with ``worker=True``, start the worker loops."""
        await self.store.open(self)
        try:
            await self._wakeups.start()
        except BaseException:
            await self.store.close()
            raise
        if not self._worker_enabled:
            return
        self._timer_wake = Signal()
        # Work this process starts in a commit goes straight to its own runners: an
        # activation starts its new tasks here, a task's completion resumes its workflow here.
        runner: ActivationRunner
        worker = AttemptRunner(
            self.app,
            self.store,
            self._emitter,
            worker_id=self.worker_id,
            concurrency=self._concurrency,
            lease=self._lease,
            poll_interval=self._poll,
            workflow_slots=lambda: runner.free_slots,
            hand_workflow=lambda leased: runner.adopt(leased),
            subscribe=self.hub.subscribe,
        )
        runner = ActivationRunner(
            self.app,
            self.store,
            worker_id=self.worker_id,
            concurrency=self._concurrency,
            lease=self._lease,
            poll_interval=self._poll,
            attempts=worker,
        )
        self._runner, self._worker = runner, worker
        self._loops = [
            asyncio.create_task(runner.run(), name="runstream-workflows"),
            asyncio.create_task(worker.run(), name="runstream-tasks"),
            asyncio.create_task(self._timers(), name="runstream-timers"),
            asyncio.create_task(self._sweep(), name="runstream-leases"),
        ]

    async def close(self) -> None:
        """Stop claiming, let running task attempts finish (``shutdown_grace``), give up the
        leases of what did not finish (other workers take it over at once), close."""
        cancelled: dict[str, int] = {}
        if self._worker is not None and self._runner is not None:
            self._worker.closing = self._runner.closing = True
            cancelled = await self._worker.drain(self._grace)
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        self._emitter.flush()
        abandoned = self._runner.abandoned if self._runner is not None else []
        if cancelled or abandoned:
            try:
                await self.store.release_leases(
                    self.worker_id, cancelled, abandoned, self._recovery_limit
                )
            except StoreError as exc:
                log.warning("could not release leases (they will expire): %s", exc)
        await self._wakeups.close()
        await self.store.close()

    # -- StoreListener -------------------------------------------------------------------
    def on_events(self, events: Sequence[Event]) -> None:
        self.hub.publish(events)
        accounting.count(events)
        self._wakeups.committed(events)
        for observer in self._observers:
            try:
                observer(events)
            except Exception:
                # An observer's bug must not break the commit path it is told about.
                log.exception("commit observer %r failed", observer)

    def observe(self, observer: Callable[[Sequence[Event]], None]) -> Callable[[], None]:
        """Call ``observer`` with every batch of events this process commits, in commit
        order, on the event loop (it must not block); returns a function that stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def on_wake(self, what: frozenset[Wake]) -> None:
        self._wakeups.woken(what)
        self._run_loops(what)

    def _run_loops(self, what: frozenset[Wake]) -> None:
        if self._runner is not None and "workflows" in what:
            self._runner.wake()
        if self._worker is not None and "tasks" in what:
            self._worker.wake()
        if self._timer_wake is not None and "timers" in what:
            self._timer_wake.set()

    async def _timers(self) -> None:
        assert self._timer_wake is not None
        while True:
            self._timer_wake.clear()
            next_at = await self.store.fire_timers()
            # Shared store: another process may add a timer and its hint may be lost.
            longest = self._poll if self.store.shared else self._poll * 5
            delay = longest if next_at is None else max(0.0, next_at - time.time())
            await self._timer_wake.wait(min(delay, longest))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(self._lease / 2, 5.0))
            await self.store.expire_leases(self._recovery_limit)

    # -- starting ------------------------------------------------------------------------
    async def start(
        self, workflow: str | Callable[..., Any], input: Any = None, *, org: str = "default"
    ) -> ExecutionHandle:
        """Start a workflow execution."""
        wf = self.app.get_workflow(workflow)
        check(input, "input")
        execution_id = new_id()
        new = NewExecution(
            execution_id, org, wf.name, ExecutionType.WORKFLOW, input, trace=tracing.carrier()
        )
        # With a free activation slot here, the new workflow is leased to this worker as it
        # is created and activated at once: no claim, no wake-up.
        runner = self._runner
        with runner.reservation() if runner else contextlib.nullcontext(False) as here:
            created = await self.store.create_execution(
                new, lease_to=self.worker_id if here else None, lease=self._lease
            )
            if runner is not None and created.leased is not None:
                runner.adopt(created.leased)
        return ExecutionHandle(self, execution_id, created.snapshot)

    async def start_task(
        self, task: str | Callable[..., Any], input: Any = None, *, org: str = "default"
    ) -> ExecutionHandle:
        """Start a standalone task execution (its own log)."""
        t = self.app.get_task(task)
        check(input, "input")
        execution_id = new_id()
        created = await self.store.create_execution(
            NewExecution(
                execution_id,
                org,
                t.name,
                ExecutionType.TASK,
                input,
                max_retries=t.retries,
                max_recoveries=t.recoveries,
                retry_policy=t.retry_policy,
                timeout=t.timeout,
                trace=tracing.carrier(),
                accepts_messages=t.accepts_messages,
            )
        )
        return ExecutionHandle(self, execution_id, created.snapshot)

    def handle(self, execution_id: str) -> ExecutionHandle:
        return ExecutionHandle(self, execution_id)

    # -- reading -------------------------------------------------------------------------
    async def get(self, execution_id: str) -> Snapshot:
        """The execution's snapshot; raises ``ExecutionNotFound``."""
        return await self.store.get_snapshot(execution_id)

    async def list_executions(
        self,
        *,
        org: str = "default",
        type: ExecutionType = ExecutionType.WORKFLOW,
        status: Status | None = None,
        kind: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Snapshot], str | None]:
        """A page of execution summaries (``input`` and ``output`` are not loaded: ``None``;
        ``get`` has them), newest first, and the cursor of the next page; raises
        ``ValueError`` for a cursor this engine did not hand out."""
        if cursor is not None and not is_uuid(cursor):
            raise ValueError(f"malformed cursor {cursor!r}")
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be within 1..1000")
        return await self.store.list_executions(
            org=org, type=type, status=status, kind=kind, limit=limit, cursor=cursor
        )

    async def events(self, execution_id: str, after: int = 0, limit: int = 100) -> list[Event]:
        """A page of the log; raises ``ExecutionNotFound``."""
        events = await self.store.read_events(execution_id, after, limit)
        if not events:
            await self.get(execution_id)
        return events

    async def find_event(self, execution_id: str, type: str, nth: int = 1) -> Event | None:
        """The ``nth`` (from 1) event of ``type`` in the execution's log, if there is one."""
        return await self.store.find_event(execution_id, type, nth)

    def stream(self, execution_id: str, after: int = 0) -> AsyncIterator[Event]:
        """Events after seq ``after``, then live; ends after the terminal event."""
        return self.hub.subscribe(execution_id, after)

    def stream_consolidated(
        self, execution_id: str, cursor: str | None = None
    ) -> AsyncIterator[tuple[str, Event]]:
        """The execution's and its descendants' events, each with its resume cursor."""
        return consolidated(self.hub, self.store, execution_id, cursor)

    async def _consolidated_events(self, execution_id: str) -> AsyncIterator[Event]:
        async for _, event in self.stream_consolidated(execution_id):
            yield event

    # -- steering ------------------------------------------------------------------------
    async def cancel(self, execution_id: str, reason: str | None = None) -> None:
        """Cancel an execution with its tasks, timers and children; idempotent."""
        check(reason, "reason")
        await self.store.request_cancel(execution_id, reason)

    async def retry(self, execution_id: str, reason: str | None = None) -> int:
        """Run a FAILED execution again from where it failed; returns the retry's number.

        Steps that succeeded are answered from history (no task re-runs, no event is
        emitted twice); the task that failed for good runs again with a fresh retry budget,
        a failed child is retried in place. The log goes on after the old terminal event
        with ``RETRY_REQUESTED`` and ends with a new one. Raises ``InvalidState`` unless
        the execution is FAILED, ``ExecutionNotFound`` for an unknown id.
        """
        return await self.store.retry_execution(execution_id, reason)

    async def send_message(self, execution_id: str, message: Any) -> str:
        """Queue a message for a workflow's ``ctx.receive()``, or for a running (or pending)
        Claude Code session; returns its id. Raises ``InvalidState`` once the execution has
        ended or no longer takes messages."""
        return (await self.queue_message(execution_id, message)).id

    async def queue_message(self, execution_id: str, message: Any) -> QueuedMessage:
        """``send_message``, also telling how many messages now wait to be consumed."""
        check(message, "message")
        message_id = new_id()
        queued = await self.store.post_message(execution_id, message_id, message)
        return QueuedMessage(message_id, queued)

    async def resolve_promise(self, execution_id: str, name: str, value: Any = None) -> None:
        """Resolve a promise (first write wins)."""
        check(value, "value")
        await self.store.settle_promise(execution_id, name, value=value)

    async def reject_promise(self, execution_id: str, name: str, error: str) -> None:
        """Reject a promise (first write wins)."""
        check(str(error), "error")
        await self.store.settle_promise(execution_id, name, error=str(error))


__all__ = ["Engine", "ExecutionHandle", "ExecutionNotFound", "QueuedMessage"]
