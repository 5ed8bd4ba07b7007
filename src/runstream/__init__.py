"""runstream: durable workflows, tasks and agents whose every execution is a live,
resumable event stream."""

from runstream.engine.attempts import current_task
from runstream.engine.engine import Engine, ExecutionHandle
from runstream.errors import (
    CancelledError,
    ChildWorkflowFailed,
    ExecutionFailed,
    ExecutionNotFound,
    InvalidState,
    LeaseLost,
    NonDeterminismError,
    OperationFailed,
    PromiseRejected,
    RunstreamError,
    StoreError,
    TaskError,
    TaskFailed,
    UnknownKind,
)
from runstream.model import Event, EventType, ExecutionType, RetryPolicy, Snapshot, Status
from runstream.sdk.context import AgentContext, TaskContext, WorkflowContext
from runstream.sdk.registry import App

__all__ = [
    "AgentContext",
    "App",
    "CancelledError",
    "ChildWorkflowFailed",
    "Engine",
    "Event",
    "EventType",
    "ExecutionFailed",
    "ExecutionHandle",
    "ExecutionNotFound",
    "ExecutionType",
    "InvalidState",
    "LeaseLost",
    "NonDeterminismError",
    "OperationFailed",
    "PromiseRejected",
    "RetryPolicy",
    "RunstreamError",
    "Snapshot",
    "Status",
    "StoreError",
    "TaskContext",
    "TaskError",
    "TaskFailed",
    "UnknownKind",
    "WorkflowContext",
    "current_task",
]
__version__ = "0.1.0"
