"""Redis pub/sub: commits announced on one channel, heard by every process.

Publishing happens after the commit, in the background: hints are merged (newest seq per
log) until the previous publish is done, so a burst of commits costs a few messages. Redis
being down never fails a request: publishes are dropped (the receivers' polling covers
them) and both directions reconnect by themselves.

URL: ``redis://host:port/db`` (``rediss://``, ``unix://``); ``?prefix=x`` prefixes the
channel name (``<prefix>runstream:hints``) so that several deployments share one Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runstream.bus.base import Bus, HintSink
from runstream.model import Event
from runstream.store.base import Wake
from runstream.store.hints import MAX_EVENTS, decode_hints, encode_hints

log = logging.getLogger("runstream.bus")
SCHEMES = ("redis", "rediss", "unix")


def split_prefix(url: str) -> tuple[str, str]:
    """The URL without ``prefix=`` and the prefix."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = "".join(v for k, v in query if k == "prefix")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisBus(Bus):
    """Hints on ``<prefix>runstream:hints``."""

    def __init__(self, url: str, origin: str, *, retry_seconds: float = 0.5) -> None:
        plain, prefix = split_prefix(url)
        self.channel = f"{prefix}runstream:hints"
        self._client: aioredis.Redis = aioredis.from_url(
            plain, socket_connect_timeout=1.0, socket_timeout=None, health_check_interval=10
        )
        self._origin = origin
        self._retry = retry_seconds
        self._sink: HintSink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tried = asyncio.Event()
        """Set once the first subscription attempt ended, whichever way."""
        self._positions: dict[str, int] = {}
        self._events: list[Event] | None = []
        self._wakes: set[Wake] = set()
        self._pending = asyncio.Event()
        self._warned = 0.0

    async def start(self, sink: HintSink) -> None:
        self._sink = sink
        self._tasks = [
            asyncio.create_task(self._subscribe(), name="runstream-redis-in"),
            asyncio.create_task(self._publish(), name="runstream-redis-out"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self._tried.wait()

    def publish(
        self, positions: Mapping[str, int], wakes: frozenset[Wake], events: Sequence[Event] = ()
    ) -> None:
        if self._events is not None:
            self._events.extend(events)
            if len(self._events) > MAX_EVENTS:
                self._events = None  # too many to carry this time: receivers read the log
        merged = self._positions
        for execution_id, seq in positions.items():
            if seq > merged.get(execution_id, 0):
                merged[execution_id] = seq
        self._wakes |= wakes
        self._pending.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    async def _publish(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            positions, self._positions = self._positions, {}
            events, self._events = self._events or [], []
            wakes, self._wakes = frozenset(self._wakes), set()
            try:
                async with asyncio.timeout(1.0):
                    for payload in encode_hints(self._origin, positions, wakes, events):
                        await self._client.publish(self.channel, payload)
            except (RedisError, OSError, TimeoutError) as exc:
                self._warn(f"publishing to Redis failed ({exc!r}); others will poll")
                await asyncio.sleep(self._retry)

    async def _subscribe(self) -> None:
        assert self._sink is not None
        reconnecting = False
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._tried.set()
                if reconnecting:
                    log.info("subscribed to Redis again")
                    self._sink.on_gap()
                async for message in pubsub.listen():
                    data = message.get("data")
                    if not isinstance(data, bytes):
                        continue
                    try:
                        hints = decode_hints(data.decode())
                    except ValueError:
                        continue
                    self._sink.on_hints(hints)
            except (RedisError, OSError) as exc:
                self._warn(f"Redis subscription lost ({exc!r}); polling until it is back")
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            self._tried.set()
            reconnecting = True
            await asyncio.sleep(self._retry)

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned > 10:  # an outage is one line per 10 s, not one per commit
            self._warned = now
            log.warning(message)
