"""Seed 002's Redis token channel, ``stream:tokens:<exec_id>`` (SPEC §7.2), both ways.

- **Out**: every text chunk this process commits for a standalone task or agent
  execution (a ``token`` event in its own log) is also ``PUBLISH``ed on its channel as
  ``{"type":"llm_chunk","content","ts","seq"}``, so a consumer of seed 002's channel
  keeps working. ``seq`` is the chunk's place in the log.
- **In**: one pattern subscription per process hears every channel. A chunk *without*
  ``seq`` comes from another producer; it goes to the listeners of that execution (the
  open v0 text streams), which send it without an ``id``. A chunk *with* ``seq`` is in
  the log already (ours, or another runstream process's) and is never forwarded again.

Redis is a convenience here, never a dependency: publishing only queues (a full queue
drops chunks, which the log holds anyway), and while Redis is down both loops retry with
backoff and streams carry on from the log. Redis errors never leave this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runstream.model import Event, EventType
from runstream.streaming.wire.v0 import rfc3339

logger = logging.getLogger(__name__)

PREFIX: Final = "stream:tokens:"
"""Channel name prefix; the execution id follows."""

Listener = Callable[[str], None]
"""Called with the text of a chunk another producer published."""

_BATCH: Final = 256
_BACKOFF: Final = (0.05, 2.0)


def is_text_chunk(event: Event) -> bool:
    """True for a token of a standalone task or agent execution (its own log)."""
    return event.type == EventType.TOKEN and event.task_id == event.execution_id


class TokenChannel:
    """The token channel of one process: a publisher and one pattern subscriber.

    Use ``start()`` once the event loop runs and ``close()`` when done; hand
    ``on_events`` to ``Engine.observe``; open streams call ``listen``.
    """

    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        """Args:
        url: ``redis://host:port/db`` (``rediss://`` and ``unix://`` work too).
        queue_size: Chunks waiting to be published before new ones are dropped.
        """
        self.url = url
        self._client: aioredis.Redis = aioredis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=5
        )
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(queue_size)
        self._listeners: dict[str, set[Listener]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()
        """Set while the pattern subscription is live (tests wait for it)."""
        self.published = 0
        """Chunks published so far."""
        self.dropped = 0
        """Chunks not published: the queue was full or Redis failed."""

    async def start(self) -> None:
        """Start the publisher and the subscriber (Redis need not be up)."""
        self._tasks = [
            asyncio.create_task(self._publish(), name="runstream-redis-tokens-out"),
            asyncio.create_task(self._subscribe(), name="runstream-redis-tokens-in"),
        ]

    async def close(self) -> None:
        """Stop both loops and release the connections."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    # -- out -----------------------------------------------------------------------------
    def on_events(self, events: Sequence[Event]) -> None:
        """Queue the text chunks among committed events for publishing (never blocks)."""
        for event in events:
            if not is_text_chunk(event):
                continue
            text = event.data if isinstance(event.data, str) else orjson.dumps(event.data).decode()
            payload = {
                "type": "llm_chunk",
                "content": text,
                "ts": rfc3339(event.ts),
                "seq": event.seq,
            }
            try:
                self._outbox.put_nowait((PREFIX + event.execution_id, orjson.dumps(payload)))
            except asyncio.QueueFull:
                self.dropped += 1

    async def _publish(self) -> None:
        backoff = _BACKOFF[0]
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
                self.published += len(batch)
                if backoff > _BACKOFF[0]:
                    logger.info("redis token channel: publishing again")
                backoff = _BACKOFF[0]
            except (RedisError, OSError) as exc:
                # The chunks are in the log; a consumer of the channel misses them.
                self.dropped += len(batch)
                if backoff == _BACKOFF[0]:
                    logger.warning("redis token channel: publish failed (%r); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF[1])

    # -- in ------------------------------------------------------------------------------
    @property
    def listeners(self) -> int:
        """Open streams listening for outside chunks (a gauge for leak checks)."""
        return sum(len(found) for found in self._listeners.values())

    def listen(self, execution_id: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with chunks other producers publish for ``execution_id``.

        Returns:
            A function that stops listening.
        """
        self._listeners.setdefault(execution_id, set()).add(listener)

        def stop() -> None:
            found = self._listeners.get(execution_id)
            if found is not None:
                found.discard(listener)
                if not found:
                    del self._listeners[execution_id]

        return stop

    async def _subscribe(self) -> None:
        backoff = _BACKOFF[0]
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(PREFIX + "*")
                self.subscribed.set()
                backoff = _BACKOFF[0]
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
            except (RedisError, OSError) as exc:
                if self.subscribed.is_set():
                    logger.warning("redis token channel: subscription lost (%r)", exc)
                self.subscribed.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF[1])
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        channel = message["channel"]
        execution_id = (channel.decode() if isinstance(channel, bytes) else str(channel))[
            len(PREFIX) :
        ]
        listeners = self._listeners.get(execution_id)
        if not listeners:
            return
        try:
            chunk = orjson.loads(message["data"])
        except orjson.JSONDecodeError:
            logger.debug("redis token channel: ignoring a non-JSON message on %s", channel)
            return
        if not isinstance(chunk, dict) or "seq" in chunk:
            return  # in the log already: forwarding it would send it twice
        content = chunk.get("content")
        if chunk.get("type", "llm_chunk") != "llm_chunk" or not isinstance(content, str):
            return
        for listener in list(listeners):
            listener(content)
