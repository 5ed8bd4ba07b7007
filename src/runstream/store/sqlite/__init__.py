"""The embedded backend: one SQLite file in WAL mode, one writer thread, group commit."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from runstream.errors import StoreError
from runstream.model import Event, ExecutionType, NewEvent, Snapshot, Status
from runstream.store.base import (
    Activation,
    Committed,
    History,
    NewExecution,
    Store,
    StoreListener,
    TaskClaim,
)
from runstream.store.sqlite import executions, tasks, workflows
from runstream.store.sqlite.connection import Database, Tx, load_queries

SCHEMA_VERSION = 1


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file's schema up to ``SCHEMA_VERSION``, one numbered step at a time."""
    steps = load_queries("schema.sql")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database schema {version} is newer than this runstream ({SCHEMA_VERSION})"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        for statement in steps[f"migrate_{target}"].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")


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


class SqliteStore(Store):
    """``sqlite:///path/to/file.db``: the embedded default, one process per file."""

    def __init__(self, path: str) -> None:
        if path in ("", ":memory:"):
            raise ValueError("the SQLite store needs a file path (sqlite:///./runstream.db)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock: int | None = None
        self._db = Database(path, load_queries("queries.sql"))

    @property
    def commits(self) -> int:
        """Write transactions committed so far."""
        return self._db.commits

    async def open(self, listener: StoreListener) -> None:
        self._lock = _lock_file(self._path)
        self._db.start(listener, _migrate)

    async def close(self) -> None:
        await self._db.stop()
        if self._lock is not None:
            os.close(self._lock)  # closing releases the lock
            self._lock = None

    async def create_execution(self, new: NewExecution) -> None:
        await self._db.write(executions.create_execution, new)

    async def get_snapshot(self, execution_id: str) -> Snapshot:
        return await self._db.read(executions.get_snapshot, execution_id)

    async def log_position(self, execution_id: str) -> tuple[Status, int]:
        return await self._db.read(executions.log_position, execution_id)

    async def list_executions(
        self,
        *,
        org: str,
        type: ExecutionType,
        status: Status | None,
        kind: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Snapshot], str | None]:
        return await self._db.read(
            executions.list_executions, org, type, status, kind, limit, cursor
        )

    async def read_events(self, execution_id: str, after: int, limit: int) -> list[Event]:
        return await self._db.read(executions.read_events, execution_id, after, limit)

    async def children_of(self, execution_id: str) -> list[str]:
        return await self._db.read(executions.children_of, execution_id)

    async def request_cancel(self, execution_id: str, reason: str | None) -> None:
        await self._db.write(executions.cancel, execution_id, reason)

    async def post_message(self, execution_id: str, message_id: str, payload: Any) -> None:
        await self._db.write(executions.post_message, execution_id, message_id, payload)

    async def settle_promise(
        self, execution_id: str, name: str, *, value: Any = None, error: str | None = None
    ) -> None:
        await self._db.write(executions.settle_promise, execution_id, name, value, error)

    def append_events(self, events: Sequence[NewEvent]) -> Awaitable[None]:
        return self._db.write(Tx.append, list(events))

    async def claim_workflows(self, worker_id: str, limit: int, lease: float) -> list[str]:
        return await self._db.write(workflows.claim_workflows, worker_id, limit, lease)

    async def heartbeat_workflows(self, worker_id: str, ids: Sequence[str], lease: float) -> None:
        await self._db.write(workflows.heartbeat_workflows, worker_id, list(ids), lease)

    async def load_history(self, execution_id: str) -> History:
        return await self._db.read(workflows.load_history, execution_id)

    async def commit_activation(self, activation: Activation) -> Committed:
        return await self._db.write(workflows.commit_activation, activation)

    async def claim_tasks(
        self, worker_id: str, limit: int, lease: float
    ) -> tuple[list[TaskClaim], float | None]:
        return await self._db.write(tasks.claim_tasks, worker_id, limit, lease)

    async def heartbeat_tasks(
        self, worker_id: str, attempts: dict[str, int], lease: float
    ) -> set[str]:
        return await self._db.write(tasks.heartbeat_tasks, worker_id, attempts, lease)

    async def finish_task(
        self,
        task_id: str,
        attempt: int,
        worker_id: str,
        *,
        output: Any = None,
        error: str | None = None,
        retryable: bool = True,
        events: Sequence[NewEvent] = (),
        resume_for: str | None = None,
        lease: float = 30.0,
    ) -> str | None:
        return await self._db.write(
            tasks.finish_task,
            task_id,
            attempt,
            worker_id,
            output,
            error,
            retryable,
            list(events),
            resume_for,
            lease,
        )

    async def expire_leases(self) -> None:
        await self._db.write(_expire)

    async def fire_timers(self) -> float | None:
        return await self._db.write(workflows.fire_timers)


def _expire(tx: Tx) -> None:
    tasks.expire_task_leases(tx)
    workflows.release_expired_workflows(tx)
