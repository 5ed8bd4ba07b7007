"""An incremental Server-Sent Events parser (WHATWG HTML §9.2.6) for bytes as they arrive.

Chunks may split a line, a UTF-8 sequence or a ``\\r\\n`` anywhere; lines end with
``\\r\\n``, ``\\n`` or ``\\r``. A blank line dispatches the event being built, and only
when it has data: a block holding just an ``id:`` (the server sends one for events a
``types=`` filter dropped) moves the last event id without producing an event.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event, with the fields an ``EventSource`` listener sees."""

    event: str
    """The ``event:`` field; ``"message"`` when the block had none."""
    data: str
    """The ``data:`` lines joined with ``\\n``."""
    id: str
    """The last event id at dispatch (``""`` before any ``id:`` field)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Other fields of the block (an ``EventSource`` ignores them), e.g. runstream's
    ``task`` and ``attempt``; the last value of each."""


class SSEParser:
    """Turns the chunks of a ``text/event-stream`` body into ``ServerSentEvent`` values."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._at_start = True
        self._after_cr = False
        self._data: list[str] = []
        self._event = ""
        self._fields: dict[str, str] = {}
        self.last_event_id = ""
        """The id to send back as ``Last-Event-ID``; survives across events."""
        self.retry: int | None = None
        """The reconnection time the server asked for, in milliseconds."""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse the next chunk of the body; returns the events it completed."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if self._after_cr:
            # A "\r" ended the last chunk: a "\n" opening this one belongs to it.
            self._after_cr = False
            text = text.removeprefix("\n")
        buffer = self._buffer + text
        events: list[ServerSentEvent] = []
        position = 0
        while (end := _LINE_END.search(buffer, position)) is not None:
            event = self._line(buffer[position : end.start()])
            if event is not None:
                events.append(event)
            position = end.end()
        self._after_cr = buffer.endswith("\r")
        self._buffer = buffer[position:]
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)
        else:
            self._fields[name] = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, self._data = self._data, []
        event, self._event = self._event, ""
        fields, self._fields = self._fields, {}
        if not data:
            return None
        return ServerSentEvent(event or "message", "\n".join(data), self.last_event_id, fields)
