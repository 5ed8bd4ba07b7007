"""The v0 SSE wire format (seeds 002 and 000, SPEC §7.2): stored events to v0 frames.

Every frame carries the stored event's ``seq`` as its ``id``, so every frame, text
chunks included, resumes with ``Last-Event-ID``::

    id: 2
    event: workflow_start
    data: {"workflowId":"pipeline","ts":"2025-10-22T12:45:03.123Z"}

    id: 9
    event: llm_chunk
    data: Hello

Mapping (one frame per stored event at most):

- ``WORKFLOW_CREATED``: no frame (its id still advances the resume point);
- the first ``WORKFLOW_STARTED``: ``workflow_start``; later ones: ``workflow_status``;
- lifecycle changes (tasks, suspensions, timers, promises, children, operations):
  ``workflow_status`` / ``agent_status`` / ``task_status`` with ``step`` naming the
  task or the wait and ``event`` the stored type;
- ``agent_start``, ``tool_call``, ``structured_delta``: frames of the same name;
  ``token``: ``llm_chunk``;
- the terminal event: ``complete`` (``SUCCESS``) or ``error`` (``FAILED``/``CANCELED``);
- anything else (``tool_result``, ``usage``, progress, custom data, state, soft
  errors, messages): a status frame with ``step`` = the stored type and the payload
  under ``data``.

JSON data carries ``ts`` (RFC 3339, UTC, milliseconds). In *text mode* (an agent or
task without an output schema) an ``llm_chunk`` frame's data is the token's text
itself, line breaks as several ``data:`` lines.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson

from runstream.model import Event, EventType, Status
from runstream.streaming.wire.sse import frame

EVENT_NAMES: Final = (
    "workflow_start",
    "workflow_status",
    "agent_start",
    "agent_status",
    "task_status",
    "tool_call",
    "llm_chunk",
    "structured_delta",
    "complete",
    "error",
)
"""Every ``event:`` name of the v0 API; ``events=`` accepts any of them on every endpoint."""

V0_STATUS: Final = {
    Status.PENDING: "PENDING",
    Status.RUNNING: "RUNNING",
    Status.WAITING: "RUNNING",
    Status.COMPLETED: "SUCCESS",
    Status.FAILED: "FAILED",
    Status.CANCELLED: "CANCELED",
}
"""Our statuses in the v0 vocabulary: a waiting workflow is still running there."""

Frame = tuple[str, bytes]
"""The ``event:`` name of a frame and its bytes (``id:`` line included)."""


class Family(StrEnum):
    """The v0 endpoint family a stream belongs to (the URL segment)."""

    WORKFLOWS = "workflows"
    AGENTS = "agents"
    TASKS = "tasks"

    @property
    def status_event(self) -> str:
        """The name of this family's status frames."""
        return {"workflows": "workflow_status", "agents": "agent_status"}.get(self, "task_status")

    @property
    def noun(self) -> str:
        """``workflow``, ``agent`` or ``task``, for messages."""
        return self.value[:-1]


@dataclass(frozen=True, slots=True)
class Stream:
    """What the encoder needs to know about the execution behind a stream."""

    family: Family
    """Which endpoint serves it."""
    name: str
    """The workflow, agent or task name (``workflowId`` of ``workflow_start``)."""
    text: bool
    """Text mode: ``llm_chunk`` data is the plain token text (never for workflows)."""
    created_at: int
    """When the execution was created, epoch ms (``durationMs`` counts from here)."""


