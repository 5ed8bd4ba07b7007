"""Generic Server-Sent Events framing (WHATWG HTML §9.2), as bytes ready to send.

Every function returns one complete block terminated by a blank line. Data and
comments may span lines: each line of the value becomes its own field line, so
``\\n``, ``\\r\\n`` and ``\\r`` inside a value round-trip through ``EventSource``.
"""

from __future__ import annotations

_BAD_IN_NAME = ("\n", "\r", "\0")


def frame(
    *,
    data: str | bytes | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one SSE block.

    Args:
        data: The payload; ``""`` is a valid (empty) payload, ``None`` sends no ``data:`` line.
        event: The event name clients listen for.
        id: The event id clients send back as ``Last-Event-ID``.
        retry: Reconnection delay suggested to the client, in milliseconds.
        comment: Text sent as ``:`` comment lines, which clients ignore.

    Raises:
        ValueError: ``id`` or ``event`` contain a line break or NUL, or ``retry`` is negative.
    """
    out = bytearray()
    if comment is not None:
        out += _field_lines(b":", comment)
    if retry is not None:
        if retry < 0:
            raise ValueError(f"SSE retry must not be negative, got {retry}")
        out += b"retry: %d\n" % retry
    if id is not None:
        out += id_line(id)
    if event is not None:
        out += b"event: " + _single_line("event", event) + b"\n"
    if data is not None:
        out += _field_lines(b"data:", data)
    out += b"\n"
    return bytes(out)


def id_line(id: str) -> bytes:
    """The ``id:`` line alone, to put in front of a block built without one.

    Raises:
        ValueError: ``id`` contains a line break or NUL.
    """
    return b"id: " + _single_line("id", id) + b"\n"


def comment(text: str) -> bytes:
    """A block holding only a comment, such as a heartbeat."""
    return frame(comment=text)


def _single_line(field: str, value: str) -> bytes:
    if any(bad in value for bad in _BAD_IN_NAME):
        raise ValueError(f"SSE {field} must be one line without NUL, got {value!r}")
    return value.encode()


def _field_lines(prefix: bytes, value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return b"".join(prefix + b" " + line + b"\n" for line in lines)
