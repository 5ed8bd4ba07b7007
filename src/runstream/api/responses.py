"""The SSE response: first bytes at once, heartbeats, timeouts, and prompt clean-up.

One open stream runs three tasks and stops at the first one to finish:

- the *writer* takes frames from the feed and sends them, each send bounded by
  ``send_timeout_seconds``; it stops after the last frame, on the idle or the
  maximum connection time, or when a client stops reading (send timeout);
- the *disconnect watcher* returns when the client goes away;
- the *shutdown watcher* returns when the server asks every stream to finish.

A *feed* pulls ``(id, frame)`` items from the event source in a task of its own
into a small queue, so a timeout never cancels the source mid-read. ``frame`` is
``None`` for an event the ``types=`` filter drops: its id is still sent, alone,
with the next heartbeat or at the end, so a client resumes past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from typing import Final

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from runstream.config import Settings
from runstream.streaming.wire.sse import frame

logger = logging.getLogger(__name__)

Item = tuple[str, bytes | None]
"""An SSE id and the frame to send, or ``None`` when the event is filtered out."""

_BATCH_BYTES: Final = 64 * 1024
_QUEUE_ITEMS: Final = 256
HEARTBEAT: Final = b": keep-alive\n\n"


class StreamRegistry:
    """The open streams of one app: the in-flight gauge and the signal to finish."""

    def __init__(self) -> None:
        self.in_flight = 0
        """Streams currently open."""
        self._closing = asyncio.Event()

    @property
    def closing(self) -> bool:
        """True once ``close_all`` was called."""
        return self._closing.is_set()

    def close_all(self) -> None:
        """Ask every open stream (and any opened later) to send its last frame and end."""
        self._closing.set()

    async def wait_closing(self) -> None:
        """Return when ``close_all`` is called."""
        await self._closing.wait()


class _End(enum.Enum):
    END = enum.auto()


class Feed:
    """Items of one event source, pulled ahead into a bounded queue by a task of its own."""

    def __init__(self, source: AsyncIterator[Item]) -> None:
        self._source = source
        self._queue: asyncio.Queue[Item | _End] = asyncio.Queue(_QUEUE_ITEMS)
        self._head: Item | _End | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: Exception | None = None
        """What ended the source early, if anything did."""

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
                    item = await self._queue.get()
                    if item is _End.END or item[1] is not None:
                        self._head = item
                        return item is not _End.END
        except TimeoutError:
            return True

    async def get(self) -> Item | _End:
        """The next item; ``END`` after the last one."""
        self.start()
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return await self._queue.get()

    def get_nowait(self) -> Item | _End | None:
        """The next item if one is ready."""
        if self._head is not None:
            head, self._head = self._head, None
            return head
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def aclose(self) -> None:
        """Stop pulling and close the source."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()

    async def _pull(self) -> None:
        try:
            async for item in self._source:
                await self._queue.put(item)
        except Exception as exc:
            # The client reconnects and resumes; the end of this stream is all it sees.
            logger.warning("event stream source failed: %r", exc)
            self.error = exc
        await self._queue.put(_End.END)


class Ending(enum.Enum):
    """Why a stream ended; the value is the comment sent with the last ``retry:``."""

    COMPLETE = "complete"
    IDLE = "idle timeout"
    MAX_AGE = "maximum connection time"
    SHUTDOWN = "server shutting down"
    DISCONNECTED = "client disconnected"
    SLOW = "client not reading"


class EventStreamResponse(Response):
    """``text/event-stream`` fed by a ``Feed``, with the connection rules of SPEC §7.1."""

    media_type = "text/event-stream"

    def __init__(self, feed: Feed, settings: Settings, registry: StreamRegistry) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(
            {
                "content-type": self.media_type,
                "cache-control": "no-cache",
                "connection": "keep-alive",
                "x-accel-buffering": "no",
            }
        )
        self._feed = feed
        self._settings = settings
        self._registry = registry
        self._pending_id: str | None = None
        self.ending: Ending | None = None
        """Set once the stream has ended."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._registry.in_flight += 1
        try:
            self.ending = await self._run(receive, send)
        finally:
            await self._feed.aclose()
            self._registry.in_flight -= 1

    async def _run(self, receive: Receive, send: Send) -> Ending:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # The retry hint goes out at once so clients and proxies see the stream open.
        if not await self._deliver(send, frame(retry=self._settings.retry_ms)):
            return Ending.SLOW
        writer = asyncio.create_task(self._write(send), name="runstream-sse-writer")
        gone = asyncio.create_task(_disconnected(receive), name="runstream-sse-disconnect")
        closing = asyncio.create_task(self._registry.wait_closing(), name="runstream-sse-close")
        tasks = (writer, gone, closing)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if writer in done:
            ending = writer.result()
        else:
            ending = Ending.DISCONNECTED if gone in done else Ending.SHUTDOWN
        if ending is Ending.SLOW:
            logger.warning("disconnecting an SSE client that stopped reading")
        if ending not in (Ending.DISCONNECTED, Ending.SLOW):
            await self._deliver(send, self._tail(ending), more_body=False)
        return ending

    async def _write(self, send: Send) -> Ending:
        settings = self._settings
        loop = asyncio.get_running_loop()
        start = loop.time()
        max_at = start + settings.max_connection_seconds
        idle_at = start + settings.idle_timeout_seconds
        beat_at = start + settings.heartbeat_seconds
        while loop.time() < max_at:
            item = self._feed.get_nowait()
            if item is None:
                try:
                    async with asyncio.timeout_at(min(max_at, idle_at, beat_at)):
                        item = await self._feed.get()
                except TimeoutError:
                    if loop.time() >= idle_at:
                        return Ending.IDLE
                    if loop.time() < max_at:
                        if not await self._deliver(send, self._heartbeat()):
                            return Ending.SLOW
                        beat_at = loop.time() + settings.heartbeat_seconds
                    continue
            idle_at = loop.time() + settings.idle_timeout_seconds
            chunk, ended = self._collect(item)
            if chunk:
                if not await self._deliver(send, chunk):
                    return Ending.SLOW
                beat_at = loop.time() + settings.heartbeat_seconds
            if ended:
                return Ending.COMPLETE
        return Ending.MAX_AGE

    def _collect(self, item: Item | _End) -> tuple[bytes, bool]:
        """Frames ready to go in one write, and whether the feed has ended."""
        batch = bytearray()
        while True:
            if item is _End.END:
                return bytes(batch), True
            id, data = item
            if data is None:
                self._pending_id = id
            else:
                batch += data
                self._pending_id = None
            ready = self._feed.get_nowait() if len(batch) < _BATCH_BYTES else None
            if ready is None:
                return bytes(batch), False
            item = ready

    def _heartbeat(self) -> bytes:
        if self._pending_id is None:
            return HEARTBEAT
        block, self._pending_id = frame(comment="keep-alive", id=self._pending_id), None
        return block

    def _tail(self, ending: Ending) -> bytes:
        if ending is Ending.COMPLETE:
            return b"" if self._pending_id is None else frame(id=self._pending_id)
        return frame(comment=ending.value, retry=self._settings.retry_ms, id=self._pending_id)

    async def _deliver(self, send: Send, chunk: bytes, *, more_body: bool = True) -> bool:
        """Send a chunk; False when the client did not take it within the send timeout."""
        message: Message = {"type": "http.response.body", "body": chunk, "more_body": more_body}
        try:
            async with asyncio.timeout(self._settings.send_timeout_seconds):
                await send(message)
        except TimeoutError:
            return False
        return True


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
