"""Errors raised by runstream.

The tree::

    BaseException
    ├── CancelledError                 workflow cancellation, delivered at the current await
    └── Exception
        └── RunstreamError
            ├── ExecutionNotFound      unknown (or other org's) execution id
            ├── UnknownKind            no workflow or task registered under that name
            ├── InvalidState           wrong state for the request (e.g. finished)
            ├── StoreError             the store failed (driver errors translated)
            ├── TooManyStreams         a stream limit is reached (per process or per org)
            ├── LeaseLost              a result from an expired or superseded lease
            ├── NonDeterminismError    code diverged from its history (names the step)
            ├── TaskError              raised by task code to fail an attempt
            ├── TaskFailed             a task failed for good (raised in the workflow)
            ├── ChildWorkflowFailed    a child failed or was cancelled (in the parent)
            ├── PromiseRejected        a promise was rejected (in the workflow)
            ├── OperationFailed        a recorded operation raised (in the workflow)
            └── ExecutionFailed        ``result()`` of a failed or cancelled execution
"""

from __future__ import annotations


class CancelledError(BaseException):
    """The workflow was cancelled; ``except Exception`` cannot swallow it."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "cancelled")
        self.reason = reason


class RunstreamError(Exception):
    """Root of every runstream error."""


class ExecutionNotFound(RunstreamError):
    """No execution with that id (in that org)."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"execution {execution_id} not found")
        self.execution_id = execution_id


class UnknownKind(RunstreamError):
    """No workflow or task of that name is registered on the app."""

    def __init__(self, kind: str, what: str = "workflow or task") -> None:
        super().__init__(f"unknown {what} kind {kind!r}")
        self.kind = kind


class InvalidState(RunstreamError):
    """The execution cannot accept the request in its current state."""

    def __init__(self, execution_id: str, message: str) -> None:
        super().__init__(message)
        self.execution_id = execution_id


class StoreError(RunstreamError):
    """The store failed; the driver's error is the ``__cause__``."""


class TooManyStreams(RunstreamError):
    """Opening one more stream would pass a limit; the client may retry later."""

    def __init__(self, scope: str, limit: int, retry_after: int) -> None:
        where = "this server" if scope == "process" else f"organisation {scope!r}"
        super().__init__(f"too many open streams for {where} (limit {limit}); retry later")
        self.scope = scope
        """``process``, or the organisation whose limit was reached."""
        self.limit = limit
        self.retry_after = retry_after
        """Seconds a client should wait before trying again."""


class LeaseLost(RunstreamError):
    """A task result arrived from a lease that expired or was superseded."""

    def __init__(self, task_id: str, attempt: int) -> None:
        super().__init__(f"task {task_id} attempt {attempt} no longer holds its lease")
        self.task_id = task_id
        self.attempt = attempt


class NonDeterminismError(RunstreamError):
    """Workflow code asked for something other than what its history recorded."""

    def __init__(self, execution_id: str, step: int, message: str) -> None:
        super().__init__(f"non-deterministic workflow at step {step}: {message}")
        self.execution_id = execution_id
        self.step = step


class TaskError(RunstreamError):
    """Raise from task code to fail the attempt; ``retryable=False`` skips remaining retries."""

    def __init__(self, message: str, *, retryable: bool = True, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class TaskFailed(RunstreamError):
    """A task failed for good (all attempts used, or not retryable)."""

    def __init__(self, kind: str, task_id: str, error: str) -> None:
        super().__init__(f"task {kind} ({task_id}) failed: {error}")
        self.kind = kind
        self.task_id = task_id
        self.error = error


class ChildWorkflowFailed(RunstreamError):
    """A child workflow ended FAILED or CANCELLED."""

    def __init__(self, kind: str, child_id: str, status: str, error: str | None) -> None:
        super().__init__(f"child workflow {kind} ({child_id}) {status.lower()}: {error}")
        self.kind = kind
        self.child_id = child_id
        self.status = status
        self.error = error


class PromiseRejected(RunstreamError):
    """The promise was rejected from outside."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__(f"promise {name!r} rejected: {error}")
        self.name = name
        self.error = error


class OperationFailed(RunstreamError):
    """A recorded operation raised; the failure is part of history."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__(f"operation {name!r} failed: {error}")
        self.name = name
        self.error = error


class ExecutionFailed(RunstreamError):
    """The execution ended FAILED or CANCELLED."""

    def __init__(self, execution_id: str, status: str, error: str | None) -> None:
        super().__init__(f"execution {execution_id} {status.lower()}: {error}")
        self.execution_id = execution_id
        self.status = status
        self.error = error
