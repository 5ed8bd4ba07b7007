"""``Signal``: a wake-up flag that loops wait on with a timeout.

It uses ``asyncio.timeout`` rather than ``asyncio.wait_for``: on Python 3.11 a cancel that
races ``wait_for``'s timeout can come out as ``TimeoutError``, and a loop that treats a
timeout as "poll again" would then never stop.
"""

from __future__ import annotations

import asyncio


class Signal:
    """Set by whoever has news; a loop waits for it or for its poll interval."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, timeout: float | None) -> bool:
        """True if set before ``timeout`` seconds passed; cancellation propagates."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        return True
