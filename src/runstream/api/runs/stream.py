"""``GET /api/v1/workflows/{run_id}/stream``: a run's Claude Code lines over SSE.

``id`` is the line number and ``data`` the line; ``Last-Event-ID`` resumes after a
line. The stream replays the lines after the resume point, follows new ones live, and
after the run's end sends the ``end`` frame and closes; a finished run with no line
left gets 204, which stops ``EventSource``. Timing, heartbeats and slow clients follow
the native streams' rules (``EventStreamResponse``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response

from runstream import Engine
from runstream.api.auth import ActingOrg
from runstream.api.native.params import EngineDep, last_event_id, parse_seq
from runstream.api.native.schemas import ErrorBody
from runstream.api.native.streams import LastEventIdHeader, LastEventIdQuery, respond
from runstream.api.runs.lines import has_lines_after, load_run, numbered_lines, status_of
from runstream.model import Event
from runstream.observability.streamlog import StreamStats
from runstream.streaming.feed import Feed, Item
from runstream.streaming.frames import FrameBodies
from runstream.streaming.response import EventStreamResponse
from runstream.streaming.wire.runs import end_frame, line_frame, line_text

router = APIRouter(prefix="/api/v1/workflows", tags=["runs"])

_EXAMPLE = (
    "retry: 3000\n\n"
    'id: 1\ndata: {"type":"system","subtype":"init","session_id":"…",…}\n\n'
    'id: 2\ndata: {"type":"assistant","message":{"content":[{"type":"text","text":"…"}]},…}\n\n'
    'id: 3\ndata: {"type":"result","subtype":"success","result":"…","total_cost_usd":0.01,…}\n\n'
    'event: end\ndata: {"run_id":"…","status":"completed",…}\n\n'
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The run's lines after the resume point, then live ones.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
    },
    204: {"description": "The run has finished and no line is left to send."},
    400: {"model": ErrorBody, "description": "``Last-Event-ID`` is not a line number."},
    404: {"model": ErrorBody, "description": "No such run."},
}


def _line_text(event: Event) -> bytes:
    return line_text(event.data)


TEXTS = FrameBodies(_line_text)
"""Each line encoded once for all its subscribers (SSE and WebSocket); keyed by execution id
and seq, which no other app's event shares, so one cache serves every app of a process."""


@router.get(
    "/{run_id}/stream",
    response_class=EventStreamResponse,
    status_code=200,
    summary="Stream a run's Claude Code lines",
    responses=RESPONSES,
)
async def stream_run(
    request: Request,
    run_id: str,
    engine: EngineDep,
    org: ActingOrg,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> Response:
    """Every stdout line of the session as written, ``id`` its line number (1, 2, …)."""
    param, raw = last_event_id(last_event_id_header, last_event_id_query)
    after = parse_seq(param, raw)
    snapshot = await load_run(engine, run_id, org)
    if snapshot.status.is_terminal and not await has_lines_after(engine, snapshot.id, after):
        return Response(status_code=204)
    feed = Feed(_frames(engine, snapshot.id, after))
    stats = StreamStats("runs", org, snapshot.id, resume_id=raw)
    # Whether anything is left was decided above: the stream starts (or gets its 429).
    return await respond(request, feed, stats, finished=False, param=param)


async def _frames(engine: Engine, run_id: str, after: int) -> AsyncIterator[Item]:
    lines = numbered_lines(engine, run_id, after)
    try:
        async for number, event in lines:
            yield str(number), line_frame(number, TEXTS(event))
    finally:
        await lines.aclose()
    snapshot = await engine.get(run_id)
    if snapshot.status.is_terminal:
        yield "end", end_frame(await status_of(engine, snapshot))
