"""The SSE response: first bytes at once, heartbeats, timeouts, and prompt clean-up.

One open stream runs four tasks and stops at the first one to finish:

- the *writer* takes frames from the feed and sends them, each send bounded by
  ``send_timeout_seconds``; it stops after the last frame, on the idle or the
  maximum connection time, when its credential expires, or when a client stops
  reading (send timeout);
- the *disconnect watcher* returns when the client goes away;
- the *shutdown watcher* returns when the server asks every stream to finish;
- the *revocation watcher* returns when the API key that opened it is revoked.

Each stream holds a ``Slot`` of the ``StreamRegistry`` (``registry.py``) from before its
response starts until it ends, however it ends.

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
import math
import time
from collections.abc import AsyncIterator
from typing import Final

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from runstream.config import Settings
from runstream.observability.streamlog import StreamStats
from runstream.streaming.registry import Slot as Slot
from runstream.streaming.registry import StreamRegistry as StreamRegistry
from runstream.streaming.wire.sse import frame

logger = logging.getLogger(__name__)

Item = tuple[str, bytes | None]
"""An SSE id and the frame to send, or ``None`` when the event is filtered out.

An empty id marks a frame that is not in the log (it has no ``id:`` line and leaves
the resume point alone)."""

_BATCH_BYTES: Final = 64 * 1024
_QUEUE_ITEMS: Final = 256


class _Signal(enum.Enum):
    END = enum.auto()
    """The source has ended."""
    BEAT = enum.auto()
    """A heartbeat is due (put by the watchdog, only when the queue has room)."""


class Feed:
    """Items of one event source, pulled ahead into a bounded queue by a task of its own."""

    def __init__(self, source: AsyncIterator[Item]) -> None:
        self._source = source
        self._queue: asyncio.Queue[Item | _Signal] = asyncio.Queue(_QUEUE_ITEMS)
        self._head: Item | _Signal | None = None
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
                    if item is _Signal.BEAT:
                        continue
                    if item is _Signal.END or item[1] is not None:
                        self._head = item
                        return item is not _Signal.END
        except TimeoutError:
            return True

    async def get(self) -> Item | _Signal:
        """The next item; ``END`` after the last one."""
        self.start()
        if self._head is not None:
            head, self._head = self._head, None
            return head
        return await self._queue.get()

    def get_nowait(self) -> Item | _Signal | None:
        """The next item if one is ready."""
        if self._head is not None:
            head, self._head = self._head, None
            return head
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def offer(self, item: Item) -> bool:
        """Queue an item that does not come from the source (a frame that is not in the
        log) if there is room; False when it was dropped."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def nudge(self) -> None:
        """Wake a reader waiting in ``get`` with ``BEAT``, unless items are waiting anyway."""
        if self._queue.empty():
            self._queue.put_nowait(_Signal.BEAT)

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
        await self._queue.put(_Signal.END)


class Ending(enum.Enum):
    """Why a stream ended; the value is the comment sent with the last ``retry:``."""

    COMPLETE = "complete"
    IDLE = "idle timeout"
    MAX_AGE = "maximum connection time"
    SHUTDOWN = "server shutting down"
    DISCONNECTED = "client disconnected"
    SLOW = "client not reading"
    REVOKED = "access revoked"
    EXPIRED = "access expired"


