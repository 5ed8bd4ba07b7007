"""The transaction surface the transitions are written against, once for every backend.

A transition is a plain function ``fn(tx, *args)`` that reads and writes rows through named
queries (each backend ships its own ``queries.sql`` with the same names), appends events
with ``tx.append``/``tx.emit`` and records wake-ups in ``tx.wakes``. It runs inside one
write transaction on the backend's writer thread, or on a reader connection for reads.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, Protocol

import orjson

from runstream.model import Event, NewEvent
from runstream.store.base import Wake


class Row(Protocol):
    """A result row: columns by name (``row["status"]``) or position (``row[0]``), and
    unpacking (``for (step,) in rows``)."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def __iter__(self) -> Any: ...

    def __len__(self) -> int: ...


Fields = Row | Mapping[str, Any]
"""A row read back, or the columns a transition just wrote (nothing read back)."""


def load_queries(package: str, filename: str) -> dict[str, str]:
    """Named queries of a ``.sql`` file of ``package`` (``-- name: x`` headers)."""
    text = resources.files(package).joinpath(filename).read_text()
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def encode(value: Any) -> bytes:
    """The stored form of a JSON value."""
    return orjson.dumps(value)


def decode(raw: bytes | memoryview | None) -> Any:
    return None if raw is None else orjson.loads(raw)


class Tx(ABC):
    """One operation's view of the open transaction; backends implement the four query
    methods, the event bookkeeping is shared."""

    def __init__(self, now: int) -> None:
        self.now = now
        """Transaction time, epoch ms: the clock every row and event of it uses."""
        self.events: list[Event] = []
        """Events appended so far, handed to the listener after the commit."""
        self.wakes: set[Wake] = set()
        self.readied: set[str] = set()
        """Workflows a step of which this transaction resolved (they have steps to feed)."""

    @abstractmethod
    def one(self, query: str, /, **params: Any) -> Row | None:
        """The first row of a named query, or None."""

    @abstractmethod
    def all(self, query: str, /, **params: Any) -> list[Row]:
        """Every row of a named query."""

    @abstractmethod
    def changed(self, query: str, /, **params: Any) -> int:
        """Execute a named query; the number of rows it changed (RETURNING rows drained)."""

    def run(self, query: str, /, **params: Any) -> None:
        """Execute a named query whose outcome nobody reads: a backend may send it on
        without waiting (PostgreSQL pipelines it; a failure surfaces by the commit)."""
        self.changed(query, **params)

    def settle(self) -> None:
        """Wait for every statement sent on; ``events`` is complete afterwards (called
        once, before the commit). Nothing is ever pending on a backend that does not
        pipeline."""
        return None

    def array(self, values: list[Any]) -> Any:
        """A list as this backend takes it as one query parameter."""
        return values

    @abstractmethod
    def insert_events(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``(execution_id, seq, type, ts, data, task_id, attempt)`` rows."""

    def append(self, events: Sequence[NewEvent]) -> None:
        """Give the events the next seqs of their logs and insert them.

        The seq counter lives on the execution row, so bumping it locks that row until the
        commit: appenders to one log are serialised, and no reader can see seq N+1 before
        seq N. Events for a log that is closed (its execution is terminal) or unknown are
        dropped: the terminal event is always the last of a log.
        """
        counts: dict[str, int] = {}
        for ev in events:
            counts[ev.execution_id] = counts.get(ev.execution_id, 0) + 1
        next_seq: dict[str, int] = {}
        for execution_id, n in counts.items():
            row = self.one("bump_seq", n=n, now=self.now, id=execution_id)
            if row is not None:
                next_seq[execution_id] = row[0] - n + 1
        rows = []
        for ev in events:
            if ev.execution_id not in next_seq:
                continue
            seq = next_seq[ev.execution_id]
            next_seq[ev.execution_id] = seq + 1
            stored = Event(ev.execution_id, seq, ev.type, self.now, ev.data, ev.task_id, ev.attempt)
            self.events.append(stored)
            rows.append(
                (ev.execution_id, seq, ev.type, self.now, encode(ev.data), ev.task_id, ev.attempt)
            )
        if rows:
            self.insert_events(rows)

    def emit(self, execution_id: str, type: str, data: Any, **kw: Any) -> None:
        """Append one event."""
        self.append([NewEvent(execution_id, type, data, **kw)])


def append(tx: Tx, events: list[NewEvent]) -> None:
    """The ``Store.append_events`` transition."""
    tx.append(events)
