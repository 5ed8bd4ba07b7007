"""The scale-out backend: PostgreSQL through psycopg 3's blocking connection.

The transitions in ``store/log`` run here unchanged, on the shared writer thread: this
module supplies connections, the dialect and the two ``.sql`` files. Many processes share
one database: claims take rows with ``FOR UPDATE SKIP LOCKED``, every check-then-write
locks its row first, and each commit is followed, in the same round trip, by a ``NOTIFY`` of
what it changed (``runstream.store.hints``), which the bus of every process listens to.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq

from runstream.errors import StoreError
from runstream.model import Event, NewEvent
from runstream.store.base import Wake
from runstream.store.hints import CHANNEL, encode_hints
from runstream.store.log.database import Backend
from runstream.store.log.store import LogStore
from runstream.store.log.tx import Tx, encode, load_queries

SCHEMA_VERSION = 6
_MIGRATION_LOCK = zlib.crc32(b"runstream schema")
"""Advisory lock key: processes starting at once on an empty database migrate one by one."""
_READERS = 4
_LOCK_TIMEOUT_MS = 200
log = logging.getLogger("runstream.store")
_CLOCK = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"


class PgRow:
    """A row readable by column name or position, and unpackable, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"


_INDEXES: dict[tuple[bytes | None, ...], dict[str, int]] = {}
"""Column positions by column names: one entry per distinct result shape of the queries."""


