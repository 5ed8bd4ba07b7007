"""What the engine and the store hand each other: executions to create, histories to
replay, activations to commit, task attempts to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from runstream.model import ExecutionType, RetryPolicy, Snapshot, Status


@dataclass(frozen=True, slots=True)
class NewExecution:
    """An execution to create."""

    id: str
    org: str
    kind: str
    type: ExecutionType
    input: Any
    parent_id: str | None = None
    parent_step: int | None = None
    max_retries: int = 0
    """Standalone tasks only."""
    max_recoveries: int | None = None
    """Standalone tasks only: lost workers it survives (None: the engine's limit)."""
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    trace: str | None = None
    """Trace context of the request that started it (``observability.tracing.carrier``);
    children and tasks inherit their workflow's."""
    accepts_messages: bool = False
    """Standalone tasks only: messages may be posted to it while its input is open
    (Claude Code tasks)."""


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One recorded step of a workflow's history."""

    step: int
    """Position in the workflow's sequence of steps, from 1."""
    kind: str
    """``task``, ``sleep``, ``promise``, ``child``, ``operation``, ``receive``, ``state``."""
    name: str
    status: Literal["pending", "done", "failed", "cancelled", "timeout"]
    result: Any = None
    """The outcome's value (a ``state`` step: the value it set)."""
    error: str | None = None
    batch: int | None = None
    """The activation batch that fed the outcome to the code; None while not yet fed."""
    ref: str | None = None
    """Task, timer or child id the step waits on."""


@dataclass(frozen=True, slots=True)
class History:
    """What a workflow activation needs to replay and continue."""

    execution_id: str
    kind: str
    input: Any
    last_batch: int
    """Highest batch whose commands and emitted events are committed (-1: none)."""
    cancel_requested: bool
    cancel_reason: str | None
    cancel_batch: int | None
    """The batch in which the cancellation was fed to the code (None: not yet)."""
    steps: list[StepRecord]
    trace: str | None = None
    """Trace context the execution was started in."""
    retries: int = 0
    """Manual retries so far: a retry rewrites history, so an instance cached before it is
    stale even when its batch number matches."""
    complete: bool = True
    """False: ``steps`` holds only the steps resolved since batch ``last_batch`` (what a
    worker still holding the code of that batch in memory feeds next)."""


@dataclass(frozen=True, slots=True)
class Leased:
    """A workflow leased to a worker for an activation."""

    execution_id: str
    history: History | None = None
    """What the leasing transaction knew of the history, so the activation need not read
    it: all of it for a workflow that never ran, or the steps resolved since its last
    activation (``complete`` false). None: the activation reads it."""


@dataclass(frozen=True, slots=True)
class Created:
    """What ``Store.create_execution`` made."""

    snapshot: Snapshot
    """The execution as created (what ``get_snapshot`` answered at that moment)."""
    leased: Leased | None = None
    """The new workflow, leased in the same transaction to the worker that asked for it."""


@dataclass(frozen=True, slots=True)
class Command:
    """A new step (or emission) produced by an activation, in the order the code made it."""

    kind: Literal[
        "task", "sleep", "promise", "child", "operation", "receive", "state", "clear", "emit"
    ]
    step: int = 0
    name: str = ""
    input: Any = None
    """Task/child input, state value, operation result, or emitted event data."""
    ref: str | None = None
    """Id of the task, timer or child created for the step."""
    seconds: float | None = None
    """Sleep duration or wait timeout."""
    max_retries: int = 0
    max_recoveries: int | None = None
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    error: str | None = None
    """Operation failure."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the workflow ended; None while it still waits."""

    status: Literal[Status.COMPLETED, Status.FAILED, Status.CANCELLED]
    output: Any = None
    error: str | None = None
    step: int | None = None
    """For a failure: the step whose failure the code let out (a manual retry runs it
    again); None when the code failed by itself."""


@dataclass(slots=True)
class Activation:
    """The result of running a workflow to quiescence, committed atomically."""

    execution_id: str
    worker_id: str
    batch: int
    """The batch number this commit completes."""
    fed: list[int] = field(default_factory=list)
    """Steps whose outcome was fed in this batch."""
    cancelled: list[int] = field(default_factory=list)
    """Pending steps the fed cancellation resolved; their tasks/timers/children are cancelled."""
    cancel_fed: bool = False
    """The cancellation was fed to the code in this batch."""
    commands: list[Command] = field(default_factory=list)
    outcome: Outcome | None = None
    suspend_type: str | None = None
    """Kind of the earliest pending step, reported by WORKFLOW_SUSPENDED."""
    claim_tasks: int = 0
    """Start up to this many of the tasks this activation creates for ``worker_id`` in the
    same transaction (the worker has that many free slots): saves a claim round trip."""
    lease: float = 30.0
    """Lease of those task attempts, seconds."""


@dataclass(frozen=True, slots=True)
class Committed:
    """What committing an activation hands back to the runner."""

    ready: list[StepRecord]
    """Steps to feed at once; non-empty means the lease was kept and the activation goes on."""
    claims: list[TaskClaim]
    """Task attempts started for the activating worker (``Activation.claim_tasks``)."""


@dataclass(frozen=True, slots=True)
class TaskClaim:
    """A task attempt handed to a worker."""

    id: str
    execution_id: str
    """The log the task's events go to."""
    workflow_id: str | None
    kind: str
    input: Any
    attempt: int
    max_retries: int
    retry_policy: RetryPolicy
    timeout: float | None
    trace: str | None = None
    """Trace context the task's execution was started in."""
