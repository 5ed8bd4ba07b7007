"""SSE endpoints of the native API: one execution's log, or a workflow and its descendants.

Every check happens before the stream starts, so a bad request gets a JSON error
and never an event stream. A finished execution with nothing left to send after
the client's ``Last-Event-ID`` gets **204**, which stops ``EventSource`` reconnecting;
once a manual retry has reopened a failed log, the same reconnect gets its new events.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response

from runstream import Engine
from runstream.api.auth import TokenTypes
from runstream.api.errors import bad_request
from runstream.api.limits import open_stream
from runstream.api.native.executions import ERRORS, operation_id
from runstream.api.native.params import EngineDep, ExecutionId, Org, last_event_id, load, parse_seq
from runstream.api.native.schemas import StreamEventOut
from runstream.config import Settings
from runstream.model import Event, ExecutionType
from runstream.observability import metrics
from runstream.observability.streamlog import StreamStats
from runstream.streaming.consolidated import check_cursor
from runstream.streaming.feed import Feed, Item
from runstream.streaming.frames import FrameBodies
from runstream.streaming.response import EventStreamResponse
from runstream.streaming.wire.native import TypeFilter, parse_include, parse_types, task_lines
from runstream.streaming.wire.sse import id_line

Types = Annotated[
    str | None,
    Query(
        description="Comma list, case-insensitive: SSE types (``token,progress,data,error``), "
        "event names (``TASK_COMPLETED``) or prefixes (``task``, ``workflow``, ``timer``). "
        "Filtered-out events still advance the resume point.",
        examples=["token,workflow"],
    ),
]
Include = Annotated[
    str | None,
    Query(
        description="``task``: frames of a task attempt's events also carry ``task:`` (the "
        "task id) and ``attempt:`` lines, so a client can drop a superseded attempt's output.",
        examples=["task"],
    ),
]
# Documented, and checked by the handlers themselves so that errors read the same everywhere.
_SEQ_PATTERN = r"^ *[0-9]{0,18} *$"
_PART = r"0(\.(0|[1-9][0-9]{0,8}))*:[0-9]{1,18}"
_CURSOR_PATTERN = f"^ *({_PART}(,{_PART})*)? *$"
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this id (browsers send it when they reconnect).",
        json_schema_extra={"pattern": _SEQ_PATTERN},
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        alias="lastEventId",
        description="Same as the ``Last-Event-ID`` header, for clients that cannot set headers.",
        json_schema_extra={"pattern": _SEQ_PATTERN},
    ),
]
CursorHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this cursor: the id of the last event received.",
        json_schema_extra={"pattern": _CURSOR_PATTERN},
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        alias="lastEventId",
        description="Same as the ``Last-Event-ID`` header, for clients that cannot set headers.",
        json_schema_extra={"pattern": _CURSOR_PATTERN},
    ),
]

_EXAMPLE = (
    "retry: 3000\n\n"
    "id: 1\nevent: data\n"
    'data: {"type":"Event","event":"WORKFLOW_CREATED","data":{…},"timestampMs":1703764800000}\n\n'
    "id: 5\nevent: token\ndata: Hello\n\n"
    ": keep-alive\n\n"
)
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The event stream: a replay of the log after the resume point, then live.",
        # Before OpenAPI 3.2 (``itemSchema``) an event stream's schema describes one event.
        "model": StreamEventOut,
        "content": {"text/event-stream": {"schema": {"type": "object"}, "example": _EXAMPLE}},
    },
    204: {"description": "The execution has finished and nothing is left to send."},
    **ERRORS,
}


FANOUT = metrics.FANOUT_LATENCY.labels("native")
router = APIRouter(prefix="/api/orgs/{org}", tags=["streams"])
Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])


def _route(path: str, summary: str, operation: str) -> Callable[[Endpoint], Endpoint]:
    return router.get(
        path,
        response_class=EventStreamResponse,
        status_code=200,
        summary=summary,
        operation_id=operation,
        responses=STREAM_RESPONSES,
    )


@_route(
    "/workflow-executions/{execution_id}/stream",
    "Stream a workflow's events",
    operation_id("stream", ExecutionType.WORKFLOW, ""),
)
async def stream_workflow(
    request: Request,
    org: Org,
    execution_id: ExecutionId,
    engine: EngineDep,
    granted: TokenTypes,
    types: Types = None,
    include: Include = None,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> Response:
    """The workflow's log (its own and its tasks' events) over SSE, resumable by seq."""
    resume = last_event_id(last_event_id_header, last_event_id_query)
    wanted = _wanted(types, granted)
    with_task = _include(include)
    return await _stream_log(
        request, engine, org, execution_id, ExecutionType.WORKFLOW, wanted, with_task, resume
    )


@_route(
    "/task-executions/{execution_id}/stream",
    "Stream a task's events",
    operation_id("stream", ExecutionType.TASK, ""),
)
async def stream_task(
    request: Request,
    org: Org,
    execution_id: ExecutionId,
    engine: EngineDep,
    granted: TokenTypes,
    types: Types = None,
    include: Include = None,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> Response:
    """A standalone task execution's log over SSE, resumable by seq."""
    resume = last_event_id(last_event_id_header, last_event_id_query)
    wanted = _wanted(types, granted)
    with_task = _include(include)
    return await _stream_log(
        request, engine, org, execution_id, ExecutionType.TASK, wanted, with_task, resume
    )


