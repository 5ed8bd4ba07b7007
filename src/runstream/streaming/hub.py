"""Live fan-out of committed events to subscribers, with replay from the store.

Each watched execution has one ``Topic``: a ring of its newest events, filled by the
store's after-commit notification. A subscriber holds only a cursor (the last seq it
yielded). It reads the ring while the ring covers its cursor, and the store otherwise (a
fresh subscriber replaying history, or a slow one the ring has left behind), so no
subscriber owns a buffer and none can hold back the producer or the others.

Events committed by another process (scale-out) reach the hub as a position, not as
events: ``Hub.notify(execution_id, seq)`` says that the log has events up to ``seq``. The
topic then reads what it misses from the store once, into its ring, for all its
subscribers; until then a subscriber asking for newer events is sent to the store.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence

from runstream.model import Event, EventType
from runstream.store.base import Store

PAGE = 500
"""Events read from the store at a time by a subscriber the ring does not cover..."""
PAGE_BYTES = 256 * 1024
"""...and at most this much of their data: a stalled subscriber holds one page."""
RETRYABLE_ENDS = frozenset({EventType.WORKFLOW_FAILED, EventType.TASK_FAILED})
"""Terminal events a manual retry can follow."""


class Topic:
    """The newest events of one execution's log, and the subscribers waiting for more."""

    __slots__ = ("_waiters", "execution_id", "fetching", "head", "ring", "subscribers")

    def __init__(self, execution_id: str, size: int) -> None:
        self.execution_id = execution_id
        self.ring: deque[Event] = deque(maxlen=size)
        self.subscribers = 0
        self.head = 0
        """Newest seq known to be committed (pushed here, or announced by another process)."""
        self.fetching: asyncio.Task[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def push(self, event: Event) -> None:
        if self.ring and event.seq != self.ring[-1].seq + 1:
            if event.seq <= self.ring[-1].seq:
                return  # already here (read from the store after an announcement)
            self.ring.clear()
        self.ring.append(event)
        if event.seq > self.head:
            self.head = event.seq
        self.wake()

    def wake(self) -> None:
        """Let every waiting subscriber look again."""
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def after(self, cursor: int) -> list[Event] | None:
        """Events with seq > cursor if the ring covers them, else None (ask the store)."""
        if not self.ring or self.ring[0].seq > cursor + 1:
            return None
        if self.ring[-1].seq <= cursor:
            # Announced by another process but not read yet: the store has it.
            return None if self.head > cursor else []
        # Live subscribers trail by a few events: walk from the newest end, not the whole ring.
        newer = []
        for event in reversed(self.ring):
            if event.seq <= cursor:
                break
            newer.append(event)
        newer.reverse()
        return newer

    async def wait(self, cursor: int) -> None:
        """Return once an event after ``cursor`` has been pushed."""
        if self.ring and self.ring[-1].seq > cursor:
            return
        # One future per waiting subscriber: waking it is one callback, and cancelling a
        # subscriber cancels only its own future (no shield and its extra callbacks).
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter


class Hub:
    """Topics by execution id; one per execution however many subscribers it has."""

    def __init__(self, store: Store, ring_size: int = 1024) -> None:
        self._store = store
        self._ring_size = ring_size
        self._topics: dict[str, Topic] = {}

    @property
    def subscriptions(self) -> int:
        """Open subscriptions (a gauge for leak checks)."""
        return sum(t.subscribers for t in self._topics.values())

    @property
    def topics(self) -> int:
        return len(self._topics)

    def publish(self, events: Sequence[Event]) -> None:
        """Events this process committed, in commit order."""
        topics = self._topics
        for event in events:
            topic = topics.get(event.execution_id)
            if topic is not None:
                topic.push(event)

    def watched(self) -> list[str]:
        """Ids of the executions someone is subscribed to."""
        return list(self._topics)

    def notify(self, execution_id: str, seq: int) -> None:
        """Another process committed events of this log up to ``seq``: read them into the
        ring once and wake the subscribers (nothing to do when no one watches it)."""
        topic = self._topics.get(execution_id)
        if topic is None or seq <= topic.head:
            return
        topic.head = seq
        if topic.fetching is None:
            topic.fetching = asyncio.create_task(self._fetch(topic), name=f"hub:{execution_id}")

    async def _fetch(self, topic: Topic) -> None:
        try:
            while topic.subscribers:
                top = topic.ring[-1].seq if topic.ring else 0
                if top >= topic.head:
                    return
                # Only the newest ring-full is worth holding; older readers use the store.
                after = max(top, topic.head - self._ring_size)
                events = await self._store.read_events(topic.execution_id, after, PAGE)
                if not events:
                    return
                for event in events:
                    topic.push(event)
        except Exception:
            # Subscribers read the store themselves (the ring says it lacks the newest).
            topic.wake()
        finally:
            topic.fetching = None

    async def subscribe(self, execution_id: str, after: int = 0) -> AsyncIterator[Event]:
        """Events of one log with seq > ``after``: history, then live; ends after the
        terminal event that is the last of the log (a retried failure is not)."""
        topic = self._topics.get(execution_id)
        if topic is None:
            topic = self._topics[execution_id] = Topic(execution_id, self._ring_size)
        topic.subscribers += 1
        try:
            cursor = after
            while True:
                events = topic.after(cursor)
                if events is None:
                    events = await self._store.read_events(
                        execution_id, cursor, PAGE, max_bytes=PAGE_BYTES
                    )
                    if events and events[-1].seq > topic.head:
                        topic.head = events[-1].seq  # a poll that finds this needs no fetch
                    if not events:
                        events = topic.after(cursor) or []
                    if not events and await self._closed(execution_id, cursor):
                        return
                for i, event in enumerate(events):
                    cursor = event.seq
                    yield event
                    if event.is_terminal and (i + 1 == len(events)) and await self._ends(event):
                        return
                if not events:
                    await topic.wait(cursor)
        finally:
            topic.subscribers -= 1
            if topic.subscribers == 0 and self._topics.get(execution_id) is topic:
                del self._topics[execution_id]

    async def _ends(self, event: Event) -> bool:
        """Whether a terminal event ends its log. A failure may be followed by a manual
        retry (``RETRY_REQUESTED``, then the new run): it ends the log only while nothing
        comes after it."""
        if event.type not in RETRYABLE_ENDS:
            return True
        status, last_seq = await self._store.log_position(event.execution_id)
        return status.is_terminal and last_seq <= event.seq

    async def _closed(self, execution_id: str, cursor: int) -> bool:
        """True when the log is finished and nothing is left after ``cursor``."""
        status, last_seq = await self._store.log_position(execution_id)
        return status.is_terminal and last_seq <= cursor
