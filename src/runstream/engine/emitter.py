"""Buffering of what task code emits: appends in batches, not one per token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from runstream.model import NewEvent


class Emitter:
    """Collects events emitted by task code and appends them in batches: at the end of the
    loop turn, and at most one append every ``interval`` seconds, so a burst of tokens
    becomes a few appends, not one commit each — also when every token arrives in a loop
    turn of its own, as an LLM's do. The first event after a pause is appended at once."""

    def __init__(
        self, append: Callable[[list[NewEvent]], Awaitable[None]], *, interval: float = 0.002
    ) -> None:
        """``append`` must take the events at call time (``Store.append_events``)."""
        self._append = append
        self._interval = interval
        self._buffer: list[NewEvent] = []
        self._scheduled = False
        self._last = -interval

    def emit(self, event: NewEvent) -> None:
        self._buffer.append(event)
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_running_loop()
            wait = self._last + self._interval - loop.time()
            if wait > 0:
                loop.call_later(wait, self.flush)
            else:
                loop.call_soon(self.flush)

    def flush(self) -> None:
        """Queue everything buffered for the store, in emission order."""
        self._scheduled = False
        if self._buffer:
            self._last = asyncio.get_running_loop().time()
            batch, self._buffer = self._buffer, []
            fut = asyncio.ensure_future(self._append(batch))
            fut.add_done_callback(_retrieve)


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        logging.getLogger("runstream").error("could not append events", exc_info=fut.exception())
