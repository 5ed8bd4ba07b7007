"""When a stream sends heartbeats, when it ends, and what it sends last."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import orjson

from .conftest import Live, until
from .sse import Block


async def _resume_at_end(live: Live, kind: str = "gated") -> tuple[str, dict[str, str]]:
    execution_id = await live.start(kind)
    snapshot = await live.waiting(execution_id)
    return execution_id, {"Last-Event-ID": str(snapshot.last_seq)}


async def test_heartbeats_at_the_configured_interval(live: Live) -> None:
    execution_id, headers = await _resume_at_end(live)
    async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
        await stream.block()
        stamps = []
        for _ in range(4):
            block = await stream.block(timeout=1)
            assert block is not None and block.raw == b": keep-alive\n\n"
            stamps.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(0.15 < gap < 0.4 for gap in gaps), gaps


async def test_close_after_the_terminal_event_then_204(live: Live) -> None:
    execution_id = await live.start("gated")
    path = live.path(execution_id, "/stream")
    async with live.stream(path) as stream:
        await until(lambda: live.streams.in_flight == 1, 2)
        response = await live.http.post(f"{live.path(execution_id)}/promises/go/resolve", json={})
        assert response.status_code == 200
        blocks = await stream.blocks()
    terminal = orjson.loads(blocks[-1].data or "")
    assert terminal["event"] == "WORKFLOW_COMPLETED"
    snapshot = await live.engine.get(execution_id)
    assert blocks[-1].id == str(snapshot.last_seq)
    async with live.stream(path, {"Last-Event-ID": str(snapshot.last_seq)}) as again:
        assert again.status == 204
        assert await again.body() == b""
    # A fresh connection to a finished execution replays it.
    async with live.stream(path) as fresh:
        assert fresh.status == 200
        assert [b.raw for b in (await fresh.blocks())[1:]] == [b.raw for b in blocks[1:]]
    await live.no_streams()


async def test_idle_timeout_ignores_heartbeats(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    async with serve(heartbeat_seconds=0.1, idle_timeout_seconds=0.5) as live:
        execution_id, headers = await _resume_at_end(live)
        began = time.perf_counter()
        async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
            blocks = await stream.blocks()
        elapsed = time.perf_counter() - began
        assert 0.45 < elapsed < 1.5
        assert blocks[0].raw == b"retry: 100\n\n"
        assert {b.raw for b in blocks[1:-1]} == {b": keep-alive\n\n"}
        assert blocks[-1].raw == b": idle timeout\nretry: 100\n\n"
        await live.no_streams()


async def test_events_postpone_the_idle_timeout(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    async with serve(heartbeat_seconds=0.1, idle_timeout_seconds=0.4) as live:
        execution_id, headers = await _resume_at_end(live, "inbox")
        began = time.perf_counter()
        async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
            await asyncio.sleep(0.3)
            await live.http.post(f"{live.path(execution_id)}/messages", json={"message": 1})
            blocks = await stream.blocks()
        assert time.perf_counter() - began < 2
        assert orjson.loads(blocks[-1].data or "")["event"] == "WORKFLOW_COMPLETED"


async def test_maximum_connection_time(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    async with serve(heartbeat_seconds=0.1, max_connection_seconds=0.6) as live:
        execution_id, headers = await _resume_at_end(live)
        began = time.perf_counter()
        async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
            blocks = await stream.blocks()
        assert 0.55 < time.perf_counter() - began < 1.5
        assert blocks[-1].raw == b": maximum connection time\nretry: 100\n\n"
        await live.no_streams()


async def test_server_stop_ends_open_streams_with_a_retry_hint(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    async with serve(heartbeat_seconds=5.0) as live:
        execution_id, headers = await _resume_at_end(live)
        async with (
            live.stream(live.path(execution_id, "/stream"), headers) as first,
            live.stream(live.path(execution_id, "/stream")) as second,
        ):
            await until(lambda: live.streams.in_flight == 2, 2)
            began = time.perf_counter()
            live.server.should_exit = True
            ends: list[Block] = []
            for stream in (first, second):
                ends.append((await stream.blocks(timeout=3))[-1])
            assert time.perf_counter() - began < 1.0
        assert [b.raw for b in ends] == [b": server shutting down\nretry: 100\n\n"] * 2
        assert live.streams.in_flight == 0
        # The workflow itself is untouched by the streams ending.
        assert not (await live.engine.get(execution_id)).status.is_terminal
