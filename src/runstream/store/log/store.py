"""``LogStore``: the ``Store`` contract met by running the transitions on a ``Database``."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from runstream.model import ApiKey, Event, ExecutionType, NewEvent, Snapshot, Status, new_id
from runstream.observability.metrics import StoreFigures
from runstream.store.base import RECOVERY_LIMIT, Store, StoreListener
from runstream.store.log import executions, keys, reads, retries, tasks, workflows
from runstream.store.log.database import Backend, Database
from runstream.store.log.tx import Tx, append
from runstream.store.records import (
    Activation,
    Committed,
    Created,
    History,
    Leased,
    NewExecution,
    TaskClaim,
)


class LogStore(Store):
    """Every method is one transition: writes group-commit on the writer thread, reads run
    on a reader connection. Backends subclass it to add what opening needs (a file lock)."""

    def __init__(self, backend: Backend, *, readers: int = 1) -> None:
        self._db = Database(backend, readers=readers)
        self.origin = new_id()

    @property
    def commits(self) -> int:
        """Write transactions committed so far."""
        return self._db.commits

    async def open(self, listener: StoreListener) -> None:
        self._db.start(listener)

    async def close(self) -> None:
        await self._db.stop()

    async def create_execution(
        self, new: NewExecution, *, lease_to: str | None = None, lease: float = 0.0
    ) -> Created:
        return await self._db.write(executions.create_execution, new, lease_to, lease)

    async def get_snapshot(self, execution_id: str) -> Snapshot:
        return await self._db.read(reads.get_snapshot, execution_id)

    async def log_position(self, execution_id: str) -> tuple[Status, int]:
        return await self._db.read(reads.log_position, execution_id)

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
        return await self._db.read(reads.list_executions, org, type, status, kind, limit, cursor)

    async def log_positions(self, execution_ids: Sequence[str]) -> dict[str, int]:
        if not execution_ids:
            return {}
        return await self._db.read(reads.log_positions, list(execution_ids))

    async def read_events(
        self, execution_id: str, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[Event]:
        return await self._db.read(reads.read_events, execution_id, after, limit, max_bytes)

    async def find_event(self, execution_id: str, type: str, nth: int) -> Event | None:
        return await self._db.read(reads.find_event, execution_id, type, nth)

    async def children_of(self, execution_id: str) -> list[str]:
        return await self._db.read(reads.children_of, execution_id)

    async def figures(self) -> StoreFigures:
        return await self._db.read(reads.figures)

    async def request_cancel(self, execution_id: str, reason: str | None) -> None:
        await self._db.write(executions.cancel, execution_id, reason)

    async def post_message(self, execution_id: str, message_id: str, payload: Any) -> int:
        return await self._db.write(executions.post_message, execution_id, message_id, payload)

    async def read_message(self, execution_id: str, message_id: str) -> Any:
        return await self._db.read(reads.read_message, execution_id, message_id)

    async def consume_message(
        self, execution_id: str, message_id: str, task_id: str, attempt: int
    ) -> None:
        await self._db.write(executions.consume_message, execution_id, message_id, task_id, attempt)

    async def close_input(self, execution_id: str) -> bool:
        return await self._db.write(executions.close_input, execution_id)

    async def settle_promise(
        self, execution_id: str, name: str, *, value: Any = None, error: str | None = None
    ) -> None:
        await self._db.write(executions.settle_promise, execution_id, name, value, error)

    async def retry_execution(self, execution_id: str, reason: str | None) -> int:
        return await self._db.write(retries.retry, execution_id, reason)

    def append_events(self, events: Sequence[NewEvent]) -> Awaitable[None]:
        return self._db.write(append, list(events))

    async def claim_workflows(self, worker_id: str, limit: int, lease: float) -> list[Leased]:
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
    ) -> Leased | None:
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

    async def expire_leases(self, recovery_limit: int = RECOVERY_LIMIT) -> None:
        await self._db.write(_expire, recovery_limit, None)

    async def release_leases(
        self,
        worker_id: str,
        tasks: dict[str, int],
        workflows: Sequence[str],
        recovery_limit: int = RECOVERY_LIMIT,
    ) -> None:
        await self._db.write(_release, worker_id, dict(tasks), list(workflows), recovery_limit)

    async def reclaim_leases(self, recovery_limit: int = RECOVERY_LIMIT) -> None:
        """Treat every lease as expired: for a backend that knows no other process can hold
        one (the SQLite file lock), at open, so a restart resumes at once."""
        await self._db.write(_expire, recovery_limit, _FOREVER)

    async def fire_timers(self) -> float | None:
        return await self._db.write(workflows.fire_timers)

    async def create_key(self, key_id: str, org: str, name: str | None, hash: bytes) -> ApiKey:
        return await self._db.write(keys.create_key, key_id, org, name, hash)

    async def find_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        return await self._db.read(keys.find_key, key_id)

    async def list_keys(self, org: str | None = None) -> list[ApiKey]:
        return await self._db.read(keys.list_keys, org)

    async def revoke_key(self, key_id: str) -> ApiKey | None:
        return await self._db.write(keys.revoke_key, key_id)

    async def touch_key(self, key_id: str) -> None:
        await self._db.write(keys.touch_key, key_id)

    async def server_secret(self, name: str) -> bytes:
        return await self._db.write(keys.server_secret, name)


_FOREVER = 1 << 62


def _release(
    tx: Tx, worker_id: str, attempts: dict[str, int], ids: list[str], recovery_limit: int
) -> None:
    tasks.release_tasks(tx, worker_id, attempts, recovery_limit)
    workflows.release_workflows(tx, worker_id, ids)


def _expire(tx: Tx, recovery_limit: int, before: int | None) -> None:
    tasks.expire_task_leases(tx, recovery_limit, tx.now if before is None else before)
    workflows.release_expired_workflows(tx, tx.now if before is None else before)
