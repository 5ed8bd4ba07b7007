"""Wake-ups between processes sharing a store: LISTEN/NOTIFY or Redis pub/sub.

Hints only; the log is the truth. ``open_bus`` picks the bus for a store: the one named by
``--bus`` (``redis://…``), else the store's own (PostgreSQL's NOTIFY), else none (an
embedded store has no other process to hear from).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from runstream.bus.base import Bus, HintSink
from runstream.store.base import Store

__all__ = ["Bus", "HintSink", "open_bus"]


def open_bus(url: str | None, store: Store) -> Bus | None:
    """The bus of a process on ``store``; raises ``ValueError`` for an unknown URL."""
    if not store.shared:
        return None  # one process per store: its own commits are all there is
    if url is None:
        if store.bus_url is not None:
            from runstream.bus.postgres import PostgresBus

            return PostgresBus(store.bus_url)
        return None
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        from runstream.bus.redis import RedisBus

        store.quiet()  # Redis carries the hints: no NOTIFY in every commit
        return RedisBus(url, store.origin)
    if scheme in ("postgresql", "postgres"):
        from runstream.bus.postgres import PostgresBus

        return PostgresBus(url)
    raise ValueError(f"unsupported bus URL {url!r} (supported: redis://host:port)")
