"""SQLite plumbing: one writer thread with group commit, one reader thread, named queries.

Every write is a function ``fn(tx, *args)`` run on the writer thread. The writer takes all
queued writes at once and runs them in one ``BEGIN IMMEDIATE`` transaction, each inside its
own savepoint, so a busy engine pays one fsync for many operations and a failing operation
rolls back alone. Events appended by a write are handed to the listener after the commit,
in commit order, before the caller's future resolves.
"""

from __future__ import annotations

import asyncio
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, TypeVar

import orjson

from runstream.errors import StoreError
from runstream.model import Event, NewEvent
from runstream.store.base import StoreListener, Wake

T = TypeVar("T")
_MAX_GROUP = 512


def load_queries(filename: str) -> dict[str, str]:
    """Named queries of a ``.sql`` file of this package (``-- name: x`` headers)."""
    text = resources.files(__package__).joinpath(filename).read_text()
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def encode(value: Any) -> bytes:
    return orjson.dumps(value)


def decode(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Tx:
    """One write operation's view of the open transaction."""

    def __init__(self, conn: sqlite3.Connection, queries: dict[str, str], now: int) -> None:
        self.conn = conn
        self.queries = queries
        self.now = now
        """Transaction time, epoch ms: the server clock every row and event of it uses."""
        self.events: list[Event] = []
        self.wakes: set[Wake] = set()

    def one(self, query: str, /, **params: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(self.queries[query], params).fetchone()
        return row

    def all(self, query: str, /, **params: Any) -> list[sqlite3.Row]:
        return self.conn.execute(self.queries[query], params).fetchall()

    def run(self, query: str, /, **params: Any) -> int:
        """Execute and return the number of rows changed (RETURNING rows are drained)."""
        cursor = self.conn.execute(self.queries[query], params)
        cursor.fetchall()
        return cursor.rowcount

    def append(self, events: Sequence[NewEvent]) -> None:
        """Give the events the next seqs of their logs and insert them.

        Events for a log that is closed (its execution is terminal) or unknown are dropped:
        the terminal event is always the last of a log.
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
        self.conn.executemany(self.queries["insert_event"], rows)

    def emit(self, execution_id: str, type: str, data: Any, **kw: Any) -> None:
        self.append([NewEvent(execution_id, type, data, **kw)])


_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class Database:
    """The writer thread, the reader thread and their connections to one SQLite file."""

    def __init__(self, path: str, queries: dict[str, str]) -> None:
        self.path = path
        self.queries = queries
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runstream-read")
        self._read_conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: StoreListener | None = None
        self.commits = 0
        """Transactions committed by the writer (a gauge for batching checks)."""

    def start(self, listener: StoreListener, migrate: Callable[[sqlite3.Connection], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._listener = listener
        conn = connect(self.path)
        try:
            migrate(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="runstream-write", daemon=True
        )
        self._writer.start()

    async def stop(self) -> None:
        if self._writer is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        self._reader.submit(self._close_reader).result()
        self._reader.shutdown(wait=True)

    def write(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(tx, *args)`` for the next group commit."""
        assert self._loop is not None, "database not started"
        fut: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((fn, args, fut))
        return fut

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(tx, *args)`` on the reader connection (no transaction held open)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, self._read_job, fn, args)

    def _read_job(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._read_conn is None:
            self._read_conn = connect(self.path)
        try:
            return fn(Tx(self._read_conn, self.queries, now_ms()), *args)
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    def _close_reader(self) -> None:
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        running = True
        while running:
            job = self._jobs.get()
            if job is None:
                break
            group = [job]
            while len(group) < _MAX_GROUP:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    running = False
                    break
                group.append(nxt)
            self._commit_group(conn, group)
        conn.close()

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Job]) -> None:
        tx = Tx(conn, self.queries, now_ms())
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, fut in group:
                mark = len(tx.events)
                conn.execute("SAVEPOINT op")
                try:
                    value = fn(tx, *args)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    del tx.events[mark:]
                    err: BaseException = exc
                    if isinstance(exc, sqlite3.Error):
                        err = StoreError(str(exc))
                        err.__cause__ = exc
                    results.append((fut, None, err))
                else:
                    results.append((fut, value, None))
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StoreError(f"commit failed: {exc}")
            results = [(fut, None, failure) for _, _, fut in group]
            tx.events.clear()
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, tx.events, frozenset(tx.wakes), results)

    def _deliver(
        self,
        events: list[Event],
        wakes: frozenset[Wake],
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
    ) -> None:
        assert self._listener is not None
        if events:
            self._listener.on_events(events)
        if wakes:
            self._listener.on_wake(wakes)
        for fut, value, err in results:
            if fut.cancelled():
                continue
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(value)
