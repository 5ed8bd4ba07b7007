"""API keys checked against the store, through a cache that lives one second per key.

Each process reads a key's row at most once per ``ttl``, so a key created or revoked by
any process (``runstream keys …``) takes effect on every server within ``ttl`` plus the
time of one read. Unknown ids are cached as well, so made-up keys cost one read per id
per ``ttl``; the cache holds at most ``size`` ids. Concurrent requests for an id that is
not cached share one read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from runstream.errors import RunstreamError
from runstream.model import ApiKey
from runstream.model.keys import key_id_of, key_matches
from runstream.store import Store

log = logging.getLogger(__name__)

_Found = tuple[ApiKey, bytes] | None


@dataclass(slots=True)
class _Entry:
    found: _Found
    fetched: float


class KeyCache:
    """Verifies API keys; records their last use at most once per ``touch_every``."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 1.0,
        touch_every: float = 60.0,
        size: int = 10_000,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._touch_every = touch_every
        self._size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._pending: dict[str, asyncio.Future[_Found]] = {}
        self._touched: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def ttl(self) -> float:
        """Longest time a cached answer is used."""
        return self._ttl

    async def verify(self, key: str) -> ApiKey | None:
        """The active key ``key`` is; None when it is malformed, unknown or revoked.

        Raises:
            StoreError: The store could not be read.
        """
        key_id = key_id_of(key)
        if key_id is None:
            return None
        found = await self._lookup(key_id)
        if found is None:
            return None
        record, stored = found
        if not key_matches(key, stored) or not record.active:
            return None
        self._touch(key_id)
        return record

    async def active(self, key_id: str) -> bool:
        """Whether the key with this public id exists and is not revoked (cached answer)."""
        found = await self._lookup(key_id)
        return found is not None and found[0].active

    async def close(self) -> None:
        """Stop recording uses still in flight."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _lookup(self, key_id: str) -> _Found:
        entry = self._entries.get(key_id)
        if entry is not None and time.monotonic() - entry.fetched < self._ttl:
            return entry.found
        pending = self._pending.get(key_id)
        if pending is None:
            pending = self._pending[key_id] = asyncio.ensure_future(self._fetch(key_id))
        # Shielded: one caller giving up must not cancel the read the others wait for.
        return await asyncio.shield(pending)

    async def _fetch(self, key_id: str) -> _Found:
        try:
            found = await self._store.find_key(key_id)
        finally:
            del self._pending[key_id]
        self._entries[key_id] = _Entry(found, time.monotonic())
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return found

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, -math.inf) < self._touch_every:
            return
        self._touched[key_id] = now
        task = asyncio.create_task(self._record_use(key_id), name="runstream-key-use")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_use(self, key_id: str) -> None:
        try:
            await self._store.touch_key(key_id)
        except RunstreamError as exc:
            # Only the "last used" column is stale; the request itself was served.
            log.warning("could not record the use of API key %s: %s", key_id, exc)
