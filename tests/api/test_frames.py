"""What goes over the wire: headers, the first bytes, and every frame byte for byte."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

import runstream
from runstream.streaming.wire.native import encode

from .conftest import Live


async def test_headers_and_retry_hint_first(live: Live) -> None:
    execution_id = await live.start("gated")
    snapshot = await live.waiting(execution_id)
    began = time.perf_counter()
    # Resume at the end of the log: nothing to replay, so only the hint can arrive at once.
    # Compressing middleware would hold those bytes back; there must be none.
    headers = {"Last-Event-ID": str(snapshot.last_seq), "Accept-Encoding": "gzip, br"}
    async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
        first = await stream.block()
        elapsed = time.perf_counter() - began
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["connection"] == "keep-alive"
    assert stream.headers["x-accel-buffering"] == "no"
    assert "content-length" not in stream.headers
    assert "content-encoding" not in stream.headers
    assert first is not None and first.raw == b"retry: 100\n\n"
    assert elapsed < live.settings.heartbeat_seconds


async def test_every_frame_is_the_wire_encoding_of_its_event(live: Live) -> None:
    execution_id = await live.start("kinds")
    snapshot = await live.finished(execution_id)
    log = await live.engine.events(execution_id, limit=1000)
    assert [e.seq for e in log] == list(range(1, snapshot.last_seq + 1))
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        blocks = await stream.blocks()
    assert blocks[0].raw == b"retry: 100\n\n"
    assert [b.raw for b in blocks[1:]] == [encode(e) for e in log]


async def test_frames_of_emitted_events_byte_exact(live: Live) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        blocks = await stream.blocks()
    emitted = {b.event: b for b in blocks if b.event in ("token", "progress", "error")}
    token, progress, error = emitted["token"], emitted["progress"], emitted["error"]
    seq = int(token.id or 0)
    assert token.raw == (
        b"id: %d\nevent: token\ndata: line one\ndata: line two\ndata: line three\ndata: end\n\n"
        % seq
    )
    assert progress.raw == b"id: %d\nevent: progress\ndata: 0.75\n\n" % (seq + 1)
    data = next(b for b in blocks if b.id == str(seq + 2))
    assert data.raw == (
        b'id: %d\nevent: data\ndata: {"status":"processing","itemsProcessed":42,"text":"h\xc3\xa9 '
        b'\xe2\x98\x83"}\n\n' % (seq + 2)
    )
    assert error.raw == b"id: %d\nevent: error\ndata: rate limited\ndata: retry later\n\n" % (
        seq + 3
    )
    # What an EventSource hands the page: line breaks of every kind arrive as \n.
    assert token.data == "line one\nline two\nline three\nend"
    assert error.data == "rate limited\nretry later"


async def test_lifecycle_events_use_the_event_envelope(live: Live) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        blocks = await stream.blocks()
    envelopes = [orjson.loads(b.data or "") for b in blocks if b.event == "data"]
    lifecycle = [e for e in envelopes if e.get("type") == "Event"]
    assert lifecycle[0]["event"] == "WORKFLOW_CREATED"
    assert lifecycle[-1]["event"] == "WORKFLOW_COMPLETED"
    assert {"STATE_SET", "TASK_CREATED", "TASK_COMPLETED"} <= {e["event"] for e in lifecycle}
    for envelope in lifecycle:
        assert list(envelope) == ["type", "event", "data", "timestampMs"]
        assert isinstance(envelope["timestampMs"], int)
    assert lifecycle[-1]["data"]["id"] == execution_id


async def test_standalone_task_stream(live: Live) -> None:
    response = await live.http.post(
        "/api/orgs/default/task-executions", json={"kind": "hello", "input": "ada"}
    )
    assert response.status_code == 201
    execution_id = response.json()["id"]
    async with live.stream(live.path(execution_id, "/stream", kind="task")) as stream:
        blocks = await asyncio.wait_for(stream.blocks(), 10)
    tokens = [b.data for b in blocks if b.event == "token"]
    assert tokens == ["hello ada"]
    last = orjson.loads(blocks[-1].data or "")
    assert (last["event"], last["data"]["status"]) == ("TASK_COMPLETED", "COMPLETED")


def test_no_base_http_middleware() -> None:
    # BaseHTTPMiddleware buffers and breaks streaming responses (PITFALLS 6).
    src = Path(runstream.__file__).parent
    offenders = [p for p in src.rglob("*.py") if "BaseHTTPMiddleware" in p.read_text()]
    assert offenders == []
