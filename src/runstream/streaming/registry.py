"""The open streams of one app: limits per process and per organisation, and their slots.

A stream takes a ``Slot`` before its response starts, so a refusal is still a JSON 429,
and the response gives it back when the stream ends, however it ends (SPEC §10).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import Scope

from runstream.errors import TooManyStreams


class StreamRegistry:
    """The open streams of one app: the limits, the in-flight gauge, the signal to finish.

    A stream takes a ``Slot`` before its response starts (so a refusal can still be a
    JSON 429) and gives it back when it ends, however it ends.
    """

    def __init__(
        self, *, max_streams: int = 10_000, max_per_org: int = 1_000, retry_after: int = 1
    ) -> None:
        self.max_streams = max_streams
        """Open streams allowed in this process."""
        self.max_per_org = max_per_org
        """Open streams allowed per organisation in this process."""
        self.retry_after = retry_after
        """Seconds a refused client is told to wait (``Retry-After``)."""
        self.in_flight = 0
        """Streams currently open."""
        self.dropped = 0
        """Streams ended because their client stopped reading."""
        self.drop: Callable[[Scope], bool] | None = None
        """Set by the server: abort the connection of a request at once (True if it did).
        Without it a stalled client's connection is left to the server to close."""
        self._per_org: dict[str, int] = {}
        self._slots: set[Slot] = set()
        self._closing = asyncio.Event()

    @property
    def closing(self) -> bool:
        """True once ``close_all`` was called."""
        return self._closing.is_set()

    def open(self, org: str, *, key_id: str | None = None, expires_at: float | None = None) -> Slot:
        """Take a slot for one more stream of ``org``.

        Args:
            org: The organisation the stream is counted against.
            key_id: The API key that opened it; the stream ends if that key is revoked.
            expires_at: Epoch seconds when the credential expires; the stream ends then.

        Raises:
            TooManyStreams: The process or the organisation is at its limit.
        """
        if self.in_flight >= self.max_streams:
            raise TooManyStreams("process", self.max_streams, self.retry_after)
        if self._per_org.get(org, 0) >= self.max_per_org:
            raise TooManyStreams(org, self.max_per_org, self.retry_after)
        slot = Slot(self, org, key_id, expires_at)
        self.in_flight += 1
        self._per_org[org] = self._per_org.get(org, 0) + 1
        self._slots.add(slot)
        return slot

    def open_in(self, org: str) -> int:
        """Streams of ``org`` open now."""
        return self._per_org.get(org, 0)

    def slots(self) -> list[Slot]:
        """The slots held now."""
        return list(self._slots)

    def close_all(self) -> None:
        """Ask every open stream (and any opened later) to send its last frame and end."""
        self._closing.set()

    async def wait_closing(self) -> None:
        """Return when ``close_all`` is called."""
        await self._closing.wait()

    def _release(self, slot: Slot) -> None:
        self._slots.discard(slot)
        self.in_flight -= 1
        left = self._per_org[slot.org] - 1
        if left:
            self._per_org[slot.org] = left
        else:
            del self._per_org[slot.org]


class Slot:
    """One open stream's place in the registry; ``release`` it exactly once (idempotent)."""

    def __init__(
        self, registry: StreamRegistry, org: str, key_id: str | None, expires_at: float | None
    ) -> None:
        self.registry = registry
        self.org = org
        """The organisation the stream counts against."""
        self.key_id = key_id
        """The API key behind the stream, if one is."""
        self.expires_at = expires_at
        """Epoch seconds when the stream's credential expires, if it does."""
        self._revoked = asyncio.Event()
        self._released = False

    @property
    def revoked(self) -> bool:
        """True once ``revoke`` was called."""
        return self._revoked.is_set()

    def revoke(self) -> None:
        """End the stream soon: its credential is no longer valid."""
        self._revoked.set()

    async def wait_revoked(self) -> None:
        """Return when ``revoke`` is called."""
        await self._revoked.wait()

    def release(self) -> None:
        """Give the slot back."""
        if not self._released:
            self._released = True
            self.registry._release(self)
