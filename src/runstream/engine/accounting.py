"""Engine figures counted from the events this process commits: one place, no hooks in the
transitions, and a retried commit is never counted twice."""

from __future__ import annotations

from collections.abc import Sequence

from runstream.model import Event, EventType
from runstream.observability import metrics

_WORKFLOW_ENDS: dict[str, str] = {
    EventType.WORKFLOW_COMPLETED: "COMPLETED",
    EventType.WORKFLOW_FAILED: "FAILED",
    EventType.WORKFLOW_CANCELLED: "CANCELLED",
}
_TASK_ENDS: dict[str, str] = {
    EventType.TASK_COMPLETED: "COMPLETED",
    EventType.TASK_FAILED: "FAILED",
    EventType.TASK_CANCELLED: "CANCELLED",
}


def count(events: Sequence[Event]) -> None:
    """Count executions started and finished, task attempts, retries (automatic and manual)
    and lease expiries. A manually retried execution counts as finished again when its new
    run ends."""
    for event in events:
        if not event.type.isupper():
            continue
        data = event.data if isinstance(event.data, dict) else {}
        kind = str(data.get("kind", ""))
        standalone = event.task_id is not None and event.task_id == event.execution_id
        if event.type == EventType.WORKFLOW_CREATED:
            metrics.EXECUTIONS_STARTED.labels("workflow", kind).inc()
        elif event.type == EventType.TASK_CREATED and standalone:
            metrics.EXECUTIONS_STARTED.labels("task", kind).inc()
        elif event.type in _WORKFLOW_ENDS:
            metrics.EXECUTIONS_FINISHED.labels("workflow", kind, _WORKFLOW_ENDS[event.type]).inc()
        elif event.type == EventType.RETRY_REQUESTED:
            metrics.MANUAL_RETRIES.labels(str(data.get("targetType", ""))).inc()
        elif event.type == EventType.TASK_STARTED:
            metrics.TASK_ATTEMPTS.inc()
        elif event.type in _TASK_ENDS:
            will_retry = bool(data.get("willRetry"))
            if will_retry:
                metrics.TASK_RETRIES.inc()
            if str(data.get("error") or "").startswith("lease expired"):
                metrics.LEASE_EXPIRIES.inc()
            if standalone and not will_retry:
                metrics.EXECUTIONS_FINISHED.labels("task", kind, _TASK_ENDS[event.type]).inc()
