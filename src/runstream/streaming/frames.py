"""Encode each event once for all the streams that send it."""

from __future__ import annotations

from collections.abc import Callable

from runstream.model import Event


class FrameBodies:
    """Frame bodies of recent events in one wire format, so each event is encoded once for
    all its streams.

    Keyed by execution id and seq: a stored event never changes. Holds at most ``size``
    bodies and ``max_bytes`` bytes of them, dropping the oldest first.
    """

    def __init__(
        self, encode: Callable[[Event], bytes], size: int = 4096, max_bytes: int = 8 << 20
    ) -> None:
        self._encode = encode
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._bodies: dict[tuple[str, int], bytes] = {}

    def __call__(self, event: Event) -> bytes:
        """The body of ``event``'s frame (everything but the ``id:`` line)."""
        key = (event.execution_id, event.seq)
        found = self._bodies.get(key)
        if found is None:
            found = self._bodies[key] = self._encode(event)
            self._bytes += len(found)
            while len(self._bodies) > self._size or self._bytes > self._max_bytes:
                self._bytes -= len(self._bodies.pop(next(iter(self._bodies))))
        return found