def pg_rows(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    """psycopg row factory making ``PgRow``s. It reads the column names off the raw result:
    ``cursor.description`` builds an object per column of every result, which cost a
    quarter of the writer's CPU."""
    result = cursor.pgresult
    names = tuple(result.fname(i) for i in range(result.nfields)) if result is not None else ()
    index = _INDEXES.get(names)
    if index is None:
        index = _INDEXES[names] = {name.decode(): i for i, name in enumerate(names) if name}
    return lambda values: PgRow(values, index)


class PostgresTx(Tx):
    """A transaction view over a psycopg connection, pipelined on the writer: statements
    nobody reads (``run``, appends) go out at once and are waited for together, at the
    next read or in ``settle``."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        queries: dict[str, str],
        now: int,
        pipeline: psycopg.Pipeline | None = None,
    ) -> None:
        super().__init__(now)
        self.conn = conn
        self.queries = queries
        self.pipeline = pipeline
        self.cursor = conn.cursor()
        """One cursor for every statement whose result is read at once (or never): a new
        cursor per statement costs as much as the statement itself."""
        self._sent: list[tuple[psycopg.Cursor[Any], str, list[NewEvent]]] = []
        """Pipelined appends: their seqs are known once the pipeline syncs."""

    def one(self, query: str, /, **params: Any) -> PgRow | None:
        row: PgRow | None = self.cursor.execute(self.queries[query], params).fetchone()
        return row

    def all(self, query: str, /, **params: Any) -> list[Any]:
        return self.cursor.execute(self.queries[query], params).fetchall()

    def changed(self, query: str, /, **params: Any) -> int:
        cursor = self.cursor.execute(self.queries[query], params)
        if self.pipeline is not None:
            self.pipeline.sync()
        return cursor.rowcount

    def run(self, query: str, /, **params: Any) -> None:
        self.cursor.execute(self.queries[query], params)

    def append(self, events: Sequence[NewEvent]) -> None:
        """``Tx.append`` in one statement per log (the counter bump and the inserts)."""
        logs: dict[str, list[NewEvent]] = {}
        for event in events:
            logs.setdefault(event.execution_id, []).append(event)
        for execution_id, batch in logs.items():
            params: dict[str, Any]
            if len(batch) == 1:  # most appends: plain parameters dump faster than arrays
                event = batch[0]
                query = self.queries["append_event"]
                params = {
                    "id": execution_id,
                    "now": self.now,
                    "type": event.type,
                    "data": encode(event.data),
                    "task_id": event.task_id,
                    "attempt": event.attempt,
                }
            else:
                query = self.queries["append_events"]
                params = {
                    "id": execution_id,
                    "n": len(batch),
                    "now": self.now,
                    "types": [e.type for e in batch],
                    "datas": [encode(e.data) for e in batch],
                    "task_ids": [e.task_id for e in batch],
                    "attempts": [e.attempt for e in batch],
                }
            if self.pipeline is not None:  # its seqs are read in settle(): a cursor of its own
                self._sent.append((self.conn.execute(query, params), execution_id, batch))
            else:
                self._stored(execution_id, batch, self.cursor.execute(query, params).fetchall())

    def _stored(self, execution_id: str, batch: list[NewEvent], seqs: list[Any]) -> None:
        if not seqs:
            return  # a closed (or unknown) log takes no more events
        first = min(row[0] for row in seqs)
        self.events.extend(
            Event(execution_id, first + i, e.type, self.now, e.data, e.task_id, e.attempt)
            for i, e in enumerate(batch)
        )

    def settle(self) -> None:
        if not self._sent:
            return
        assert self.pipeline is not None
        self.pipeline.sync()
        for cursor, execution_id, batch in self._sent:
            self._stored(execution_id, batch, cursor.fetchall())
        self._sent.clear()

    def insert_events(self, rows: list[tuple[Any, ...]]) -> None:
        # One statement for the whole batch: a token burst is one round trip, not one each.
        columns = [list(column) for column in zip(*rows, strict=True)]
        self.cursor.execute(self.queries["insert_event"], columns)


class PostgresBackend(Backend):
    """Autocommit connections with explicit transactions; the database's clock."""

    begin = "BEGIN"
    driver_error = psycopg.Error

    def __init__(self, url: str, *, announce: bool = True) -> None:
        self.url = url
        self.queries = load_queries(__name__, "queries.sql")
        self.announce = announce
        """NOTIFY each commit's hints on ``CHANNEL`` (off when another bus carries them)."""
        self.origin = ""
        """The store instance the hints name."""
        self._committed: psycopg.Cursor[Any] | None = None
        """The ``COMMIT`` of the writer's current pipelined group, once sent."""

    def connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = psycopg.connect(
            self.url, autocommit=True, row_factory=pg_rows, application_name="runstream"
        )
        # A group of operations locks rows in no global order, so two processes' groups can
        # deadlock; PostgreSQL would notice only after deadlock_timeout (1 s). Waiting for a
        # row lock longer than this instead fails the group, which runs again (should_retry).
        conn.execute(f"SET lock_timeout = {_LOCK_TIMEOUT_MS}")
        return conn

    def migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Run the missing steps of ``schema.sql`` in one transaction, under an advisory
        lock so that processes starting together on an empty database take turns."""
        steps = load_queries(__name__, "schema.sql")
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = 0")  # wait for whoever migrates first
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS runstream_schema ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM runstream_schema").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database schema {version} is newer than this runstream ({SCHEMA_VERSION})"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                conn.execute(steps[f"migrate_{target}"].encode())
                conn.execute("INSERT INTO runstream_schema (version) VALUES (%s)", (target,))

    def tx(self, conn: psycopg.Connection[Any], now: int, pipeline: Any = None) -> PostgresTx:
        return PostgresTx(conn, self.queries, now, pipeline)

    def clock(self, conn: psycopg.Connection[Any]) -> int:
        """The database's clock, so every process stamps rows and leases alike."""
        row = conn.execute(_CLOCK).fetchone()
        assert row is not None
        return int(row[0])

    def open_transaction(self, conn: psycopg.Connection[Any]) -> int:
        if _pipelined(conn):  # pipelined: one round trip anyway
            conn.execute("BEGIN")
            row = conn.execute(_CLOCK).fetchone()
        else:
            cursor = conn.execute(f"BEGIN; {_CLOCK}")  # one round trip for both
            cursor.nextset()
            row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    def next_savepoint(self, conn: psycopg.Connection[Any]) -> None:
        # Savepoints belong to careful runs, which are never pipelined.
        conn.execute("RELEASE SAVEPOINT op; SAVEPOINT op")

    def should_retry(self, exc: Exception) -> bool:
        return isinstance(
            exc,
            pg_errors.DeadlockDetected
            | pg_errors.SerializationFailure
            | pg_errors.LockNotAvailable,
        )

    @contextlib.contextmanager
    def pipeline(self, conn: psycopg.Connection[Any]) -> Iterator[psycopg.Pipeline]:
        """A group's pipeline. An error that comes back after its ``COMMIT`` succeeded is
        the announcement's: the group is committed and must not run again."""
        self._committed = None
        try:
            with conn.pipeline() as pipe:
                yield pipe
        except psycopg.Error as exc:
            done = self._committed.pgresult if self._committed is not None else None
            if done is None or done.status != pq.ExecStatus.COMMAND_OK:
                raise
            _unannounced(exc)

    def commit(self, conn: psycopg.Connection[Any], events: list[Event], wakes: set[Wake]) -> None:
        """Commit, then announce the commit to every listening process, in the same round
        trip but as a transaction of its own: a ``NOTIFY`` inside the committing
        transaction would hold PostgreSQL's cluster-wide notification lock through the WAL
        flush, so the commits of every process would wait for each other's disk writes.
        Nothing uncommitted is ever announced (an aborted pipeline runs nothing after its
        error); a commit whose announcement is lost is found by polling."""
        pipelined = _pipelined(conn)  # if so, it syncs at its end: one round trip for both
        committed = conn.execute("COMMIT")
        if pipelined:
            self._committed = committed
        if not (self.announce and (events or wakes)):
            return
        payloads = encode_hints(self.origin, _positions(events), wakes, events)
        announce = "SELECT " + ", ".join(["pg_notify(%s, %s)"] * len(payloads))
        params = [value for payload in payloads for value in (CHANNEL, payload)]
        if pipelined:  # an error here surfaces when the pipeline syncs (``pipeline``)
            conn.execute(announce, params)
            return
        try:  # a careful run: one statement at a time
            conn.execute(announce, params)
        except psycopg.Error as exc:
            _unannounced(exc)

    def reset(self, conn: psycopg.Connection[Any]) -> bool:
        if conn.closed:
            return False
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            return not conn.closed
        return True


def _unannounced(exc: psycopg.Error) -> None:
    log.warning("a commit went unannounced (%s); other processes poll for it", exc)


def _pipelined(conn: psycopg.Connection[Any]) -> bool:
    return conn.pgconn.pipeline_status != pq.PipelineStatus.OFF


def _positions(events: list[Event]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for event in events:
        newest[event.execution_id] = event.seq  # events of one log come in ascending seq
    return newest


class PostgresStore(LogStore):
    """``postgresql://user@host:port/db`` (or ``postgres://``): many processes, one database."""

    shared = True

    def __init__(self, url: str) -> None:
        self._backend = PostgresBackend(url)
        super().__init__(self._backend, readers=_READERS)
        self._backend.origin = self.origin
        self.bus_url: str | None = url

    def quiet(self) -> None:
        """Stop announcing commits with NOTIFY: another bus carries them."""
        self._backend.announce = False
        self.bus_url = None
