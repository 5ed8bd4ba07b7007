"""HTTP errors: one table from runstream errors to statuses, JSON bodies for every failure.

Every error before a stream starts is ``{"error": {"code", "message", "param"?}}`` with
a 4xx/5xx status; a stream never starts with an error and nothing answers with a
stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from runstream.errors import (
    ExecutionNotFound,
    InvalidState,
    RunstreamError,
    StoreError,
    TooManyStreams,
    UnknownKind,
)

logger = logging.getLogger(__name__)

STATUS: dict[type[RunstreamError], tuple[int, str]] = {
    ExecutionNotFound: (404, "not_found"),
    UnknownKind: (400, "unknown_kind"),
    InvalidState: (409, "invalid_state"),
    StoreError: (503, "store_unavailable"),
    TooManyStreams: (429, "too_many_streams"),
}
"""Status and error code of each runstream error the API lets through; subclasses inherit."""


class HttpError(Exception):
    """A request refused at the HTTP edge, before the engine is asked."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}
        """Extra response headers (``WWW-Authenticate`` on a 401, ``Connection`` on a 408)."""


def bad_request(param: str, message: str) -> HttpError:
    """A 400 naming the request parameter at fault."""
    return HttpError(400, "invalid_parameter", f"{param}: {message}", param=param)


def status_of(exc: RunstreamError) -> tuple[int, str]:
    """The HTTP status and error code for a runstream error (500 when unmapped)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500, "internal"


def error_response(
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The JSON error body every failing request gets."""
    body: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        body["param"] = param
    return Response(
        orjson.dumps({"error": body}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Make ``app`` answer every error with the JSON error body."""
    app.add_exception_handler(HttpError, _api_error)
    app.add_exception_handler(RunstreamError, _runstream_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(exc.status, exc.code, exc.message, exc.param, exc.headers)


async def _runstream_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RunstreamError)
    status, code = status_of(exc)
    if status >= 500:
        # Driver details stay in the log; the client learns only which dependency failed.
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        message = "the store is unavailable" if code == "store_unavailable" else "internal error"
        return error_response(status, code, message)
    if isinstance(exc, TooManyStreams):
        return error_response(status, code, str(exc), headers={"Retry-After": str(exc.retry_after)})
    return error_response(status, code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        # FastAPI puts the character offset where the field name would be.
        context = first.get("ctx")
        reason = context.get("error", "not JSON") if isinstance(context, dict) else "not JSON"
        message = f"body: malformed JSON at character {first['loc'][-1]}: {reason}"
        return error_response(400, "invalid_parameter", message, "body")
    # loc starts with where the value came from ("body", "query", …); the rest names it.
    param = ".".join(str(part) for part in first["loc"][1:]) or str(
        first["loc"][0] if first["loc"] else "request"
    )
    if first.get("type") == "json_invalid":
        param = "body"  # loc holds the offset of the syntax error, not a parameter
    return error_response(400, "invalid_parameter", f"{param}: {first['msg']}", param)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        exc.status_code, "http_error"
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed(request))
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response is sent, so the server logs the traceback.
    return error_response(500, "internal", "internal error")
