"""SSE endpoints of the v0 API: ``GET /api/v0/executions/{workflows|agents|tasks}/{id}/stream``.

The same log and the same response machinery as the native streams, with the v0
frames (``streaming/wire/v0.py``) and ``: ping`` heartbeats. Every check happens
before the stream starts (a JSON 400/404, never a stream), and a finished execution
with nothing left after ``Last-Event-ID`` gets **204**. In text mode, chunks that
another producer publishes on Redis ``stream:tokens:<id>`` join the stream without
an ``id``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from runstream import Engine
from runstream.api.errors import bad_request
from runstream.api.native.params import EngineDep, last_event_id, parse_seq
from runstream.api.native.streams import respond
from runstream.api.v0.executions import ERRORS, PREFIX, ExecId, load, org_of, tally
from runstream.api.v0.kinds import is_text
from runstream.api.v0.schemas import V0StreamEvent
from runstream.api.v0.usage import UsageTally, started_by
from runstream.model import Event, Snapshot
from runstream.observability import metrics
from runstream.observability.streamlog import StreamStats
from runstream.streaming.feed import Feed, Item
from runstream.streaming.redis_tokens import TokenChannel
from runstream.streaming.response import EventStreamResponse
from runstream.streaming.wire.sse import frame
from runstream.streaming.wire.v0 import (
    EVENT_NAMES,
    Encoder,
    Family,
    Stream,
    add_usage,
    parse_events,
)

FANOUT = metrics.FANOUT_LATENCY.labels("v0")

PollMs = Annotated[
    int | None,
    Query(
        ge=250,
        le=2000,
        description="Accepted for seed 002 clients (default 500, or ``STREAM_POLL_MS_DEFAULT``) "
        "and validated; runstream pushes each event the moment it is committed, so nothing "
        "is polled at this interval.",
    ),
]
Events = Annotated[
    str | None,
    Query(
        description="Comma allowlist of event names: " + ", ".join(EVENT_NAMES) + ". "
        "Unknown names are a 400. Ids of the frames left out still advance the resume point.",
        examples=["workflow_status,llm_chunk,complete"],
    ),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this id (an integer; every frame's id is resumable).",
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        alias="lastEventId",
        description="Same as the ``Last-Event-ID`` header, for clients that cannot set headers.",
    ),
]

_EXAMPLES = {
    Family.WORKFLOWS: (
        'id: 2\nevent: workflow_start\ndata: {"workflowId":"pipeline",'
        '"ts":"2025-10-22T12:45:03.123Z"}\n\n'
        'id: 5\nevent: workflow_status\ndata: {"status":"RUNNING","step":"summarize",'
        '"event":"TASK_STARTED","ts":"2025-10-22T12:45:03.130Z"}\n\n'
        ": ping\n\n"
        'id: 9\nevent: complete\ndata: {"status":"SUCCESS","result":"done","durationMs":412,'
        '"ts":"2025-10-22T12:45:03.535Z"}\n\n'
    ),
    Family.AGENTS: (
        'id: 3\nevent: agent_start\ndata: {"agentId":"writer","model":"openai:gpt-4o-mini",'
        '"ts":"2025-10-22T12:45:03.123Z"}\n\n'
        "id: 4\nevent: llm_chunk\ndata: Hello\n\n"
        "id: 5\nevent: llm_chunk\ndata:  world\ndata: \n\n"
        'id: 7\nevent: complete\ndata: {"status":"SUCCESS","result":"Hello world\\n",'
        '"usage":{"requests":1,"inputTokens":12,"outputTokens":3},"durationMs":380,'
        '"ts":"2025-10-22T12:45:03.503Z"}\n\n'
    ),
    Family.TASKS: (
        'id: 2\nevent: task_status\ndata: {"status":"RUNNING","step":"compose",'
        '"event":"TASK_STARTED","ts":"2025-10-22T12:45:03.123Z"}\n\n'
        "id: 3\nevent: llm_chunk\ndata: partial text\n\n"
        'id: 4\nevent: error\ndata: {"status":"FAILED","error":"boom","message":'
        '"task \'compose\' failed: boom","durationMs":20,"ts":"2025-10-22T12:45:03.143Z"}\n\n'
    ),
}


def _responses(family: Family) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "The v0 event stream: the log after the resume point, then live; "
            "it closes after `complete` or `error`.",
            # Before OpenAPI 3.2 (``itemSchema``) an event stream's schema describes one event.
            "model": V0StreamEvent,
            "content": {
                "text/event-stream": {"schema": {"type": "object"}, "example": _EXAMPLES[family]}
            },
        },
        204: {"description": "The execution has finished and nothing is left to send."},
        **ERRORS,
    }


def router(family: Family) -> APIRouter:
    """The stream route of one family."""
    routes = APIRouter(prefix=PREFIX, tags=[f"v0 {family.value}"])
    noun = family.noun
    mode = (
        "JSON frames"
        if family is Family.WORKFLOWS
        else "JSON frames when it has an output schema, otherwise `llm_chunk` frames of plain text"
    )

    @routes.get(
        f"/executions/{family.value}/{{exec_id}}/stream",
        response_class=EventStreamResponse,
        status_code=200,
        summary=f"Stream a {noun} execution",
        description=f"Server-Sent Events of one {noun} execution ({mode}); every frame's `id` "
        "is its seq in the log, so any frame resumes with `Last-Event-ID`.",
        responses=_responses(family),
    )
    async def stream(
        request: Request,
        exec_id: ExecId,
        engine: EngineDep,
        poll_ms: PollMs = None,
        events: Events = None,
        last_event_id_header: LastEventIdHeader = None,
        last_event_id_query: LastEventIdQuery = None,
    ) -> Response:
        # poll_ms is validated for seed 002 clients; events are pushed, never polled here.
        try:
            wanted = parse_events(events)
        except ValueError as exc:
            raise bad_request("events", str(exc)) from None
        param, raw = last_event_id(last_event_id_header, last_event_id_query)
        after = parse_seq(param, raw)
        snapshot = await load(engine, org_of(request), family, exec_id)
        finished = snapshot.status.is_terminal
        if finished and after >= snapshot.last_seq:
            return Response(status_code=204)
        text = is_text(engine.app, snapshot)
        spec = Stream(family, snapshot.kind, text, snapshot.created_at)
        tokens: TokenChannel | None = getattr(request.app.state, "v0_tokens", None)
        feed: Feed

        def heard(chunk: str) -> None:
            # Another producer's chunk is not in the log: no id, nothing to resume.
            feed.offer(("", frame(event="llm_chunk", data=chunk)))

        external = heard if text and tokens is not None and _allows(wanted, "llm_chunk") else None
        source = _frames(engine, snapshot, spec, after, wanted, tally(request), tokens, external)
        feed = Feed(source)
        stats = StreamStats("v0", snapshot.org, snapshot.id, resume_id=raw)
        return await respond(request, feed, stats, finished=finished, param=param, heartbeat="ping")

    return routes


async def _ends(engine: Engine, event: Event) -> bool:
    """Whether a terminal event closes the log: a manual retry may have reopened a failure."""
    status, last_seq = await engine.store.log_position(event.execution_id)
    return status.is_terminal and last_seq <= event.seq


def _allows(wanted: frozenset[str] | None, name: str) -> bool:
    return wanted is None or name in wanted


async def _frames(
    engine: Engine,
    snapshot: Snapshot,
    spec: Stream,
    after: int,
    wanted: frozenset[str] | None,
    usage: UsageTally,
    tokens: TokenChannel | None,
    external: Callable[[str], None] | None,
) -> AsyncIterator[Item]:
    """The v0 frames of one log after ``after``; ends after the terminal event."""
    stop = tokens.listen(snapshot.id, external) if tokens and external else None
    events = engine.stream(snapshot.id, after=after)
    try:
        started = after > 0 and await started_by(engine, snapshot.id, after)
        encoder = Encoder(spec, started=started)
        async for event in events:
            if event.seq > snapshot.last_seq:  # committed while the stream was open
                FANOUT.observe(max(0.0, time.time() - event.ts / 1000))
            if event.is_terminal and after > 0:
                # complete.usage sums the whole log, the part before the resume point too.
                prefix = await usage.upto(engine, snapshot.id, after)
                encoder.usage = add_usage(prefix, encoder.usage or {})
            ends = event.is_terminal and await _ends(engine, event)
            framed = encoder.encode(event, ends=ends)
            keep = framed is not None and _allows(wanted, framed[0])
            yield str(event.seq), framed[1] if framed is not None and keep else None
            if ends:
                return
    finally:
        if stop is not None:
            stop()
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
