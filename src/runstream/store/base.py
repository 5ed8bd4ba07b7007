"""The store contract: every backend implements ``Store``; the docstrings are the contract.

Every method that changes state appends the lifecycle events reporting that change in the
same transaction, and hands the committed events to the listener after the commit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from typing import Any, Literal, Protocol

from runstream.model import (
    ApiKey,
    Event,
    ExecutionType,
    NewEvent,
    Snapshot,
    Status,
)
from runstream.observability.metrics import StoreFigures
from runstream.store.records import (
    Activation,
    Committed,
    Created,
    History,
    Leased,
    NewExecution,
    TaskClaim,
)

Wake = Literal["tasks", "workflows", "timers"]


class StoreListener(Protocol):
    """Told about commits; how the engine learns of new events without polling."""

    def on_events(self, events: Sequence[Event]) -> None:
        """Events just committed, in commit order (per execution: ascending seq)."""

    def on_wake(self, what: frozenset[Wake]) -> None:
        """Work may be available: tasks to claim, workflows to activate, timers to arm."""


RECOVERY_LIMIT = 10
"""Lease expiries a task survives (its worker was lost) before it fails as "worker lost"."""


class Store(ABC):
    """Durable state of executions; one implementation per backend, chosen by URL."""

    shared: bool = False
    """Other processes may write this store: an engine learns of their commits from a bus
    and, as a fallback, by polling."""
    bus_url: str | None = None
    """The store's own bus (PostgreSQL: LISTEN/NOTIFY on the same URL), None without one."""
    origin: str = ""
    """Names this store instance in the hints its commits announce."""

    def quiet(self) -> None:
        """Stop announcing commits on the store's own bus: another one carries them."""
        return None

    @abstractmethod
    async def open(self, listener: StoreListener) -> None:
        """Connect, migrate the schema to the current version, remember the listener."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    # -- executions ----------------------------------------------------------------------
    @abstractmethod
    async def create_execution(
        self, new: NewExecution, *, lease_to: str | None = None, lease: float = 0.0
    ) -> Created:
        """Create a workflow (``WORKFLOW_CREATED``, ready to activate) or a standalone task
        (``TASK_CREATED`` in its own log, ready to claim); its snapshot as created.

        With ``lease_to``, a workflow is leased to that worker for ``lease`` seconds in the
        same transaction (``WORKFLOW_STARTED``) and comes back in ``Created.leased``: the
        process starting it activates it at once, with no claim and no wake-up."""

    @abstractmethod
    async def get_snapshot(self, execution_id: str) -> Snapshot:
        """The execution with its tasks, state, promises and children; raises
        ``ExecutionNotFound``."""

    @abstractmethod
    async def log_position(self, execution_id: str) -> tuple[Status, int]:
        """The execution's status and the seq of its newest event (a cheap read for
        deciding whether a log is finished); raises ``ExecutionNotFound``."""

    @abstractmethod
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
        """A page of execution summaries, newest first (no task/state detail, and input and
        output are not loaded: ``None``), and the cursor of the next page (None at the end);
        raises ``ValueError`` on a malformed cursor."""

    @abstractmethod
    async def log_positions(self, execution_ids: Sequence[str]) -> dict[str, int]:
        """The newest seq of each of these logs (unknown ids are left out): one query for
        every log a process watches, the fallback when a wake-up was lost."""

    @abstractmethod
    async def read_events(
        self, execution_id: str, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[Event]:
        """Events of one log with ``seq > after``, ascending, at most ``limit``; with
        ``max_bytes``, only as many as keep their stored data within that many bytes (at
        least one), so a page of large events stays small."""

    @abstractmethod
    async def find_event(self, execution_id: str, type: str, nth: int) -> Event | None:
        """The ``nth`` (from 1) event of ``type`` in one log, or None when there are fewer."""

    @abstractmethod
    async def children_of(self, execution_id: str) -> list[str]:
        """Ids of the direct children of a workflow, in creation order."""

    @abstractmethod
    async def figures(self) -> StoreFigures:
        """Counts for operators, over the whole store: unfinished executions by type and
        status, due and running task attempts, the oldest due attempt's wait, due timers,
        and the processes holding leases."""

    # -- requests from outside -----------------------------------------------------------
    @abstractmethod
    async def request_cancel(self, execution_id: str, reason: str | None) -> None:
        """Ask a non-terminal execution to cancel (``CANCELLATION_REQUESTED`` once); a
        pending standalone task is cancelled at once. No-op when terminal or already asked."""

    @abstractmethod
    async def post_message(self, execution_id: str, message_id: str, payload: Any) -> int:
        """Queue a message (``MESSAGE_RECEIVED``) for a workflow's ``receive()`` or for a
        standalone task that accepts messages, and return how many of the execution's
        messages are now queued but not consumed. ``InvalidState`` when the execution is
        terminal, is a task that takes no messages, or closed its input."""

    @abstractmethod
    async def read_message(self, execution_id: str, message_id: str) -> Any:
        """The payload of a message posted to the execution; ``InvalidState`` if unknown."""

    @abstractmethod
    async def consume_message(
        self, execution_id: str, message_id: str, task_id: str, attempt: int
    ) -> None:
        """A standalone task attempt has delivered the message: ``MESSAGE_CONSUMED`` the first
        time (a later attempt delivering it again records nothing)."""

    @abstractmethod
    async def close_input(self, execution_id: str) -> bool:
        """Stop a standalone task from taking messages, unless one is queued and not yet
        consumed (then False: it must deliver that first). Later ``post_message`` calls
        raise ``InvalidState``."""

    @abstractmethod
    async def settle_promise(
        self, execution_id: str, name: str, *, value: Any = None, error: str | None = None
    ) -> None:
        """Resolve (error None) or reject a promise, first write wins; creates it when the
        workflow has not awaited it yet. ``InvalidState`` when it was settled otherwise or
        the workflow is terminal."""

    @abstractmethod
    async def retry_execution(self, execution_id: str, reason: str | None) -> int:
        """Reopen a FAILED execution for a manual retry and return the retry's number (1,
        2, …), carried by the ``RETRY_REQUESTED`` appended after the old terminal event.

        A workflow is rewound to just before the batch that handed its failure to the code:
        steps made from that batch on are dropped; earlier steps keep their successes (fed
        again, not re-run), while a task that failed for good or was cancelled by the
        failure gets a new attempt with a fresh retry budget, a failed child (or one the
        failure cancelled) is retried in place (its own ``RETRY_REQUESTED``), cancelled
        timers and waits are armed again and a failed operation runs again; the workflow
        is then ready for an activation (which must not reuse an instance cached before
        the retry: ``History.retries``). A standalone task gets a new attempt with a fresh
        budget. ``InvalidState`` (nothing changed) unless the execution is FAILED: of two
        concurrent retries one wins; ``ExecutionNotFound`` for an unknown id."""

    # -- emitted events ------------------------------------------------------------------
    @abstractmethod
    def append_events(self, events: Sequence[NewEvent]) -> Awaitable[None]:
        """Append data events to their logs (no state change). The events are taken at
        call time: they commit before any write this process asks for afterwards, so a
        task's output is in its log before its end."""

    # -- workflow activations ------------------------------------------------------------
    @abstractmethod
    async def claim_workflows(self, worker_id: str, limit: int, lease: float) -> list[Leased]:
        """Lease up to ``limit`` workflows that need an activation (something they wait on
        happened, or a previous lease expired), emitting ``WORKFLOW_STARTED`` or
        ``WORKFLOW_RESUMED`` as their status changes to RUNNING."""

    @abstractmethod
    async def heartbeat_workflows(self, worker_id: str, ids: Sequence[str], lease: float) -> None:
        """Extend the leases this worker holds on workflows it is activating."""

    @abstractmethod
    async def load_history(self, execution_id: str) -> History:
        """The workflow's input, cancel flags and every recorded step."""

    @abstractmethod
    async def commit_activation(self, activation: Activation) -> Committed:
        """Apply an activation atomically: mark fed steps with the batch, record new steps
        and their events, cancel what the cancellation resolved, end or suspend the
        workflow, and start up to ``claim_tasks`` of the new tasks for the worker. When
        steps are ready to feed at once (operations, settled promises, messages, anything
        resolved meanwhile) the lease is kept and they are returned; otherwise the lease is
        released. Raises ``LeaseLost`` if the worker no longer holds the lease."""

    # -- tasks ---------------------------------------------------------------------------
    @abstractmethod
    async def claim_tasks(
        self, worker_id: str, limit: int, lease: float
    ) -> tuple[list[TaskClaim], float | None]:
        """Lease up to ``limit`` due tasks (``TASK_STARTED``, attempt + 1) and tell when the
        next pending task becomes due (epoch seconds, None if none is scheduled)."""

    @abstractmethod
    async def heartbeat_tasks(
        self, worker_id: str, attempts: dict[str, int], lease: float
    ) -> set[str]:
        """Extend the leases of running attempts; returns the task ids this worker no
        longer holds (expired, cancelled or superseded)."""

    @abstractmethod
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
        """Record an attempt's end after appending its buffered ``events``: completed (error
        None) or failed — retried with backoff while attempts remain and ``retryable``.
        Wakes the owning workflow when its step is resolved; with ``resume_for``, leases it
        to that worker in the same transaction instead when it can run now, and returns the
        lease (None otherwise). Raises ``LeaseLost`` for a stale attempt."""

    @abstractmethod
    async def expire_leases(self, recovery_limit: int = RECOVERY_LIMIT) -> None:
        """Free expired leases. A task attempt whose lease expired lost its worker, which is
        not the task's fault: ``TASK_FAILED`` (``willRetry``) and a new attempt at once,
        without spending a retry, until the task has lost ``recovery_limit`` workers; then
        it fails for good ("worker lost"). Expired workflow leases become claimable."""

    @abstractmethod
    async def release_leases(
        self,
        worker_id: str,
        tasks: dict[str, int],
        workflows: Sequence[str],
        recovery_limit: int = RECOVERY_LIMIT,
    ) -> None:
        """A stopping worker gives up what it holds: the task attempts (id → attempt) end
        as lost (``TASK_FAILED``, ``willRetry``, no retry spent, run again at once) and the
        workflows become claimable at once. Leases it no longer holds are left alone."""

    # -- timers --------------------------------------------------------------------------
    @abstractmethod
    async def fire_timers(self) -> float | None:
        """Fire every due timer (sleep: ``TIMER_FIRED``; wait timeouts resolve their step
        with a timeout) and return when the next one is due (epoch seconds) or None."""

    # -- API keys and server secrets (SPEC §10) ------------------------------------------
    @abstractmethod
    async def create_key(self, key_id: str, org: str, name: str | None, hash: bytes) -> ApiKey:
        """Record a new API key by its public id and the SHA-256 of the key (the key itself
        is never stored); returns it with its creation time."""

    @abstractmethod
    async def find_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        """The key with that public id and its stored hash, revoked or not; None if unknown."""

    @abstractmethod
    async def list_keys(self, org: str | None = None) -> list[ApiKey]:
        """Every key (of ``org`` when given), revoked ones included, ordered by org, creation
        time, then id."""

    @abstractmethod
    async def revoke_key(self, key_id: str) -> ApiKey | None:
        """Revoke a key (revoking twice keeps the first time); None if the id is unknown."""

    @abstractmethod
    async def touch_key(self, key_id: str) -> None:
        """Record that the key was just used (``last_used_at``)."""

    @abstractmethod
    async def server_secret(self, name: str) -> bytes:
        """The random secret called ``name``, created on first use; every process gets the
        same bytes, before and after restarts."""
