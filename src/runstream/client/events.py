"""Events of a native stream (SPEC §7.1), decoded from their SSE frames.

The native wire format keeps what a browser needs and drops the rest: a ``token``
frame is just the text, a ``progress`` frame just the number. ``StreamEvent`` holds
what the frame carries; the events page (``Client.events``) has every stored field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson

from runstream.client.sse import ServerSentEvent
from runstream.model.events import AGENT, PROCESS, TASK_TERMINAL, WORKFLOW_TERMINAL, EventType

_TAGGED = frozenset(AGENT | PROCESS | {EventType.MESSAGE_RECEIVED, EventType.MESSAGE_CONSUMED})
_TERMINAL = frozenset(WORKFLOW_TERMINAL | TASK_TERMINAL)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event received on a stream."""

    id: str
    """The SSE id: the event's seq in one execution's log, or an opaque cursor in a
    consolidated stream. Resume after it with ``Client.stream(..., after=id)``."""
    type: str
    """A lifecycle name (``TASK_COMPLETED``), ``token``, ``progress``, ``data``, ``error``,
    or an agent, message or process type (``tool_call``, ``MESSAGE_CONSUMED``, ``claude``)."""
    data: Any
    """Lifecycle: the event's data object. ``token``: the text. ``progress``: the number.
    ``error``: the message. ``data``: the JSON value. Agent and message events: their
    object without ``type``; ``claude``: ``{"line": the Claude Code line}``; ``log``:
    ``{"text": the stderr line}``."""
    timestamp_ms: int | None = None
    """Server time of a lifecycle event; other frames carry none."""
    task_id: str | None = None
    """The task whose attempt recorded the event (streams opened with ``include_task``)."""
    attempt: int | None = None
    """That attempt's number (1, 2, …): output of an attempt that failed and was retried
    is superseded by the next attempt's."""

    @property
    def is_lifecycle(self) -> bool:
        """True for events the engine records for state changes."""
        return self.timestamp_ms is not None

    def ends(self, execution_id: str) -> bool:
        """True when this is the terminal event of execution ``execution_id``."""
        if self.type not in _TERMINAL or not isinstance(self.data, dict):
            return False
        return self.data.get("id") == execution_id and not self.data.get("willRetry")

    def reopens(self, execution_id: str) -> bool:
        """True when this is a manual retry of execution ``execution_id``: its log goes on
        after the terminal event seen before."""
        return (
            self.type == EventType.RETRY_REQUESTED
            and isinstance(self.data, dict)
            and self.data.get("targetId") == execution_id
        )

    def to_json(self) -> dict[str, Any]:
        """The event as one JSON object (the CLI's JSON-lines output)."""
        body: dict[str, Any] = {"id": self.id, "type": self.type, "data": self.data}
        if self.timestamp_ms is not None:
            body["timestampMs"] = self.timestamp_ms
        if self.task_id is not None:
            body["taskId"] = self.task_id
            body["attempt"] = self.attempt
        return body


def decode(sse: ServerSentEvent) -> StreamEvent:
    """The ``StreamEvent`` a native frame stands for."""
    event = _decode(sse)
    task_id = sse.fields.get("task")
    if not task_id:
        return event
    attempt = sse.fields.get("attempt", "")
    return replace(event, task_id=task_id, attempt=int(attempt) if attempt.isdigit() else None)


def _decode(sse: ServerSentEvent) -> StreamEvent:
    match sse.event:
        case "token" | "error":
            return StreamEvent(sse.id, sse.event, sse.data)
        case "progress":
            return StreamEvent(sse.id, "progress", _json(sse.data))
    value = _json(sse.data)
    if isinstance(value, dict):
        tag = value.get("type")
        if tag == "Event" and isinstance(value.get("event"), str):
            ts = value.get("timestampMs")
            return StreamEvent(
                sse.id, value["event"], value.get("data"), ts if isinstance(ts, int) else 0
            )
        if tag in _TAGGED:
            return StreamEvent(sse.id, tag, {k: v for k, v in value.items() if k != "type"})
    return StreamEvent(sse.id, "data", value)


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
