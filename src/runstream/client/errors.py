"""Errors of the HTTP client, and the mapping from API error bodies to exceptions.

The client raises the same errors as the engine where one fits, plus two of its own::

    RunstreamError
    ├── ExecutionNotFound      404 for an execution id
    ├── UnknownKind            400 ``unknown_kind`` when starting
    ├── InvalidState           409 (e.g. a message to a finished workflow)
    ├── ApiError               any other error answer: ``status``, ``code``, ``message``, ``param``
    └── ServerUnavailable      no answer: refused, reset, timed out (after the stream's retries)
"""

from __future__ import annotations

from typing import Any

import orjson

from runstream.errors import ExecutionNotFound, InvalidState, RunstreamError, UnknownKind


class ApiError(RunstreamError):
    """The server refused a request; the fields come from its ``{"error": {…}}`` body."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        """HTTP status of the answer."""
        self.code = code
        """Machine-readable error code, e.g. ``invalid_parameter``."""
        self.message = message
        self.param = param
        """The request parameter at fault, when the server named one."""


class ServerUnavailable(RunstreamError):
    """The server could not be reached, or kept dropping the connection; ``__cause__`` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the runstream server at {url}: {reason}")
        self.url = url
        self.reason = reason


def error_from_response(
    status: int,
    body: bytes,
    *,
    execution_id: str | None = None,
    kind: str | None = None,
    what: str = "workflow or task",
) -> RunstreamError:
    """The exception for an error answer.

    Args:
        status: The HTTP status (4xx or 5xx).
        body: The raw body; anything but the API's JSON error shape is tolerated.
        execution_id: The execution the request was about, so a 404 names it.
        kind: The kind being started, so ``unknown_kind`` names it.
        what: What ``kind`` should have named (``workflow`` or ``task``).
    """
    code, message, param = _fields(status, body)
    if status == 404 and execution_id is not None and code == "not_found":
        return ExecutionNotFound(execution_id)
    if code == "unknown_kind" and kind is not None:
        return UnknownKind(kind, what)
    if status == 409 and execution_id is not None:
        return InvalidState(execution_id, message)
    return ApiError(status, code, message, param)


def _fields(status: int, body: bytes) -> tuple[str, str, str | None]:
    try:
        error: Any = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        param = error.get("param")
        return (
            str(error.get("code", "error")),
            error["message"],
            (param if isinstance(param, str) else None),
        )
    text = body.decode("utf-8", "replace").strip()[:200]
    return "http_error", f"HTTP {status}" + (f": {text}" if text else ""), None
