"""The runs API wire format (seed 001, SPEC §7.3): Claude Code lines for SSE and WebSocket.

A run's *lines* are the ``claude`` events of its log (one per stdout line of the Claude
Code process), numbered 1, 2, … in log order; nothing else counts. The number is the SSE
``id``, so ``Last-Event-ID`` resumes after a line. A frame carries the line as Claude
wrote it::

    id: 3
    data: {"type":"assistant","message":{…},"session_id":"…"}

The line is stored parsed and sent as compact JSON, which is byte for byte what Claude
Code writes (``JSON.stringify``: no spaces, non-ASCII as is); a number written as, say,
``0.0000015`` comes back as ``1.5e-6``, the same value. A line that was not JSON is
sent as its raw text. After the last line of a finished run comes one named frame,
without an ``id``, that ``onmessage`` handlers never see::

    event: end
    data: {"run_id":"…","status":"completed","workflow_name":"…","result":"…",…}

On a WebSocket every line is one text frame with the same text; the server's other
frames are JSON objects whose ``type`` no Claude line uses: ``ack``, ``error``, ``end``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from runstream.model import Status
from runstream.streaming.wire.sse import frame

RUN_STATUS = {
    Status.PENDING: "pending",
    Status.RUNNING: "running",
    Status.WAITING: "running",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
}
"""The runs API's name of each status."""


def line_text(data: Any) -> bytes:
    """One stored ``claude`` line as the process wrote it (without its line end)."""
    if isinstance(data, dict) and data.get("type") == "raw" and set(data) == {"type", "text"}:
        return str(data["text"]).encode()
    return orjson.dumps(data)


def line_frame(line: int, text: bytes) -> bytes:
    """The SSE frame of line number ``line`` whose text is ``text`` (see ``line_text``)."""
    if b"\n" in text or b"\r" in text:
        return frame(id=str(line), data=text)
    return b"id: %d\ndata: %s\n\n" % (line, text)


def end_frame(status: dict[str, Any]) -> bytes:
    """The named frame that follows the last line of a finished run."""
    return frame(event="end", data=orjson.dumps(status))


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC (``2024-05-01T12:00:00.123Z``)."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_body(
    *,
    run_id: str,
    status: Status,
    workflow_name: str,
    result: Any,
    error: str | None,
    started_at_ms: int | None,
    completed_at_ms: int | None,
) -> dict[str, Any]:
    """The document of ``GET …/run/{run_id}/status`` (and of the ``end`` frame)."""
    return {
        "run_id": run_id,
        "status": RUN_STATUS[status],
        "workflow_name": workflow_name,
        "result": result,
        "error": error,
        "started_at": iso(started_at_ms),
        "completed_at": iso(completed_at_ms) if status.is_terminal else None,
    }


def ack(queue_size: int) -> str:
    """The WebSocket answer to a client's ``{"message"}`` frame."""
    return orjson.dumps({"type": "ack", "queue_size": queue_size}).decode()


def ws_error(code: str, message: str) -> str:
    """The WebSocket answer to a client frame that was refused (the connection stays)."""
    return orjson.dumps({"type": "error", "error": {"code": code, "message": message}}).decode()


def ws_end(status: dict[str, Any]) -> str:
    """The last WebSocket frame of a finished run, before the close (code 1000)."""
    return orjson.dumps({"type": "end"} | status).decode()
