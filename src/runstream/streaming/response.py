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

Frames come from a ``Feed`` (``feed.py``), which holds at most ``BUFFER_BYTES`` of
them ahead of the socket. A client that does not take a frame within the send timeout
is dropped at once: its connection is aborted through the registry's ``drop`` hook
(set by ``runstream.api.server``), so nothing it left unread stays queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
from typing import Final

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from runstream.config import Settings
from runstream.observability.streamlog import StreamStats
from runstream.streaming.feed import Feed, Item, Signal
from runstream.streaming.registry import Slot as Slot
from runstream.streaming.registry import StreamRegistry as StreamRegistry
from runstream.streaming.wire.sse import frame

logger = logging.getLogger(__name__)

_BATCH_BYTES: Final = 64 * 1024


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
            if self.ending is Ending.SLOW:
                self._slot.registry.dropped += 1
                await self._drop(scope, receive)
        finally:
            try:
                await self._feed.aclose()
            finally:
                self._slot.release()
                if self._stats is not None:
                    self._stats.closed((self.ending or Ending.DISCONNECTED).value)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        """Abort the connection of a client that stopped reading, and wait until the server
        has noticed, so it neither keeps the unsent bytes nor reports an unfinished response."""
        drop = self._slot.registry.drop
        if drop is None or not drop(scope):
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await _disconnected(receive)

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
            if item is Signal.BEAT:
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

    def _collect(self, item: Item | Signal) -> tuple[bytes, bool]:
        """Frames ready to go in one write, and whether the feed has ended."""
        batch = bytearray()
        while True:
            if item is Signal.END:
                return bytes(batch), True
            if item is not Signal.BEAT:
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
