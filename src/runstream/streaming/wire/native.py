"""The native SSE wire format (seed 003, SPEC §7.1): stored events to frames, and ``types=``.

Frames, one per stored event, ``id`` first::

    id: 7
    event: data
    data: {"type":"Event","event":"TASK_CREATED","data":{…},"timestampMs":1703764800000}

- lifecycle events travel as ``event: data`` in the ``{"type": "Event"}`` envelope;
- ``token`` carries the raw text, ``progress`` the bare number, ``error`` the message;
- code-emitted ``data`` carries its JSON value as given;
- agent and message events, and any other type code emits (``ctx.emit``), travel as
  ``event: data`` JSON objects with a ``type`` field;
- with ``include=task``, frames of a task attempt's events also carry ``task:`` and
  ``attempt:`` lines (fields ``EventSource`` ignores).
- a Claude Code line travels as ``{"type":"claude","line":…}`` (the line keeps its own
  ``type``), a stderr line as ``{"type":"log","text":…}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from runstream.model.events import AGENT, LIFECYCLE, PROCESS, Event, EventType
from runstream.streaming.wire.sse import frame, id_line

SSE_TYPES = ("token", "progress", "data", "error")
"""The values of the ``event:`` field, in the order the docs list them."""

_TAGGED = AGENT | PROCESS | {EventType.MESSAGE_RECEIVED, EventType.MESSAGE_CONSUMED}
_NAMES = frozenset(t.value.upper() for t in EventType)
_PREFIXES = frozenset(
    name[:cut] for name in _NAMES for cut, char in enumerate(name) if char == "_" and cut > 0
)


def encode(event: Event, id: str | None = None) -> bytes:
    """The frame for one stored event.

    Args:
        event: The event as stored.
        id: The SSE id; the event's ``seq`` when omitted (consolidated streams pass a cursor).
    """
    return id_line(str(event.seq) if id is None else id) + body(event)


def body(event: Event) -> bytes:
    """The frame without its ``id:`` line: the same for every subscriber, so cacheable."""
    return frame(event=sse_type(event.type), data=_payload(event))


def task_lines(event: Event) -> bytes:
    """``task:`` and ``attempt:`` lines for an event of a task attempt (``include=task``).

    ``EventSource`` ignores fields it does not know, so the lines cost browsers nothing;
    clients that read them can drop the output of a superseded attempt.
    """
    if event.task_id is None:
        return b""
    lines = b"task: " + event.task_id.encode() + b"\n"
    if event.attempt is not None:
        lines += b"attempt: %d\n" % event.attempt
    return lines


def parse_include(raw: str | None) -> bool:
    """Parse an ``include=`` value; True when it asks for ``task`` (the only extra so far).

    Raises:
        ValueError: An item is not ``task``; the message names it.
    """
    wanted = False
    for item in (raw or "").split(","):
        token = item.strip().lower()
        if token == "task":
            wanted = True
        elif token:
            raise ValueError(f"unknown include {item.strip()!r}: expected task")
    return wanted


def sse_type(event_type: str) -> str:
    """The ``event:`` field for an event type: ``token``, ``progress``, ``error`` or ``data``."""
    if event_type in (EventType.TOKEN, EventType.PROGRESS, EventType.ERROR):
        return event_type
    return "data"


def _payload(event: Event) -> str | bytes:
    data = event.data
    match event.type:
        case EventType.TOKEN:
            return data if isinstance(data, str) else _json(data)
        case EventType.PROGRESS:
            return _json(data.get("progress") if isinstance(data, dict) else data)
        case EventType.ERROR:
            message = data.get("message") if isinstance(data, dict) else data
            return message if isinstance(message, str) else _json(message)
        case EventType.DATA:
            return _json(data)
        case EventType.CLAUDE:
            return _json({"type": EventType.CLAUDE, "line": data})
        case kind if kind in _TAGGED or kind not in LIFECYCLE:
            fields = data if isinstance(data, dict) else {"data": data}
            return _json({"type": kind} | {k: v for k, v in fields.items() if k != "type"})
        case kind:
            return _json({"type": "Event", "event": kind, "data": data, "timestampMs": event.ts})


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """The events a ``types=`` query lets through."""

    sse_types: frozenset[str]
    """Whole ``event:`` categories (``token``, ``progress``, ``data``, ``error``)."""
    names: frozenset[str]
    """Event type names, upper-cased (``TASK_COMPLETED``)."""
    prefixes: tuple[str, ...]
    """Upper-cased name prefixes, without the trailing underscore (``TASK``)."""

    def matches(self, event: Event) -> bool:
        """True when the event's frame should be sent."""
        if sse_type(event.type) in self.sse_types:
            return True
        name = event.type.upper()
        return name in self.names or any(name.startswith(p + "_") for p in self.prefixes)


def parse_types(raw: str | None) -> TypeFilter | None:
    """Parse a ``types=`` value: a comma list, case-insensitive, items trimmed.

    Items are SSE types (``token``), event names (``TASK_COMPLETED``, ``tool_call``) or
    prefixes of names (``task``, ``child_workflow``). Empty items are ignored.

    Returns:
        The filter, or ``None`` (everything passes) when ``raw`` names nothing.

    Raises:
        ValueError: An item is none of the above; the message names it.
    """
    sse_types: set[str] = set()
    names: set[str] = set()
    prefixes: set[str] = set()
    for item in (raw or "").split(","):
        token = item.strip()
        if not token:
            continue
        if token.lower() in SSE_TYPES:
            sse_types.add(token.lower())
        elif token.upper() in _NAMES:
            names.add(token.upper())
        elif token.upper() in _PREFIXES:
            prefixes.add(token.upper())
        else:
            raise ValueError(
                f"unknown event type {token!r}: expected one of {', '.join(SSE_TYPES)}, "
                "an event name such as TASK_COMPLETED, or a prefix such as task"
            )
    if not (sse_types or names or prefixes):
        return None
    return TypeFilter(frozenset(sse_types), frozenset(names), tuple(sorted(prefixes)))
