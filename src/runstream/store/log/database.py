"""The write path every backend shares: one writer thread with group commit, reader threads.

Every write is a transition ``fn(tx, *args)`` run on the writer thread. The writer takes all
queued writes at once and runs them in one transaction, each inside its own savepoint, so a
busy engine pays one commit for many operations and a failing operation rolls back alone.
Events appended by a write are handed to the listener after the commit, in commit order,
before the caller's future resolves.

The transitions are synchronous, so a backend needs a synchronous driver (``sqlite3``,
psycopg 3's blocking connection); the event loop never waits on a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from runstream.errors import StoreError
from runstream.model import Event
from runstream.observability import metrics
from runstream.store.base import StoreListener, Wake
from runstream.store.log.tx import Tx

T = TypeVar("T")
_MAX_GROUP = 512
_GROUP_RETRIES = 10
log = logging.getLogger("runstream.store")


class Backend(ABC):
    """What differs between databases: connecting, migrating, the transaction dialect."""

    begin: str = "BEGIN"
    """The statement opening a write transaction."""
    driver_error: type[Exception] = Exception
    """The driver's base exception, translated to ``StoreError`` at this edge."""

    @abstractmethod
    def connect(self) -> Any:
        """A new connection in autocommit mode (transactions are opened explicitly)."""

    @abstractmethod
    def migrate(self, conn: Any) -> None:
        """Bring the schema up to date; must be safe when several processes start at once."""

    @abstractmethod
    def tx(self, conn: Any, now: int, pipeline: Any = None) -> Tx:
        """A transaction view over ``conn`` whose clock reads ``now`` (sending statements
        on through ``pipeline`` when there is one)."""

    def pipeline(self, conn: Any) -> contextlib.AbstractContextManager[Any]:
        """Around a group: what lets statements go out without waiting for their results
        (PostgreSQL's pipeline mode); nothing by default."""
        return contextlib.nullcontext()

    def clock(self, conn: Any) -> int:
        """Epoch milliseconds for a transaction starting now."""
        return time.time_ns() // 1_000_000

    def should_retry(self, exc: Exception) -> bool:
        """Whether a failed commit (a deadlock, a serialization failure) may run again."""
        return False

    def open_transaction(self, conn: Any) -> int:
        """Begin a write transaction; its clock (epoch ms)."""
        now = self.clock(conn)
        conn.execute(self.begin)
        return now

    def next_savepoint(self, conn: Any) -> None:
        """Release the previous operation's savepoint and open the next one's."""
        conn.execute("RELEASE SAVEPOINT op")
        conn.execute("SAVEPOINT op")

    def commit(self, conn: Any, events: list[Event], wakes: set[Wake]) -> None:
        """Commit (PostgreSQL also announces the commit, in the same round trip)."""
        conn.execute("COMMIT")

    def reset(self, conn: Any) -> bool:
        """Roll back whatever is open on ``conn``; False when the connection is unusable."""
        try:
            conn.execute("ROLLBACK")
        except self.driver_error:
            return not getattr(conn, "closed", False)
        return True

    def close(self, conn: Any) -> None:
        conn.close()


_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]
_Result = tuple["asyncio.Future[Any]", Any, BaseException | None]


