"""How one process learns of commits: its own at once, other processes' through a bus.

Commits of this process reach the hub as events and the runners as wake-ups straight from
the store (no bus involved: the embedded path stays as fast as it is). On a store shared
with other processes, their commits arrive as hints on the bus — per log the newest seq,
which the hub turns into one read from the store for all its subscribers — and as
wake-ups for the claim loops. Hints can be lost (a reconnect, Redis down), so a poller
asks the store every ``poll_interval`` where the watched logs stand: a lost hint delays an
event by at most that interval and never loses it. Work claims and timers poll on their
own at the same interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from runstream.bus import Bus, open_bus
from runstream.errors import StoreError
from runstream.model import Event
from runstream.observability import metrics
from runstream.store.base import Store, Wake
from runstream.store.hints import Hints
from runstream.streaming.hub import Hub

log = logging.getLogger("runstream.wakeups")
_ALL: frozenset[Wake] = frozenset({"tasks", "workflows", "timers"})


class Wakeups:
    """The bus and the fallback poller of one engine."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        wake: Callable[[frozenset[Wake]], None],
        *,
        bus_url: str | None,
        poll_interval: float,
    ) -> None:
        self._store = store
        self._hub = hub
        self._wake = wake
        self._bus_url = bus_url
        self._poll = poll_interval
        self._bus: Bus | None = None
        self._poller: asyncio.Task[None] | None = None
        self._poll_now = asyncio.Event()

    async def start(self) -> None:
        """Open the bus (if the store is shared) and start polling."""
        self._bus = open_bus(self._bus_url, self._store)
        if self._bus is not None:
            await self._bus.start(self)
        if self._store.shared:
            self._poller = asyncio.create_task(self._poll_loop(), name="runstream-poll")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._bus is not None:
            await self._bus.close()
            self._bus = None

    # -- this process's commits ----------------------------------------------------------
    def committed(self, events: Sequence[Event]) -> None:
        if self._bus is not None and self._bus.publishes:
            newest: dict[str, int] = {}
            for event in events:
                newest[event.execution_id] = event.seq
            self._bus.publish(newest, frozenset(), events)

    def woken(self, what: frozenset[Wake]) -> None:
        if self._bus is not None and self._bus.publishes:
            self._bus.publish({}, what)

    # -- HintSink: other processes' commits ----------------------------------------------
    def on_hints(self, hints: Hints) -> None:
        if hints.origin == self._store.origin:
            return  # our own commit, delivered already
        if self._bus is not None:
            metrics.BUS_WAKEUPS.labels(type(self._bus).__module__.rsplit(".", 1)[-1]).inc()
        if hints.events:
            self._hub.publish(hints.events)  # the events themselves: no read needed
        for execution_id, seq in hints.positions.items():
            self._hub.notify(execution_id, seq)
        if hints.wakes:
            self._wake(hints.wakes)

    def on_gap(self) -> None:
        self._poll_now.set()
        self._wake(_ALL)

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):  # wait_for would make a task each time
                    await self._poll_now.wait()
            asked = self._poll_now.is_set()
            self._poll_now.clear()
            watched = self._hub.watched()
            if not watched:
                continue
            if not asked:
                metrics.FALLBACK_POLLS.labels("streams").inc()
            try:
                positions = await self._store.log_positions(watched)
            except StoreError as exc:
                log.warning("polling the store failed: %s", exc)
                continue
            for execution_id, seq in positions.items():
                self._hub.notify(execution_id, seq)
