"""The feed of one SSE response: frames pulled ahead of the socket, bounded in bytes.

A *feed* pulls ``(id, frame)`` items from the event source in a task of its own into a
buffer, so a timeout never cancels the source mid-read. ``frame`` is ``None`` for an
event the ``types=`` filter drops: its id is still sent, alone, with the next heartbeat
or at the end, so a client resumes past it.

The buffer holds at most ``BUFFER_BYTES`` of frames (one item may go past it): the feed
stops pulling until the writer takes some, which holds nobody back, since the source is
a cursor over the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Final

logger = logging.getLogger(__name__)

Item = tuple[str, bytes | None]
"""An SSE id and the frame to send, or ``None`` when the event is filtered out.

An empty id marks a frame that is not in the log (it has no ``id:`` line and leaves
the resume point alone)."""

BUFFER_BYTES: Final = 256 * 1024
"""Frames one stream holds ahead of its socket before it stops pulling from the source."""


class Signal(enum.Enum):
    """What a feed yields besides items."""

    END = enum.auto()
    """The source has ended."""
    BEAT = enum.auto()
    """A heartbeat is due (put by the watchdog, only when nothing else waits)."""


class Feed:
    """Items of one event source, pulled ahead by a task of its own into a buffer of at
    most about ``budget`` bytes (one item may go past it)."""

    def __init__(self, source: AsyncIterator[Item], budget: int = BUFFER_BYTES) -> None:
        self._source = source
        self._budget = budget
        self._items: deque[Item | Signal] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._head: Item | Signal | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: Exception | None = None
        """What ended the source early, if anything did."""

    @property
    def buffered(self) -> int:
        """Bytes of frames waiting to be sent."""
        return self._bytes

    def start(self) -> None:
        """Begin pulling from the source (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._pull(), name="runstream-sse-feed")

    async def has_frames(self, within: float) -> bool:
        """Wait for the first frame to send; False when the source ends without one.

        Filtered-out items met on the way are dropped: nothing precedes the frame.
        Returns True when nothing arrived within ``within`` seconds (the stream is live).
        """
        self.start()
        try:
            async with asyncio.timeout(within):
                while True:
                    item = await self._next()
                    if item is Signal.BEAT:
                        continue
                    if item is Signal.END or item[1] is not None:
                        self._head = item
                        return item is not Signal.END
        except TimeoutError:
            return True

    async def get(self) -> Item | Signal:
        """The next item; ``END`` after the last one."""
        self.start()
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return await self._next()

    def get_nowait(self) -> Item | Signal | None:
        """The next item if one is ready."""
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return self._take()

    def offer(self, item: Item) -> bool:
        """Queue an item that does not come from the source (a frame that is not in the
        log) if the buffer has room; False when it was dropped."""
        if self._bytes + _size(item) > self._budget:
            return False
        self._append(item)
        return True

    def nudge(self) -> None:
        """Wake a reader waiting in ``get`` with ``BEAT``, unless items are waiting anyway."""
        if not self._items:
            self._append(Signal.BEAT)

    async def aclose(self) -> None:
        """Stop pulling, close the source and let go of what was buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()
        self._items.clear()
        self._bytes = 0
        self._head = None

    async def _next(self) -> Item | Signal:
        while (item := self._take()) is None:
            await self._ready.wait()
        return item

    def _take(self) -> Item | Signal | None:
        if not self._items:
            self._ready.clear()
            return None
        item = self._items.popleft()
        self._bytes -= _size(item)
        if self._bytes < self._budget:
            self._room.set()
        return item

    def _append(self, item: Item | Signal) -> None:
        self._items.append(item)
        self._bytes += _size(item)
        self._ready.set()

    async def _put(self, item: Item | Signal) -> None:
        while self._bytes >= self._budget:
            self._room.clear()
            await self._room.wait()
        self._append(item)

    async def _pull(self) -> None:
        try:
            async for item in self._source:
                await self._put(item)
        except Exception as exc:
            # The client reconnects and resumes; the end of this stream is all it sees.
            logger.warning("event stream source failed: %r", exc)
            self.error = exc
        await self._put(Signal.END)


def _size(item: Item | Signal) -> int:
    if isinstance(item, Signal):
        return 0
    id, data = item
    return len(id) + (len(data) if data is not None else 0)
