"""Request bodies at the HTTP edge: read with a stall timeout, parsed under the storage rules.

``JsonBodyRoute`` reads a request's body before FastAPI does:

- a body that stops arriving for ``body_timeout_seconds`` is answered **408** with
  ``Connection: close`` (uvicorn itself waits for a body forever), and one still
  arriving when the server stops is answered **503**, so it cannot hold up the shutdown;
- a JSON body is parsed with ``runstream.model.json.loads``: malformed JSON is a 400
  naming the body and the position, and a value the store cannot keep exactly (an
  integer beyond 64 bits, a lone surrogate, ``NaN``, ``1e400``) a 400 naming the field.

FastAPI then validates the parsed value as usual (Starlette caches a request's body and
JSON on the request, so nothing is read or parsed twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from runstream.api.errors import HttpError, bad_request
from runstream.config import Settings
from runstream.model.json import UnstorableValue, loads
from runstream.streaming.response import StreamRegistry

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CLOSE = {"Connection": "close"}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class JsonBodyRoute(APIRoute):
    """An ``APIRoute`` whose request body is read with a timeout and parsed strictly."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def read_then_handle(request: Request) -> Response:
            if request.method in _WITH_BODY:
                body = await _read(request)
                if body is None:
                    # The client went away mid-body: nobody is left to answer.
                    return Response(status_code=400)
                # Starlette keeps a read body (and its JSON) on the request: FastAPI uses them.
                request._body = body
                if body and _is_json(request.headers.get("content-type")):
                    request._json = _parse(body)
            return await handle(request)

        return read_then_handle


async def _read(request: Request) -> bytes | None:
    """The whole body; None when the client disconnected before sending it."""
    settings: Settings = request.app.state.settings
    registry: StreamRegistry = request.app.state.streams
    closing = asyncio.ensure_future(registry.wait_closing())
    body = bytearray()
    try:
        while True:
            receiving = asyncio.ensure_future(request.receive())
            done, _ = await asyncio.wait(
                {receiving, closing},
                timeout=settings.body_timeout_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if receiving not in done:
                receiving.cancel()
                if closing in done:
                    raise HttpError(503, "shutting_down", "the server is stopping", headers=_CLOSE)
                raise HttpError(
                    408,
                    "request_timeout",
                    f"body: no part of the request body arrived for "
                    f"{settings.body_timeout_seconds:g} s",
                    param="body",
                    headers=_CLOSE,
                )
            message = receiving.result()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if not message.get("more_body", False):
                return bytes(body)
    finally:
        closing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await closing


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("application/") and (
        media == "application/json" or media.endswith("+json")
    )


def _parse(body: bytes) -> Any:
    try:
        return loads(body)
    except json.JSONDecodeError as exc:
        raise bad_request(
            "body", f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise bad_request("body", f"not UTF-8 at byte {exc.start}") from None
    except UnstorableValue as exc:
        raise bad_request(exc.path or "body", exc.reason) from None