class _Failed(Exception):
    """Operation ``index`` of an optimistic run failed by itself."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


def _failure(exc: Exception, driver_error: type[Exception]) -> BaseException:
    """What the caller of a failed operation gets: database errors become ``StoreError``."""
    if not isinstance(exc, driver_error):
        return exc
    err = StoreError(str(exc))
    err.__cause__ = exc
    return err


class Database:
    """The writer thread, the reader threads and their connections."""

    def __init__(self, backend: Backend, *, readers: int = 1) -> None:
        self.backend = backend
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="runstream-read")
        self._readers = readers
        self._closed = False
        self._read_conns: queue.SimpleQueue[Any] = queue.SimpleQueue()
        """Idle reader connections; one per reader thread, opened at start."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: StoreListener | None = None
        self.commits = 0
        """Transactions committed by the writer (a gauge for batching checks)."""

    def start(self, listener: StoreListener) -> None:
        self._loop = asyncio.get_running_loop()
        self._listener = listener
        try:
            conn = self.backend.connect()
            self.backend.migrate(conn)
            for _ in range(self._readers):
                self._read_conns.put(self.backend.connect())
        except self.backend.driver_error as exc:
            raise StoreError(f"cannot open the store: {exc}") from exc
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="runstream-write", daemon=True
        )
        self._writer.start()

    async def stop(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        self._reader.shutdown(wait=True)
        while not self._read_conns.empty():
            conn = self._read_conns.get_nowait()
            if conn is not None:
                self.backend.close(conn)

    def write(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(tx, *args)`` for the next group commit."""
        assert self._loop is not None, "database not started"
        fut: asyncio.Future[T] = self._loop.create_future()
        if self._closed:  # nothing would ever commit it (a caller racing close())
            fut.set_exception(StoreError("the store is closed"))
            return fut
        self._jobs.put((fn, args, fut))
        return fut

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(tx, *args)`` on a reader connection (autocommit: no transaction held)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, self._read_job, fn, args)

    def _read_job(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._read_conns.get()  # as many connections as threads: never waits
        started = time.perf_counter()
        try:
            if conn is None:
                conn = self.backend.connect()
            # Reads stamp nothing: the local clock spares the database a round trip.
            result = fn(self.backend.tx(conn, time.time_ns() // 1_000_000), *args)
            metrics.READ_DURATION.observe(time.perf_counter() - started)
            return result
        except self.backend.driver_error as exc:
            if conn is not None and getattr(conn, "closed", False):
                self.backend.close(conn)
                conn = None  # reconnect on the next read
            raise StoreError(str(exc)) from exc
        finally:
            self._read_conns.put(conn)

    def _write_loop(self, conn: Any) -> None:
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
            try:
                conn = self._commit_group(conn, group)
            except Exception as exc:  # a bug, not the database: fail the group, keep writing
                log.exception("store writer: a group failed unexpectedly")
                conn = self._recover(conn)
                failure = StoreError(f"commit failed: {exc!r}")
                self._hand_over([], frozenset(), [(fut, None, failure) for _, _, fut in group])
        self.backend.close(conn)
        # Writes queued after the stop request never run: fail them rather than leave their
        # callers waiting for ever.
        left: list[_Result] = []
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            if job is not None:
                left.append((job[2], None, StoreError("the store is closed")))
        if left:
            self._hand_over([], frozenset(), left)

    def _commit_group(self, conn: Any, group: list[_Job]) -> Any:
        """Commit ``group`` in one transaction; returns the connection to use next (a new
        one if this one broke).

        The first run is optimistic: no savepoints, and pipelined where the backend can
        (PostgreSQL), so the group waits for the database only where a transition reads.
        If an operation fails, the transaction is rolled back and the group runs again
        carefully: one statement at a time, each operation in a savepoint so that a failing
        one rolls back alone. An operation that failed by itself (the transition raised)
        keeps its failure and is left out of the second run; a database error in a pipeline
        cannot be pinned on an operation, so the whole group runs again. A deadlock runs the
        group again as it was."""
        error: Exception | None = None
        careful = False
        failed: list[_Result] = []
        for attempt in range(_GROUP_RETRIES):
            started = time.perf_counter()
            try:
                tx, results = self._run_group(conn, group, careful)
            except _Failed as alone:
                conn = self._recover(conn)
                failed.append((group[alone.index][2], None, alone.error))
                group = group[: alone.index] + group[alone.index + 1 :]
                careful = True
                continue
            except self.backend.driver_error as exc:
                error = exc
                conn = self._recover(conn)
                if self.backend.should_retry(exc):
                    # Both sides of a deadlock retry: a random pause lets one go first.
                    time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
                    continue
                if not careful:
                    careful = True
                    continue
                break
            self.commits += 1
            metrics.COMMIT_DURATION.observe(time.perf_counter() - started)
            metrics.COMMIT_OPERATIONS.observe(len(group))
            self._hand_over(tx.events, frozenset(tx.wakes), failed + results)
            return conn
        failure = StoreError(f"commit failed: {error}")
        failure.__cause__ = error
        self._hand_over([], frozenset(), failed + [(fut, None, failure) for _, _, fut in group])
        return conn

    def _run_group(self, conn: Any, group: list[_Job], careful: bool) -> tuple[Tx, list[_Result]]:
        """Run ``group`` in one transaction and commit it (see ``_commit_group``). A group
        of one needs no savepoint: its failure rolls back the transaction."""
        alone = len(group) == 1
        savepoints = careful and not alone
        with contextlib.nullcontext() if careful else self.backend.pipeline(conn) as pipe:
            tx = self.backend.tx(conn, self.backend.open_transaction(conn), pipe)
            results: list[_Result] = []
            for i, (fn, args, fut) in enumerate(group):
                mark = len(tx.events)  # (empty until settle() when pipelined)
                if savepoints:
                    if i == 0:
                        conn.execute("SAVEPOINT op")
                    else:
                        self.backend.next_savepoint(conn)
                try:
                    value = fn(tx, *args)
                except Exception as exc:
                    if isinstance(exc, self.backend.driver_error) and (
                        pipe is not None or self.backend.should_retry(exc)
                    ):
                        raise  # a deadlock, or an error of unknown origin: the group again
                    if not careful and not alone:
                        raise _Failed(i, _failure(exc, self.backend.driver_error)) from exc
                    conn.execute("ROLLBACK TO SAVEPOINT op" if savepoints else "ROLLBACK")
                    del tx.events[mark:]
                    results.append((fut, None, _failure(exc, self.backend.driver_error)))
                    if alone:
                        tx.wakes.clear()
                        return tx, results
                else:
                    results.append((fut, value, None))
            tx.settle()
            self.backend.commit(conn, tx.events, tx.wakes)
        return tx, results

    def _recover(self, conn: Any) -> Any:
        """Roll back after a failed group; reconnect once if the connection broke (a
        connection that still fails is tried again by the next group)."""
        if self.backend.reset(conn):
            return conn
        log.warning("store connection lost; reconnecting")
        with contextlib.suppress(Exception):
            self.backend.close(conn)
        try:
            return self.backend.connect()
        except self.backend.driver_error as exc:
            log.warning("store reconnect failed: %s", exc)
            time.sleep(0.5)
            return conn

    def _hand_over(
        self, events: list[Event], wakes: frozenset[Wake], results: list[_Result]
    ) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, events, wakes, results)

    def _deliver(self, events: list[Event], wakes: frozenset[Wake], results: list[_Result]) -> None:
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
