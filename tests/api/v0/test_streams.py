"""v0 streams from a real server: shapes, text reassembly, resume, allowlists, lifecycle."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import orjson
import pytest

from runstream.config import Settings
from runstream.model import new_id

from ..conftest import FAST, Live, until
from ..sse import Block
from .conftest import read_all, start, stream_path
from .flows import FIXED, TEXT, gate
from .test_frames import finish_pipeline


def chunks(blocks: list[Block]) -> str:
    """The text an ``EventSource`` page gets by appending every ``llm_chunk``'s data."""
    return "".join(b.data or "" for b in blocks if b.event == "llm_chunk")


async def test_workflow_stream_is_json_from_workflow_start_to_complete(live: Live) -> None:
    exec_id = await finish_pipeline(live)
    blocks = await read_all(live, "workflows", exec_id)
    assert blocks[0].event == "workflow_start"
    assert blocks[-1].event == "complete"
    ids = [int(b.id or "") for b in blocks]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    payloads = [orjson.loads(b.data or "") for b in blocks]
    assert all(isinstance(p, dict) and p["ts"].endswith("Z") for p in payloads)
    end = payloads[-1]
    assert end["status"] == "SUCCESS" and isinstance(end["durationMs"], int)
    assert end["durationMs"] >= 0
    # Text chunks of the workflow's tasks are JSON too.
    assert [p["content"] for b, p in zip(blocks, payloads, strict=True) if b.event == "llm_chunk"]


@pytest.mark.parametrize(
    ("family", "name", "input", "text"),
    [
        ("agents", "writer", "x", "".join(TEXT)),
        ("tasks", "compose", ["one\n", "\n", "two", "", "three\n\n"], "one\n\ntwothree\n\n"),
    ],
)
async def test_text_chunks_reassemble_exactly(
    live: Live, family: str, name: str, input: object, text: str
) -> None:
    exec_id = await start(live, family, name, input)
    await live.finished(exec_id)
    status = (await live.http.get(f"/api/v0/executions/{family}/{exec_id}")).json()["data"]
    blocks = await read_all(live, family, exec_id)
    assert chunks(blocks) == text == status["output"]


async def test_resume_at_every_id_gives_exactly_the_rest(live: Live) -> None:
    for family, exec_id in [
        ("agents", await start(live, "agents", "writer", "x")),
        ("workflows", await finish_pipeline(live)),
        ("tasks", await start(live, "tasks", "boom", "no")),
    ]:
        last = (await live.finished(exec_id)).last_seq
        full = await read_all(live, family, exec_id)
        for after in range(last):
            rest = await read_all(live, family, exec_id, headers={"Last-Event-ID": str(after)})
            assert [b.raw for b in rest] == [b.raw for b in full if int(b.id or "") > after]
        async with live.stream(
            stream_path(family, exec_id), {"Last-Event-ID": str(last)}
        ) as stream:
            assert stream.status == 204
        # lastEventId in the query works as well, for clients that cannot set headers.
        tail = await read_all(live, family, exec_id, query=f"lastEventId={last - 1}")
        assert [b.raw for b in tail] == [full[-1].raw]


async def test_resume_mid_text_while_live(live: Live) -> None:
    key = f"mid-text-{new_id()}"  # a fresh gate per run (and per backend)
    exec_id = await start(live, "tasks", "held", {"key": key, "before": 3, "after": 5})
    received: list[Block] = []
    async with live.stream(stream_path("tasks", exec_id)) as stream:
        while len([b for b in received if b.event == "llm_chunk"]) < 2:
            block = await stream.block()
            assert block is not None
            if block.id:
                received.append(block)
    gate(key).set()
    last = received[-1].id or ""
    async with live.stream(stream_path("tasks", exec_id), {"Last-Event-ID": last}) as stream:
        rest = [b for b in await stream.blocks() if b.id]
    whole = received + rest
    assert [int(b.id or "") for b in whole] == list(
        range(1, (await live.engine.get(exec_id)).last_seq + 1)
    )
    assert chunks(whole) == "b0 b1 b2 a0 a1 a2 a3 a4 "


async def test_events_allowlist_keeps_resume_moving(live: Live) -> None:
    exec_id = await start(live, "agents", "writer", "x")
    snapshot = await live.finished(exec_id)
    full = await read_all(live, "agents", exec_id)
    only = await read_all(live, "agents", exec_id, query="events=llm_chunk,%20COMPLETE")
    assert [b.raw for b in only] == [b.raw for b in full if b.event in ("llm_chunk", "complete")]
    # The terminal event filtered out: its id still goes out, alone, at the end.
    starts = await read_all(live, "agents", exec_id, query="events=agent_start")
    assert [b.event for b in starts] == ["agent_start", None]
    assert starts[-1].raw == b"id: %d\n\n" % snapshot.last_seq
    # Resuming a filtered stream mid-text gives the allowed rest.
    third = [b for b in full if b.event == "llm_chunk"][2]
    rest = await read_all(
        live, "agents", exec_id, query="events=llm_chunk", headers={"Last-Event-ID": third.id or ""}
    )
    assert [b.raw for b in rest if b.event] == [
        b.raw for b in full if b.event == "llm_chunk" and int(b.id or "") > int(third.id or "")
    ]
    assert rest[-1].raw == b"id: %d\n\n" % snapshot.last_seq
    # Nothing allowed is left: 204.
    async with live.stream(stream_path("agents", exec_id, "events=structured_delta")) as stream:
        assert stream.status == 204