class EventStreamResponse(Response):
    """``text/event-stream`` fed by a ``Feed``, with the connection rules of SPEC §7.1.

    The heartbeat, idle, maximum-age and send deadlines share one timer per stream,
    re-armed lazily when it fires: a write only stores the time, so a busy stream
    pays for no timer per frame.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        feed: Feed,
        settings: Settings,
        slot: Slot,
        stats: StreamStats | None = None,
        *,
        heartbeat: str = "keep-alive",
    ) -> None:
        """``heartbeat`` is the comment sent on a quiet stream (the v0 API says ``ping``)."""
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
        self._slot = slot
        self._heartbeat_comment = heartbeat
        self._pending_id: str | None = None
        self._stats = stats
        self._frames = 0
        """Event frames collected since the last send."""
        self._last_id: str | None = None
        self.ending: Ending | None = None
        """Set once the stream has ended."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._stats is not None:
            self._stats.opened()
        try:
            self.ending = await self._run(receive, send)
        finally:
            try:
                await self._feed.aclose()
            finally:
                self._slot.release()
                if self._stats is not None:
                    self._stats.closed((self.ending or Ending.DISCONNECTED).value)

    async def _run(self, receive: Receive, send: Send) -> Ending:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # The retry hint goes out at once so clients and proxies see the stream open.
        if not await self._deliver(send, frame(retry=self._settings.retry_ms)):
            return Ending.SLOW
        watchdog = _Watchdog(self._settings, self._feed, self._slot.expires_at)
        writer = asyncio.create_task(self._write(send, watchdog), name="runstream-sse-writer")
        gone = asyncio.create_task(_disconnected(receive), name="runstream-sse-disconnect")
        registry = self._slot.registry
        closing = asyncio.create_task(registry.wait_closing(), name="runstream-sse-close")
        revoked = asyncio.create_task(self._slot.wait_revoked(), name="runstream-sse-revoked")
        tasks = (writer, gone, closing, revoked)
        watchdog.watch(writer)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watchdog.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if watchdog.ending is not None:
            ending = watchdog.ending
        elif writer in done:
            ending = writer.result()
        elif gone in done:
            ending = Ending.DISCONNECTED
        else:
            ending = Ending.SHUTDOWN if closing in done else Ending.REVOKED
        if ending is Ending.SLOW:
            logger.warning("disconnecting an SSE client that stopped reading")
        if ending not in (Ending.DISCONNECTED, Ending.SLOW):
            await self._deliver(send, self._tail(ending), more_body=False)
        return ending

    async def _write(self, send: Send, watchdog: _Watchdog) -> Ending:
        clock = asyncio.get_running_loop().time
        while True:
            item = await self._feed.get()
            if item is _Signal.BEAT:
                chunk, ended = self._heartbeat(), False
            else:
                watchdog.last_activity = clock()
                chunk, ended = self._collect(item)
            if chunk:
                watchdog.sending_since = clock()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                watchdog.last_write, watchdog.sending_since = clock(), None
                if self._stats is not None:
                    self._stats.sent(self._frames, len(chunk), self._last_id)
                self._frames = 0
            if ended:
                return Ending.COMPLETE

    def _collect(self, item: Item | _Signal) -> tuple[bytes, bool]:
        """Frames ready to go in one write, and whether the feed has ended."""
        batch = bytearray()
        while True:
            if item is _Signal.END:
                return bytes(batch), True
            if item is not _Signal.BEAT:
                id, data = item
                if data is None:
                    self._pending_id = id
                else:
                    batch += data
                    self._frames += 1
                    if id:
                        self._pending_id = None
                        self._last_id = id
            ready = self._feed.get_nowait() if len(batch) < _BATCH_BYTES else None
            if ready is None:
                return bytes(batch), False
            item = ready

    def _heartbeat(self) -> bytes:
        block = frame(comment=self._heartbeat_comment, id=self._pending_id)
        self._pending_id = None
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


class _Watchdog:
    """The deadlines of one stream on a single timer that re-arms itself when it fires.

    Writers only record times (``last_activity``, ``last_write``, ``sending_since``);
    the timer turns them into a heartbeat (``Feed.nudge``) or an ending (cancelling
    the writer). It fires at least every ``send_timeout_seconds``, so a send that
    hangs is noticed on time.
    """

    def __init__(self, settings: Settings, feed: Feed, expires_at: float | None = None) -> None:
        self._settings = settings
        self._feed = feed
        self._loop = asyncio.get_running_loop()
        now = self._loop.time()
        self._max_at = now + settings.max_connection_seconds
        self._expires_at = math.inf
        if expires_at is not None:
            # Wall clock to loop clock: a token's expiry is an epoch time.
            self._expires_at = now + (expires_at - time.time())
        self.last_activity = now
        """When the last event arrived (heartbeats do not count)."""
        self.last_write = now
        """When the last bytes were handed to the server."""
        self.sending_since: float | None = None
        """When the send in progress began, if one is."""
        self.ending: Ending | None = None
        """Why the watchdog stopped the writer, if it did."""
        self._writer: asyncio.Task[Ending] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, writer: asyncio.Task[Ending]) -> None:
        """Start watching; ``writer`` is cancelled when a deadline passes."""
        self._writer = writer
        self._arm(self._loop.time())

    def stop(self) -> None:
        """Cancel the timer."""
        if self._timer is not None:
            self._timer.cancel()

    def _arm(self, now: float) -> None:
        settings = self._settings
        self._timer = self._loop.call_at(
            min(
                self._max_at,
                self._expires_at,
                self.last_activity + settings.idle_timeout_seconds,
                max(self.last_write + settings.heartbeat_seconds, now),
                (self.sending_since or now) + settings.send_timeout_seconds,
            ),
            self._fire,
        )

    def _fire(self) -> None:
        settings = self._settings
        now = self._loop.time()
        if self.sending_since is not None:
            if now - self.sending_since >= settings.send_timeout_seconds:
                return self._end(Ending.SLOW)
        elif now - self.last_write >= settings.heartbeat_seconds:
            self._feed.nudge()
            # Counted as written, so the next heartbeat is due one interval from now.
            self.last_write = now
        if now >= self._expires_at:
            return self._end(Ending.EXPIRED)
        if now >= self._max_at:
            return self._end(Ending.MAX_AGE)
        if now - self.last_activity >= settings.idle_timeout_seconds:
            return self._end(Ending.IDLE)
        self._arm(now)

    def _end(self, ending: Ending) -> None:
        self.ending = ending
        assert self._writer is not None
        self._writer.cancel()
