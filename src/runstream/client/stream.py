"""``EventStream``: one execution's SSE stream, resumed with ``Last-Event-ID`` after drops.

A connection can end for many reasons: the server's maximum connection time or idle
timeout, a restart, a proxy, a network blip. The stream reconnects with the id of the
last event it saw (or that the server sent for a filtered-out event), so the caller
sees every event once, in order. It ends when the server closes it after the execution's
terminal event (a failure that was retried is not the end: the retry's events follow),
when the server answers 204 (finished, nothing left to send), or after too many failed
attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from runstream.client.errors import ApiError, ServerUnavailable, error_from_response
from runstream.client.events import StreamEvent, decode
from runstream.client.sse import SSEParser

_HEALTHY_AFTER = 1.0
"""A stream that stayed open at least this long counts as a success even without events."""


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How a stream reconnects after a dropped connection."""

    max_attempts: int = 8
    """Failed attempts in a row before giving up; a connection that delivers an event or
    stays open a while resets the count."""
    initial_delay: float = 0.1
    """Wait before the first retry after a failure, doubled on each further one."""
    max_delay: float = 5.0
    """Longest wait between attempts."""

    def delay(self, failures: int) -> float:
        """Seconds to wait before the attempt that follows ``failures`` failures in a row."""
        return min(self.max_delay, self.initial_delay * 2.0 ** max(0, failures - 1))


class EventStream:
    """Async iterator of ``StreamEvent``; close it with ``aclose()`` or ``async with``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        path: Callable[[], Awaitable[str]],
        *,
        execution_id: str,
        after: str,
        types: str | None,
        consolidated: bool,
        reconnect: Reconnect,
        include_task: bool = False,
    ) -> None:
        self._http = http
        self._path = path
        self._execution_id = execution_id
        self._types = types
        self._include_task = include_task
        self._consolidated = consolidated
        self._reconnect = reconnect
        self._events = self._run()
        self.last_event_id = after
        """The resume point: the id of the last event seen (or skipped by the filter)."""
        self.reconnects = 0
        """How many times the stream reconnected."""

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Close the connection; iteration ends."""
        await self._events.aclose()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[StreamEvent, None]:
        path = await self._path()
        params = {"types": self._types} if self._types else {}
        if self._include_task:
            params["include"] = "task"
        failures = 0
        ended = False
        while True:
            opened = time.monotonic()
            streaming = delivered = False
            failure: Exception | None = None
            retry_after = 0.0
            headers = {"Accept": "text/event-stream"}
            if self.last_event_id not in ("", "0"):
                headers["Last-Event-ID"] = self.last_event_id
            try:
                async with self._http.stream("GET", path, params=params, headers=headers) as reply:
                    if reply.status_code == 204:
                        return
                    if reply.status_code >= 400:
                        error = error_from_response(
                            reply.status_code, await reply.aread(), execution_id=self._execution_id
                        )
                        if reply.status_code < 500 and reply.status_code != 429:
                            raise error
                        failure = error
                        retry_after = _seconds(reply.headers.get("retry-after"))
                    else:
                        streaming = True
                        parser = SSEParser()
                        async for chunk in reply.aiter_bytes():
                            for sse in parser.feed(chunk):
                                event = decode(sse)
                                self.last_event_id = event.id
                                delivered = True
                                yield event
                                # The server closes the stream after the event that ends
                                # the log; a failure a manual retry reopened is followed by
                                # more (RETRY_REQUESTED first), and a consolidated stream
                                # goes on while descendants finish: read to the close.
                                if event.ends(self._execution_id):
                                    ended = True
                                elif not self._consolidated or event.reopens(self._execution_id):
                                    ended = False
                            if parser.last_event_id != self.last_event_id and parser.last_event_id:
                                self.last_event_id = parser.last_event_id
                                delivered = True
                        if ended:
                            return
            except httpx.TransportError as exc:
                failure = exc
            if delivered or (streaming and time.monotonic() - opened >= _HEALTHY_AFTER):
                failures = 0
            else:
                failures += 1
                if failures > self._reconnect.max_attempts:
                    url = f"{str(self._http.base_url).rstrip('/')}{path}"
                    raise _gave_up(url, failure, failures) from failure
                await asyncio.sleep(max(self._reconnect.delay(failures), retry_after))
            self.reconnects += 1


def _seconds(header: str | None) -> float:
    """A ``Retry-After`` in seconds (its date form is not used by runstream), capped at 60."""
    try:
        return min(60.0, max(0.0, float(header or 0)))
    except ValueError:
        return 0.0


def _gave_up(url: str, failure: Exception | None, attempts: int) -> Exception:
    if isinstance(failure, ApiError):
        return failure
    reason = f"{type(failure).__name__}: {failure}" if failure else "the stream kept closing"
    return ServerUnavailable(url, f"{reason} ({attempts} attempts)")