def rfc3339(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC with millisecond fractions: ``…T12:45:03.123Z``."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=256)
def _second(seconds: int) -> str:
    # Events come in bursts within the same second: format each second once.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def add_usage(total: dict[str, int] | None, data: Any) -> dict[str, int] | None:
    """``total`` plus the counters of one ``usage`` event (integer fields are summed)."""
    if not isinstance(data, dict):
        return total
    summed = dict(total or {})
    for key, value in data.items():
        if isinstance(value, int) and not isinstance(value, bool):
            summed[key] = summed.get(key, 0) + value
    return summed if summed else total


def parse_events(raw: str | None) -> frozenset[str] | None:
    """Parse an ``events=`` allowlist: a comma list of v0 names, case-insensitive, trimmed.

    Returns:
        The names, or ``None`` (everything passes) when ``raw`` names nothing.

    Raises:
        ValueError: An item is not a v0 event name; the message names it.
    """
    names: set[str] = set()
    for item in (raw or "").split(","):
        name = item.strip().lower()
        if not name:
            continue
        if name not in EVENT_NAMES:
            raise ValueError(
                f"unknown event {item.strip()!r}: expected any of {', '.join(EVENT_NAMES)}"
            )
        names.add(name)
    return frozenset(names) or None


class Encoder:
    """Turns one execution's stored events, in log order, into v0 frames.

    It remembers what the mapping depends on: whether the execution has started
    (the first ``WORKFLOW_STARTED`` is ``workflow_start``; status frames say
    ``PENDING`` before it) and the ``usage`` seen so far (summed into ``complete``).
    A stream resumed mid-log passes what its prefix held.
    """

    def __init__(
        self, stream: Stream, *, started: bool = False, usage: dict[str, int] | None = None
    ) -> None:
        self.stream = stream
        self.started = started
        """True once the execution's own ``*_STARTED`` event has gone by."""
        self.usage = usage
        """The ``usage`` counters summed so far (None: none yet)."""

    def encode(self, event: Event, *, ends: bool = True) -> Frame | None:
        """The frame for ``event``, or None when it has none (``WORKFLOW_CREATED``).

        ``ends=False`` says a terminal event is not the end of the log: a manual retry
        followed the failure, so it is a status frame (``FAILED``) rather than ``error``.
        """
        body = self._body(event, ends)
        if body is None:
            return None
        name, data = body
        return name, frame(id=str(event.seq), event=name, data=data)

    def _body(self, event: Event, ends: bool) -> tuple[str, str | bytes] | None:
        type, data = event.type, event.data
        if event.is_terminal and ends:
            return self._end(event)
        if type == EventType.TOKEN and self.stream.text:
            return "llm_chunk", data if isinstance(data, str) else orjson.dumps(data).decode()
        ts = rfc3339(event.ts)
        match type:
            case EventType.WORKFLOW_CREATED:
                return None
            case EventType.WORKFLOW_STARTED if not self.started:
                self.started = True
                return "workflow_start", _json({"workflowId": self.stream.name, "ts": ts})
            case EventType.TASK_STARTED if event.task_id == event.execution_id:
                self.started = True
            case EventType.TOKEN:
                text = data if isinstance(data, str) else orjson.dumps(data).decode()
                return "llm_chunk", _json({"content": text, "ts": ts})
            case EventType.AGENT_START | EventType.TOOL_CALL | EventType.STRUCTURED_DELTA:
                fields = data if isinstance(data, dict) else {"data": data}
                return type, _json({**fields, "ts": ts})
            case EventType.USAGE:
                self.usage = add_usage(self.usage, data)
        return self.stream.family.status_event, _json(self._status(event, ts))

    def _status(self, event: Event, ts: str) -> dict[str, Any]:
        status = "RUNNING" if self.started else "PENDING"
        if event.is_terminal:
            status = "FAILED"  # a failure that a manual retry reopened
        step = _step(event)
        if step is None:
            return {"status": status, "step": event.type, "data": event.data, "ts": ts}
        out: dict[str, Any] = {"status": status}
        if step:
            out["step"] = step
        out["event"] = event.type
        error = event.data.get("error") if isinstance(event.data, dict) else None
        if error is not None:
            out["error"] = error
        out["ts"] = ts
        return out

    def _end(self, event: Event) -> tuple[str, bytes]:
        data = event.data if isinstance(event.data, dict) else {}
        ts = rfc3339(event.ts)
        duration = max(0, event.ts - self.stream.created_at)
        if event.type in (EventType.WORKFLOW_COMPLETED, EventType.TASK_COMPLETED):
            out: dict[str, Any] = {"status": "SUCCESS"}
            if data.get("output") is not None:
                out["result"] = data["output"]
            if self.usage is not None:
                out["usage"] = self.usage
            out |= {"durationMs": duration, "ts": ts}
            return "complete", _json(out)
        noun, name = self.stream.family.noun, self.stream.name
        error = data.get("error")
        if event.type in (EventType.WORKFLOW_FAILED, EventType.TASK_FAILED):
            status = "FAILED"
            message = f"{noun} {name!r} failed: {error}"
        else:
            status = "CANCELED"
            message = f"{noun} {name!r} was canceled" + (f": {error}" if error else "")
        out = {"status": status, "error": error or "canceled", "message": message}
        code = data.get("code")
        if isinstance(code, str):
            out["code"] = code
        out |= {"durationMs": duration, "ts": ts}
        return "error", _json(out)


def _step(event: Event) -> str | None:
    """What a lifecycle status frame's ``step`` names ("" for none); None: not lifecycle."""
    data = event.data if isinstance(event.data, dict) else {}
    name = event.type
    if name.startswith(("TASK_", "CHILD_WORKFLOW_")):
        return str(data.get("kind") or "")
    if name.startswith("PROMISE_"):
        return str(data.get("promiseId") or "")
    if name.startswith("TIMER_"):
        return "sleep"
    if name == EventType.OPERATION_COMPLETED:
        return str(data.get("operationId") or "")
    if name == EventType.WORKFLOW_SUSPENDED:
        return str(data.get("suspendType") or "")
    if name.startswith("WORKFLOW_"):
        return ""
    return None


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
