"""Workflow activations: claim a ready workflow, bring its code up to date, commit.

An activation replays the code from history (or reuses the instance cached from the
previous activation when nothing else touched it), feeds what happened since as one new
batch, runs the code until it waits again, and commits the new steps atomically. Waiting
workflows hold neither a worker slot nor, beyond the bounded cache, memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from runstream.engine.attempts import AttemptRunner
from runstream.engine.replay import WorkflowInstance
from runstream.engine.signal import Signal
from runstream.errors import LeaseLost, UnknownKind
from runstream.model import Status
from runstream.observability import metrics, tracing
from runstream.sdk.context import WorkflowContext
from runstream.sdk.registry import App, WorkflowDef
from runstream.store.base import Store
from runstream.store.records import Activation, Command, History, Leased, Outcome, StepRecord

log = logging.getLogger("runstream.runner")


class ActivationRunner:
    """Runs activations for one engine, at most ``concurrency`` at a time."""

    def __init__(
        self,
        app: App,
        store: Store,
        *,
        worker_id: str,
        concurrency: int,
        lease: float,
        poll_interval: float,
        attempts: AttemptRunner,
        cache_size: int = 256,
    ) -> None:
        self._app = app
        self._store = store
        self._worker_id = worker_id
        self._lease = lease
        self._poll = poll_interval
        self._slots = concurrency
        self._reserved = 0
        """Slots held for workflows being created for this worker (``reservation``)."""
        self._active: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, Leased] = {}
        """Leased again while still activating: activate once more when that ends."""
        self._stopping = False
        self._wake = Signal()
        self._cache: OrderedDict[str, WorkflowInstance] = OrderedDict()
        self._cache_size = cache_size
        self._attempts = attempts
        """This process's task attempts: an activation starts its new tasks there."""
        self.closing = False
        """Stopping: claim nothing more."""
        self.abandoned: list[str] = []
        """Workflows whose activation was cancelled when the runner stopped (still leased)."""

    @property
    def free_slots(self) -> int:
        return self._slots - len(self._active) - self._reserved

    @contextlib.contextmanager
    def reservation(self) -> Iterator[bool]:
        """Hold a slot, if one is free, while a workflow is being created for this worker
        (``adopt`` it before leaving: nothing can take the slot in between); whether one
        was held."""
        held = int(self.free_slots > 0 and not self.closing and not self._stopping)
        self._reserved += held
        try:
            yield bool(held)
        finally:
            self._reserved -= held

    def adopt(self, leased: Leased) -> None:
        """Activate a workflow this worker has leased (claimed, created for it, or leased to
        it in a task's completion). A lease is never dropped: if the previous activation has
        not finished yet (its done-callback is still queued), this one follows it; once the
        runner has stopped, it is handed back with the abandoned ones."""
        if self._stopping:
            self.abandoned.append(leased.execution_id)
            return
        if leased.execution_id in self._active:
            self._again[leased.execution_id] = leased
        else:
            self._start(leased)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Claim and activate ready workflows until cancelled."""
        heartbeat = asyncio.create_task(self._heartbeat(), name="runstream-workflow-leases")
        try:
            while True:
                self._wake.clear()
                free = self.free_slots
                claimed = []
                if free > 0 and not self.closing:
                    claimed = await self._store.claim_workflows(self._worker_id, free, self._lease)
                for leased in claimed:
                    self.adopt(leased)
                if free <= 0 or len(claimed) < free:
                    await self._wake.wait(self._poll)
        finally:
            self._stopping = True
            heartbeat.cancel()
            self.abandoned = list(self._active)
            for task in self._active.values():
                task.cancel()
            await asyncio.gather(heartbeat, *self._active.values(), return_exceptions=True)

    def _start(self, leased: Leased) -> None:
        execution_id = leased.execution_id
        task = asyncio.create_task(self._activate(leased), name=f"wf:{execution_id}")
        self._active[execution_id] = task
        task.add_done_callback(functools.partial(self._done, execution_id))

    async def _heartbeat(self) -> None:
        """Keep the leases of running activations (a long ``ctx.operation``) alive."""
        while True:
            await asyncio.sleep(self._lease / 3)
            if self._active:
                await self._store.heartbeat_workflows(
                    self._worker_id, list(self._active), self._lease
                )

    def _done(self, execution_id: str, task: asyncio.Task[None]) -> None:
        if self._active.get(execution_id) is task:
            del self._active[execution_id]
            again = self._again.pop(execution_id, None)
            if again is not None:
                if not self._stopping:
                    self._start(again)
            elif len(self._active) == self._slots - 1:  # was full: claims may have waited
                self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("activation failed", exc_info=task.exception())

    async def _activate(self, leased: Leased) -> None:
        history = leased.history or await self._store.load_history(leased.execution_id)
        started = time.perf_counter()
        with tracing.span(
            f"activate {history.kind}",
            parent=history.trace,
            **{
                "runstream.execution_id": leased.execution_id,
                "runstream.worker_id": self._worker_id,
            },
        ):
            await self._advance(history)
        metrics.ACTIVATION_DURATION.observe(time.perf_counter() - started)

    async def _advance(self, history: History) -> None:
        """Bring the workflow's code up to date with its history, then commit what it did."""
        execution_id = history.execution_id
        inst = self._cache.pop(execution_id, None)
        if not history.complete and (inst is None or not _current(inst, history)):
            # Only the newest steps came with the lease: they fit an instance that ran the
            # batch before them, which this worker no longer holds.
            history = await self._store.load_history(execution_id)
        try:
            wf = self._app.get_workflow(history.kind)
        except UnknownKind as err:
            await self._store.commit_activation(
                Activation(
                    execution_id,
                    self._worker_id,
                    history.last_batch + 1,
                    outcome=Outcome(Status.FAILED, error=str(err)),
                )
            )
            return
        if inst is None or not _current(inst, history):
            inst = self._replay(wf, history)
        elif history.complete:
            inst.history = {s.step: s for s in history.steps}
        else:
            inst.history.update((s.step, s) for s in history.steps)
        fresh = [s for s in history.steps if s.status != "pending" and s.batch is None]
        cancel = history.cancel_requested and history.cancel_batch is None
        while True:
            act = self._next_batch(inst, fresh, cancel, history.cancel_reason)
            await self._run_operations(inst, act)
            outcome = inst.outcome()
            act.outcome = outcome
            act.suspend_type = inst.suspend_type()
            act.claim_tasks = 0 if self.closing else self._attempts.free_slots
            act.lease = self._lease
            try:
                committed = await self._store.commit_activation(act)
            except LeaseLost:
                log.warning("lost the lease of workflow %s; another worker has it", execution_id)
                return
            inst.recorded_batches = act.batch
            if committed.claims:
                self._attempts.adopt(committed.claims)
            fresh = committed.ready
            cancel = False
            if outcome is not None:
                return
            if not fresh:
                self._keep(execution_id, inst)
                return

    def _replay(self, wf: WorkflowDef, history: History) -> WorkflowInstance:
        """A new instance whose code has been driven through every recorded batch.

        Replay makes no commands and emits nothing for recorded batches; a brand-new
        workflow comes out of here having run its batch 0, not yet committed.
        """
        ctx_input = history.input
        inst = WorkflowInstance(
            history, lambda i: _call(wf, WorkflowContext(self._app, i), ctx_input)
        )
        inst.run()
        by_batch: dict[int, list[StepRecord]] = {}
        for rec in history.steps:
            if rec.batch is not None:
                by_batch.setdefault(rec.batch, []).append(rec)
        for batch in range(1, history.last_batch + 1):
            inst.batch = batch
            records = by_batch.get(batch, [])
            inst.feed([r for r in records if r.status != "cancelled"])
            if history.cancel_batch == batch:
                inst.feed_cancel(history.cancel_reason)
            inst.feed([r for r in records if r.status == "cancelled"])
            inst.run()
        inst.batch = max(history.last_batch, 0)
        return inst

    def _next_batch(
        self, inst: WorkflowInstance, fresh: list[StepRecord], cancel: bool, reason: str | None
    ) -> Activation:
        """Feed what happened since the last committed batch and run the code until it
        waits; batch 0 (the first run) has nothing to feed."""
        if inst.batch <= inst.recorded_batches:
            inst.batch += 1
        act = Activation(inst.execution_id, self._worker_id, inst.batch)
        act.fed = inst.feed(fresh)
        if cancel:
            act.cancelled = inst.feed_cancel(reason)
            act.cancel_fed = True
        inst.run()
        return act

    async def _run_operations(self, inst: WorkflowInstance, act: Activation) -> None:
        """Run the side effects the code asked for; their results feed the next batch."""
        ops, inst.operations = inst.operations, []
        for step, name, fn in ops:
            try:
                result = fn()
                if inspect.isawaitable(result):
                    result = await result
                inst.command(Command("operation", step, name, result))
            except Exception as exc:
                inst.command(Command("operation", step, name, error=f"{type(exc).__name__}: {exc}"))
        act.commands, inst.commands = inst.commands, []

    def _keep(self, execution_id: str, inst: WorkflowInstance) -> None:
        self._cache[execution_id] = inst
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _current(inst: WorkflowInstance, history: History) -> bool:
    """Whether a cached instance has run exactly the history's recorded batches (a manual
    retry rewrites history behind it even when the batch number matches)."""
    return inst.batch == history.last_batch and inst.retries == history.retries


async def _call(wf: WorkflowDef, ctx: WorkflowContext, arg: Any) -> Any:
    if wf.takes_input:
        return await wf.fn(ctx, arg)
    return await wf.fn(ctx)