async def test_live_filtered_ids_ride_on_the_ping(live: Live) -> None:
    key = f"filtered-ping-{new_id()}"  # a fresh gate per run (and per backend)
    exec_id = await start(live, "tasks", "held", {"key": key, "before": 2})
    async with live.stream(stream_path("tasks", exec_id, "events=complete")) as stream:
        assert (await stream.block()) is not None  # retry hint
        beat = await stream.block(timeout=2)
        assert beat is not None and beat.comments == ["ping"]
        assert beat.raw.startswith(b": ping\nid: ")
        assert int(beat.id or "") >= 3  # TASK_CREATED, TASK_STARTED and a chunk at least
        gate(key).set()
        rest = await stream.blocks()
    assert [b.event for b in rest if b.event] == ["complete"]


async def test_headers_ping_and_close_after_complete(live: Live) -> None:
    key = f"ping-{new_id()}"  # a fresh gate per run (and per backend)
    exec_id = await start(live, "tasks", "held", {"key": key, "before": 0})
    snapshot = await live.engine.get(exec_id)
    began = time.perf_counter()
    async with live.stream(stream_path("tasks", exec_id)) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        assert (await stream.block()) == Block(b"retry: 100\n\n", retry=100)
        seen: list[Block] = []
        while not any(b.raw == b": ping\n\n" for b in seen):
            block = await stream.block(timeout=2)
            assert block is not None
            seen.append(block)
        assert time.perf_counter() - began >= live.settings.heartbeat_seconds * 0.9
        gate(key).set()
        rest = await stream.blocks()
    assert rest[-1].event == "complete"
    assert snapshot.id == exec_id
    await live.no_streams()


async def test_a_failed_execution_ends_with_error(live: Live) -> None:
    exec_id = await start(live, "workflows", "doomed")
    blocks = await read_all(live, "workflows", exec_id)
    end = orjson.loads(blocks[-1].data or "")
    assert blocks[-1].event == "error"
    assert end["status"] == "FAILED"
    assert "no luck" in end["error"] and "no luck" in end["message"]


async def test_a_cancelled_execution_ends_with_error_canceled(live: Live) -> None:
    exec_id = await start(live, "workflows", "waiting")
    await live.waiting(exec_id)
    async with live.stream(stream_path("workflows", exec_id)) as stream:
        await live.engine.cancel(exec_id, reason="changed my mind")
        blocks = await stream.blocks()
    end = orjson.loads(blocks[-1].data or "")
    assert (blocks[-1].event, end["status"]) == ("error", "CANCELED")


async def test_one_execution_through_both_apis(live: Live) -> None:
    exec_id = await start(live, "tasks", "compose", ["a\n", "b"])
    await live.finished(exec_id)
    native = await live.http.get(live.path(exec_id, kind="task"))
    assert native.json()["output"] == "a\nb"
    other = await live.http.post(
        "/api/orgs/default/task-executions", json={"kind": "compose", "input": ["c"]}
    )
    other_id = other.json()["id"]
    await live.finished(other_id)
    assert chunks(await read_all(live, "tasks", other_id)) == "c"


async def test_seed_002_variables_apply_to_v0_streams(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    seed = Settings.from_env(
        {
            "STREAM_HEARTBEAT_SECONDS": "0.1",
            "STREAM_MAX_CONN_MINUTES": "0.01",
            "STREAM_POLL_MS_DEFAULT": "300",
        }
    )
    assert (seed.heartbeat_seconds, seed.max_connection_seconds, seed.poll_ms) == (0.1, 0.6, 300)
    overrides: dict[str, Any] = {
        "heartbeat_seconds": seed.heartbeat_seconds,
        "max_connection_seconds": seed.max_connection_seconds,
        "poll_ms": seed.poll_ms,
    }
    assert replace(FAST, **overrides).poll_ms == 300
    async with serve(**overrides) as live:
        key = f"seed-vars-{new_id()}"  # a fresh gate per run (and per backend)
        exec_id = await start(live, "tasks", "held", {"key": key, "before": 0})
        began = time.perf_counter()
        async with live.stream(stream_path("tasks", exec_id)) as stream:
            blocks = await stream.blocks(timeout=5)
        elapsed = time.perf_counter() - began
        gate(key).set()
        await until(lambda: live.streams.in_flight == 0, 2)
    pings = [b for b in blocks if b.comments == ["ping"]]
    assert len(pings) >= 3
    assert blocks[-1].raw == b": maximum connection time\nretry: 100\n\n"
    assert 0.5 <= elapsed < 3


@pytest.mark.parametrize(("family", "name"), [("tasks", "flaky"), ("workflows", "shaky")])
async def test_a_manual_retry_reopens_a_failed_stream(live: Live, family: str, name: str) -> None:
    key = f"retry-{family}-{new_id()}"  # a fresh gate per run (and per backend)
    exec_id = await start(live, family, name, key)
    failed = await read_all(live, family, exec_id)
    assert failed[-1].event == "error"
    end = failed[-1].id or ""
    FIXED.add(key)
    await live.engine.retry(exec_id, reason="fixed")
    await live.finished(exec_id)
    # Resumed after the old end: the retry's frames, the new end last.
    rest = await read_all(live, family, exec_id, headers={"Last-Event-ID": end})
    first = orjson.loads(rest[0].data or "")
    assert (first["step"], first["data"]["reason"]) == ("RETRY_REQUESTED", "fixed")
    assert rest[-1].event == "complete"
    assert orjson.loads(rest[-1].data or "")["result"] == "fixed"
    # Replayed from the start, the old failure is no longer the end: a FAILED status frame.
    whole = await read_all(live, family, exec_id)
    old = next(b for b in whole if b.id == end)
    assert old.event == f"{family[:-1]}_status"
    assert orjson.loads(old.data or "")["status"] == "FAILED"
    assert [b.raw for b in whole if int(b.id or "") > int(end)] == [b.raw for b in rest]
    assert [b.event for b in whole].count("complete") == 1
    assert "error" not in [b.event for b in whole]
