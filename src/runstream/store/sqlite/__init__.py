"""The embedded backend: one SQLite file in WAL mode, one process per file."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from runstream.errors import StoreError
from runstream.store.base import StoreListener
from runstream.store.log.database import Backend
from runstream.store.log.store import LogStore
from runstream.store.log.tx import Row, Tx, load_queries

SCHEMA_VERSION = 6


class SqliteTx(Tx):
    """A transaction view over a ``sqlite3`` connection."""

    def __init__(self, conn: sqlite3.Connection, queries: dict[str, str], now: int) -> None:
        super().__init__(now)
        self.conn = conn
        self.queries = queries

    def one(self, query: str, /, **params: Any) -> Row | None:
        row: sqlite3.Row | None = self.conn.execute(self.queries[query], params).fetchone()
        return row

    def all(self, query: str, /, **params: Any) -> list[Row]:
        return self.conn.execute(self.queries[query], params).fetchall()

    def changed(self, query: str, /, **params: Any) -> int:
        cursor = self.conn.execute(self.queries[query], params)
        cursor.fetchall()
        return cursor.rowcount

    def insert_events(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(self.queries["insert_event"], rows)

    def array(self, values: list[Any]) -> str:
        return orjson.dumps(values).decode()  # read with json_each


class SqliteBackend(Backend):
    """WAL, ``synchronous=NORMAL``; ``BEGIN IMMEDIATE`` so the writer never meets
    ``SQLITE_BUSY`` half-way through a transaction."""

    begin = "BEGIN IMMEDIATE"
    driver_error = sqlite3.Error

    def __init__(self, path: str) -> None:
        self.path = path
        self.queries = load_queries(__name__, "queries.sql")

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file's schema up to ``SCHEMA_VERSION``, one numbered step at a time."""
        steps = load_queries(__name__, "schema.sql")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database schema {version} is newer than this runstream ({SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            # Another process (``keys create`` next to a starting server) may have got here
            # first: the version read under the write lock decides.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                conn.execute("COMMIT")
                continue
            for statement in steps[f"migrate_{target}"].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")

    def tx(self, conn: sqlite3.Connection, now: int, pipeline: Any = None) -> SqliteTx:
        return SqliteTx(conn, self.queries, now)

    def reset(self, conn: sqlite3.Connection) -> bool:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return True


def _lock_file(path: str) -> int:
    """Hold ``<path>.lock`` for as long as the store is open: one process per file, since two
    engines on one file would both run its workflows. A killed process frees it."""
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreError(
            f"{path} is in use by {holder}; the SQLite store serves one process "
            "(use PostgreSQL to run several)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}".encode())
    return fd


class SqliteStore(LogStore):
    """``sqlite:///path/to/file.db``: the embedded default, one process per file."""

    def __init__(self, path: str, *, exclusive: bool = True) -> None:
        if path in ("", ":memory:"):
            raise ValueError("the SQLite store needs a file path (sqlite:///./runstream.db)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(SqliteBackend(path))
        self._path = path
        self._exclusive = exclusive
        # The lock goes on the real path, so a symlink (or another spelling) of the file
        # meets the same lock.
        self._real_path = os.path.realpath(path)
        self._lock: int | None = None

    async def open(self, listener: StoreListener) -> None:
        if not self._exclusive:
            return await super().open(listener)
        self._lock = _lock_file(self._real_path)
        try:
            await super().open(listener)
            # The file lock proves that the process that held these leases is gone.
            await self.reclaim_leases()
        except BaseException:
            os.close(self._lock)
            self._lock = None
            raise

    async def close(self) -> None:
        await super().close()
        if self._lock is not None:
            os.close(self._lock)  # closing releases the lock
            self._lock = None
