"""What workflow and task code sees: ``WorkflowContext`` and ``TaskContext``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, overload

import orjson

from runstream.model import EventType, NewEvent, new_id
from runstream.model.events import LIFECYCLE
from runstream.sdk.inbox import Inbox
from runstream.sdk.registry import App
from runstream.store.records import Command, StepRecord

T = TypeVar("T")


def _clamp(progress: float) -> float:
    return min(1.0, max(0.0, float(progress)))


class Steps(Protocol):
    """What a workflow context needs from the engine's replay of one activation."""

    execution_id: str
    operations: list[tuple[int, str, Callable[[], Any]]]
    """Operations called in this activation, run by the engine after the code yields."""
    state: dict[str, Any]

    def take_step(self, kind: str, name: str) -> tuple[int, StepRecord | None]:
        """The next step number and its record in history (None: a new step)."""

    def wait(self, step: int, kind: str, name: str, ref: str | None) -> asyncio.Future[Any]:
        """A future resolved with the step's outcome when it is fed."""

    def command(self, cmd: Command) -> None:
        """Record a new step for the activation's commit."""

    def emit(self, type: str, data: Any) -> None:
        """Emit a workflow-level data event (skipped on replay)."""


class WorkflowContext:
    """Handed to workflow code; every method is a recorded, replayable step.

    Methods that wait return awaitables created at call time, so the order in which code
    *calls* them fixes the step numbers: ``asyncio.gather(ctx.task(a), ctx.task(b))`` is
    replay-safe.
    """

    def __init__(self, app: App, instance: Steps) -> None:
        self._app = app
        self._inst = instance

    @property
    def execution_id(self) -> str:
        return self._inst.execution_id

    @overload
    def task(self, fn: Callable[..., Awaitable[T]], arg: Any = None) -> asyncio.Future[T]: ...
    @overload
    def task(self, fn: str, arg: Any = None) -> asyncio.Future[Any]: ...
    def task(self, fn: str | Callable[..., Any], arg: Any = None) -> asyncio.Future[Any]:
        """Schedule a task and await its result; raises ``TaskFailed`` when it fails for good."""
        task = self._app.get_task(fn)
        n, rec = self._inst.take_step("task", task.name)
        ref = rec.ref if rec else new_id()
        if rec is None:
            orjson.dumps(arg)
            self._inst.command(
                Command(
                    "task",
                    n,
                    task.name,
                    arg,
                    ref,
                    max_retries=task.retries,
                    max_recoveries=task.recoveries,
                    retry_policy=task.retry_policy,
                    timeout=task.timeout,
                )
            )
        return self._inst.wait(n, "task", task.name, ref)

    def sleep(self, seconds: float) -> asyncio.Future[Any]:
        """A durable timer: the deadline is stored, and survives restarts."""
        if seconds < 0:
            raise ValueError("sleep seconds must be >= 0")
        n, rec = self._inst.take_step("sleep", "sleep")
        ref = rec.ref if rec else new_id()
        if rec is None:
            self._inst.command(Command("sleep", n, "sleep", ref=ref, seconds=seconds))
        return self._inst.wait(n, "sleep", "sleep", ref)

    def promise(self, name: str, *, timeout: float | None = None) -> asyncio.Future[Any]:
        """Wait for the named promise to be resolved (its value) or rejected
        (``PromiseRejected``) from outside; ``TimeoutError`` after ``timeout`` seconds."""
        n, rec = self._inst.take_step("promise", name)
        if rec is None:
            self._inst.command(Command("promise", n, name, seconds=timeout))
        return self._inst.wait(n, "promise", name, None)

    @overload
    def child(self, fn: Callable[..., Awaitable[T]], arg: Any = None) -> asyncio.Future[T]: ...
    @overload
    def child(self, fn: str, arg: Any = None) -> asyncio.Future[Any]: ...
    def child(self, fn: str | Callable[..., Any], arg: Any = None) -> asyncio.Future[Any]:
        """Start a child workflow (its own log) and await its result; raises
        ``ChildWorkflowFailed`` when it fails or is cancelled."""
        wf = self._app.get_workflow(fn)
        n, rec = self._inst.take_step("child", wf.name)
        ref = rec.ref if rec else new_id()
        if rec is None:
            orjson.dumps(arg)
            self._inst.command(Command("child", n, wf.name, arg, ref))
        return self._inst.wait(n, "child", wf.name, ref)

    def operation(self, name: str, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run a side effect once and record its result; replays return the record.
        ``fn`` may be sync or async; it runs outside the workflow's deterministic loop."""
        n, rec = self._inst.take_step("operation", name)
        if rec is None:
            self._inst.operations.append((n, name, fn))
        return self._inst.wait(n, "operation", name, None)

    def receive(self, *, timeout: float | None = None) -> asyncio.Future[Any]:
        """The next message posted to this execution, exactly once and in order;
        ``TimeoutError`` after ``timeout`` seconds."""
        n, rec = self._inst.take_step("receive", "message")
        if rec is None:
            self._inst.command(Command("receive", n, "message", seconds=timeout))
        return self._inst.wait(n, "receive", "message", None)

    def set_state(self, key: str, value: Any) -> None:
        """Set a key of the workflow's state (``STATE_SET``)."""
        n, rec = self._inst.take_step("state", key)
        if rec is None:
            orjson.dumps(value)
            self._inst.command(Command("state", n, key, value))
        self._inst.state[key] = value

    def clear_state(self, key: str) -> None:
        """Remove a key of the workflow's state (``STATE_CLEARED``)."""
        n, rec = self._inst.take_step("clear", key)
        if rec is None:
            self._inst.command(Command("clear", n, key))
        self._inst.state.pop(key, None)

    def get_state(self, key: str, default: Any = None) -> Any:
        """Read back a state key this workflow set."""
        return self._inst.state.get(key, default)

    def progress(self, progress: float, details: str | None = None) -> None:
        """Report progress in [0, 1] (clamped)."""
        self._inst.emit(EventType.PROGRESS, {"progress": _clamp(progress), "details": details})

    def token(self, text: str) -> None:
        """Stream a chunk of text."""
        self._inst.emit(EventType.TOKEN, str(text))

    def data(self, value: Any) -> None:
        """Stream a JSON value."""
        self._inst.emit(EventType.DATA, value)

    def error(self, message: str, code: str | None = None) -> None:
        """Report an error without failing the workflow."""
        self._inst.emit(EventType.ERROR, {"message": str(message), "code": code})


class TaskContext:
    """Handed to task code: identity of the attempt and cheap, buffered emit methods."""

    def __init__(
        self,
        *,
        emit: Callable[[NewEvent], None],
        execution_id: str,
        workflow_execution_id: str | None,
        task_id: str,
        attempt: int,
        kind: str,
        inbox: Inbox | None = None,
    ) -> None:
        self._emit_event = emit
        self.execution_id = execution_id
        """The log this task's events go to (its workflow's, or its own)."""
        self.workflow_execution_id = workflow_execution_id
        self.task_id = task_id
        self.attempt = attempt
        """1-based attempt number."""
        self.kind = kind
        self.inbox = inbox
        """Messages posted to the execution, for a standalone task that takes them (Claude
        Code tasks); None otherwise."""

    def _append(self, type: str, data: Any) -> None:
        self._emit_event(NewEvent(self.execution_id, type, data, self.task_id, self.attempt))

    def progress(self, progress: float, details: str | None = None) -> None:
        """Report progress in [0, 1] (clamped)."""
        self._append(EventType.PROGRESS, {"progress": _clamp(progress), "details": details})

    def token(self, text: str) -> None:
        """Stream a chunk of text (an LLM token)."""
        self._append(EventType.TOKEN, str(text))

    def data(self, value: Any) -> None:
        """Stream a JSON value."""
        orjson.dumps(value)
        self._append(EventType.DATA, value)

    def error(self, message: str, code: str | None = None) -> None:
        """Report an error without failing the task."""
        self._append(EventType.ERROR, {"message": str(message), "code": code})

    def emit(self, type: str, data: Any) -> None:
        """Record an event of another type emitted by code (agents record ``tool_call``,
        ``usage``, …, Claude Code tasks ``claude`` and ``log``); the engine's lifecycle
        types are refused."""
        if type in LIFECYCLE:
            raise ValueError(f"{type} is recorded by the engine, not emitted by tasks")
        orjson.dumps(data)
        self._append(type, data)


AgentContext = TaskContext
"""What an agent's prompt function receives: the ``TaskContext`` of its attempt."""
