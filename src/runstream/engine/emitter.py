"""Buffering of what task code emits: one store append per loop turn, not one per token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from runstream.model import NewEvent


class Emitter:
    """Collects events emitted by task code; one flush per loop turn, so a burst of tokens
    becomes a few appends, not one commit each."""

    def __init__(self, append: Callable[[list[NewEvent]], Awaitable[None]]) -> None:
        """``append`` must take the events at call time (``Store.append_events``)."""
        self._append = append
        self._buffer: list[NewEvent] = []
        self._scheduled = False

    def emit(self, event: NewEvent) -> None:
        self._buffer.append(event)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Queue everything buffered for the store, in emission order."""
        self._scheduled = False
        if self._buffer:
            batch, self._buffer = self._buffer, []
            fut = asyncio.ensure_future(self._append(batch))
            fut.add_done_callback(_retrieve)


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        logging.getLogger("runstream").error("could not append events", exc_info=fut.exception())
