"""The bus contract: hints about commits travel between processes; the log is the truth.

A bus carries ``Hints`` (``runstream.store.hints``): which logs grew and what work
appeared. Losing one only delays a wake-up until the next poll; it never loses an event,
because every receiver reads the events themselves from the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Protocol

from runstream.model import Event
from runstream.store.base import Wake
from runstream.store.hints import Hints


class HintSink(Protocol):
    """What a bus tells its process."""

    def on_hints(self, hints: Hints) -> None:
        """Another process committed (hints from this process's own store come back too)."""

    def on_gap(self) -> None:
        """Hints may have been lost (the bus reconnected): look at everything again."""


class Bus(ABC):
    """One connection per process, whatever the number of streams and workers."""

    publishes: bool = True
    """Whether ``publish`` carries anything (False when the store announces its commits
    itself, inside the committing transaction)."""

    @abstractmethod
    async def start(self, sink: HintSink) -> None:
        """Connect and subscribe; returns once subscribed, or after a short wait when the
        bus is unreachable (it keeps trying; the process runs on polling meanwhile)."""

    @abstractmethod
    def publish(
        self, positions: Mapping[str, int], wakes: frozenset[Wake], events: Sequence[Event] = ()
    ) -> None:
        """Announce a commit of this process (its events may ride along when small); never
        blocks and never fails (coalesced and sent in the background)."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect."""
