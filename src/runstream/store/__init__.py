"""Persistence behind one interface, the backend chosen by URL."""

from __future__ import annotations

from urllib.parse import urlparse

from runstream.store.base import Store, StoreListener

__all__ = ["Store", "StoreListener", "open_store"]


def open_store(url: str, *, exclusive: bool = True) -> Store:
    """The store for ``url``: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, or
    ``postgresql://user@host:port/db`` (also ``postgres://``).

    Args:
        url: Where the store lives.
        exclusive: Hold the embedded store's one-process lock. ``False`` is for commands
            that only manage API keys next to a running server (no engine runs on them).
            PostgreSQL has no such lock: any number of processes share it.
    """
    scheme = urlparse(url).scheme
    if scheme in ("postgresql", "postgres"):
        from runstream.store.postgres import PostgresStore

        return PostgresStore(url)
    if scheme == "sqlite":
        from runstream.store.sqlite import SqliteStore

        prefix = "sqlite:///"
        if not url.startswith(prefix):
            raise ValueError(f"SQLite URLs look like sqlite:///path/to.db, not {url!r}")
        return SqliteStore(url[len(prefix) :], exclusive=exclusive)
    raise ValueError(f"unsupported store URL {url!r} (supported: sqlite:///path, postgresql://…)")
