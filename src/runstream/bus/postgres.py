"""PostgreSQL LISTEN: one connection per process hears every commit's ``NOTIFY``.

The store sends the notifications itself, right after each commit, so this bus only
listens. A dropped connection is reopened; the gap is reported so the process looks
at everything it watches (a notification sent meanwhile is lost for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence

import psycopg

from runstream.bus.base import Bus, HintSink
from runstream.model import Event
from runstream.store.base import Wake
from runstream.store.hints import CHANNEL, decode_hints

log = logging.getLogger("runstream.bus")
APPLICATION_NAME = "runstream-listen"
"""How the listening connection shows in ``pg_stat_activity``."""


class PostgresBus(Bus):
    """``LISTEN runstream`` on the store's database."""

    publishes = False

    def __init__(self, url: str, *, retry_seconds: float = 0.5) -> None:
        self._url = url
        self._retry = retry_seconds
        self._sink: HintSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self, sink: HintSink) -> None:
        self._sink = sink
        self._task = asyncio.create_task(self._listen(), name="runstream-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._listening.wait()

    def publish(
        self, positions: Mapping[str, int], wakes: frozenset[Wake], events: Sequence[Event] = ()
    ) -> None:
        return None  # the store's NOTIFY, sent with the commit, did it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        assert self._sink is not None
        reconnecting = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, application_name=APPLICATION_NAME
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if reconnecting:
                        log.info("listening for commits again")
                        self._sink.on_gap()
                    async for note in conn.notifies():
                        try:
                            hints = decode_hints(note.payload)
                        except ValueError:
                            continue
                        self._sink.on_hints(hints)
            except psycopg.Error as exc:
                log.warning("lost the LISTEN connection (%s); polling until it is back", exc)
            self._listening.clear()
            reconnecting = True
            await asyncio.sleep(self._retry)
