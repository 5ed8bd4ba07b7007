"""A private event loop for one workflow instance.

Workflow code runs on it only while the runner drives it: ``run_until_quiet()`` makes it
the running loop, runs every ready callback until none is left (all the code's coroutines
wait on step futures), and gives the thread back. Nothing here touches the clock or I/O,
so the same history always drives the code along the same path.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from asyncio import events
from collections.abc import Callable, Coroutine, Generator
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple, Unpack

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_NOT_ALLOWED = (
    "workflow code cannot use {what}: it is not deterministic; use ctx.sleep(), "
    "ctx.promise(timeout=...), ctx.receive(timeout=...) or a task instead"
)


class DeterministicLoop(asyncio.AbstractEventLoop):
    """The smallest loop that asyncio's futures, tasks and ``gather`` need."""

    def __init__(self) -> None:
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self.errors: list[dict[str, Any]] = []
        """Exception-handler contexts (e.g. a failed task nobody awaited)."""

    def run_until_quiet(self) -> None:
        """Run ready callbacks until every coroutine of the workflow is waiting."""
        previous = events._get_running_loop()
        events._set_running_loop(self)
        try:
            while self._ready:
                handle = self._ready.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            events._set_running_loop(previous)

    # -- what futures and tasks call -----------------------------------------------------
    def call_soon(
        self,
        callback: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, T] | Generator[Any, None, T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[T]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return events._get_running_loop() is self

    def is_closed(self) -> bool:
        return False

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self.errors.append(context)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.errors.append(context)

    # -- what workflow code must not do --------------------------------------------------
    def time(self) -> float:
        raise RuntimeError(_NOT_ALLOWED.format(what="the loop clock (asyncio.sleep/wait_for)"))

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        raise RuntimeError(_NOT_ALLOWED.format(what="asyncio.sleep/wait_for/timeouts"))

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        raise RuntimeError(_NOT_ALLOWED.format(what="asyncio timers"))

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[Ts]], T], *args: *Ts
    ) -> asyncio.Future[T]:
        raise RuntimeError(_NOT_ALLOWED.format(what="threads"))