@_route(
    f"/{ExecutionType.WORKFLOW.segment}/{{execution_id}}/stream/consolidated",
    "Stream a workflow's and its descendants' events",
    operation_id("stream", ExecutionType.WORKFLOW, "Consolidated"),
)
async def stream_consolidated(
    request: Request,
    org: Org,
    execution_id: ExecutionId,
    engine: EngineDep,
    granted: TokenTypes,
    types: Types = None,
    include: Include = None,
    last_event_id_header: CursorHeader = None,
    last_event_id_query: CursorQuery = None,
) -> Response:
    """The workflow's log merged with its children's (also those started later).

    Ids are opaque cursors: resume with the last one received.
    """
    wanted = _wanted(types, granted)
    with_task = _include(include)
    param, cursor = last_event_id(last_event_id_header, last_event_id_query)
    snapshot = await load(engine, org, execution_id, ExecutionType.WORKFLOW)
    try:
        if cursor is not None:
            await check_cursor(engine.store, snapshot.id, cursor)
        pairs = engine.stream_consolidated(snapshot.id, cursor=cursor)
    except ValueError as exc:
        raise bad_request(param, str(exc)) from None
    # Children may still be finishing after the root's terminal event: run to the end.
    feed = Feed(_frames(pairs, wanted, request.app.state.frame_bodies, with_task))
    stats = StreamStats("native", org, snapshot.id, resume_id=cursor)
    return await respond(request, feed, stats, finished=snapshot.status.is_terminal, param=param)


async def _stream_log(
    request: Request,
    engine: Engine,
    org: str,
    execution_id: str,
    type: ExecutionType,
    wanted: list[TypeFilter],
    with_task: bool,
    resume: tuple[str, str | None],
) -> Response:
    param, raw = resume
    after = parse_seq(param, raw)
    snapshot = await load(engine, org, execution_id, type)
    finished = snapshot.status.is_terminal
    if finished and after >= snapshot.last_seq:
        return Response(status_code=204)
    pairs = _by_seq(engine.stream(snapshot.id, after=after))
    bodies = request.app.state.frame_bodies
    feed = Feed(_frames(pairs, wanted, bodies, with_task, live_after=snapshot.last_seq))
    stats = StreamStats("native", org, snapshot.id, resume_id=raw)
    return await respond(request, feed, stats, finished=finished, param=param)


async def respond(
    request: Request,
    feed: Feed,
    stats: StreamStats,
    *,
    finished: bool,
    param: str,
    heartbeat: str = "keep-alive",
) -> Response:
    """The stream, or 204 when a finished execution has nothing left to send.

    ``param`` names the resume parameter a source error is blamed on; ``heartbeat`` is
    the comment sent on a quiet stream. The stream takes its slot here (429 when the
    process or the org is full), so every API family that answers through ``respond``
    counts against the stream limits; the slot is given back when the stream ends, or
    at once if it never starts.
    """
    settings: Settings = request.app.state.settings
    try:
        slot = open_stream(request)
    except BaseException:
        await feed.aclose()
        raise
    try:
        # A finished log replays to its end at once; peek so an empty rest can be a 204.
        if finished and not await feed.has_frames(within=settings.heartbeat_seconds):
            if isinstance(feed.error, ValueError):
                raise bad_request(param, str(feed.error))
            await feed.aclose()
            slot.release()
            return Response(status_code=204)
    except BaseException:
        await feed.aclose()
        slot.release()
        raise
    return EventStreamResponse(feed, settings, slot, stats, heartbeat=heartbeat)


def _wanted(types: str | None, granted: TypeFilter | None) -> list[TypeFilter]:
    """The filters an event must pass: the client's ``types=`` and its token's types."""
    try:
        asked = parse_types(types)
    except ValueError as exc:
        raise bad_request("types", str(exc)) from None
    return [f for f in (asked, granted) if f is not None]


def _include(raw: str | None) -> bool:
    try:
        return parse_include(raw)
    except ValueError as exc:
        raise bad_request("include", str(exc)) from None


async def _by_seq(events: AsyncIterator[Event]) -> AsyncIterator[tuple[str, Event]]:
    try:
        async for event in events:
            yield str(event.seq), event
    finally:
        await _aclose(events)


async def _frames(
    pairs: AsyncIterator[tuple[str, Event]],
    wanted: list[TypeFilter],
    bodies: FrameBodies,
    with_task: bool = False,
    *,
    live_after: int | None = None,
) -> AsyncIterator[Item]:
    """Frames of the events; ends with the source, which ends after the terminal event
    that closes the log (not after a failure that a manual retry reopened).

    Events after seq ``live_after`` (of a single log) were committed while the stream was
    open: their commit-to-frame latency is measured."""
    try:
        async for cursor, event in pairs:
            if live_after is not None and event.seq > live_after:
                FANOUT.observe(max(0.0, time.time() - event.ts / 1000))
            if not all(f.matches(event) for f in wanted):
                yield cursor, None
            else:
                head = id_line(cursor) + task_lines(event) if with_task else id_line(cursor)
                yield cursor, head + bodies(event)
    finally:
        await _aclose(pairs)


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
