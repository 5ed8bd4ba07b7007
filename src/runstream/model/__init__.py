"""Value objects shared by every layer: events, statuses, ids, retry policy, API keys."""

from runstream.model.events import Event, EventType, NewEvent
from runstream.model.execution import (
    ChildInfo,
    ExecutionType,
    PromiseInfo,
    Snapshot,
    Status,
    TaskInfo,
)
from runstream.model.ids import is_uuid, new_id
from runstream.model.keys import ApiKey
from runstream.model.retry import RetryPolicy

__all__ = [
    "ApiKey",
    "ChildInfo",
    "Event",
    "EventType",
    "ExecutionType",
    "NewEvent",
    "PromiseInfo",
    "RetryPolicy",
    "Snapshot",
    "Status",
    "TaskInfo",
    "is_uuid",
    "new_id",
]
