"""Limits on what one request may cost (SPEC §10): body and message sizes, open streams.

- ``BodyLimit`` is a pure ASGI layer (Starlette's HTTP middleware base buffers streams): a
  declared ``Content-Length`` over the limit is refused before the body is read, and a
  chunked body is counted as it arrives and refused once it passes the limit. Both get
  a JSON 413.
- ``check_message`` bounds the JSON encoding of a message sent to a workflow (413).
- ``open_stream`` takes a stream's slot in the app's ``StreamRegistry`` (429 with
  ``Retry-After`` when the process or the org is full); the response gives it back.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runstream.api.auth import acting_org, principal_of
from runstream.api.errors import HttpError, error_response
from runstream.config import Settings
from runstream.streaming.registry import Slot, StreamRegistry


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit. An ``HTTPException``, so
    FastAPI's body parsing lets it through to the JSON error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: the request body is larger than {limit} bytes")


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with a JSON 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(
                413, "body_too_large", BodyTooLarge(self.max_bytes).detail, "body"
            )
            return await response(scope, receive, send)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge as exc:
            # Read outside the handlers' error handling (none do today): answer here.
            if started:
                raise
            response = error_response(413, "body_too_large", exc.detail, "body")
            await response(scope, receive, send)


def check_message(settings: Settings, message: Any) -> None:
    """Refuse a message whose JSON encoding is larger than ``max_message_bytes``.

    Raises:
        HttpError: 413 naming ``message``.
    """
    size = len(orjson.dumps(message))
    if size > settings.max_message_bytes:
        raise HttpError(
            413,
            "message_too_large",
            f"message: {size} bytes of JSON, more than the {settings.max_message_bytes} allowed",
            param="message",
        )


def open_stream(request: HTTPConnection) -> Slot:
    """Take a slot for a stream the request opens, counted against its acting org.

    The slot remembers the caller's API key (the stream ends if it is revoked) or its
    token's expiry (the stream ends then). Give it back with ``Slot.release`` if the
    stream does not start; ``EventStreamResponse`` gives it back when the stream ends.

    Raises:
        TooManyStreams: The process or the org is at its limit (429, ``Retry-After``).
    """
    registry: StreamRegistry = request.app.state.streams
    principal = principal_of(request)
    return registry.open(
        acting_org(request),
        key_id=principal.key_id if principal else None,
        expires_at=principal.grant.expires_at if principal and principal.grant else None,
    )
