"""The Redis ``stream:tokens:<id>`` channel both ways, with real Redis servers.

The shared Redis at 127.0.0.1:6379 carries the interop tests (execution ids are unique,
so channels never collide); a private ``redis-server`` started here is killed mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from runstream.model import EventType, new_id
from runstream.streaming.redis_tokens import TokenChannel
from runstream.streaming.wire.v0 import rfc3339

from ..conftest import Live, until
from ..sse import Block
from .conftest import start, stream_path
from .flows import gate

SHARED = "redis://127.0.0.1:6379/0"

Serve = Callable[..., AbstractAsyncContextManager[Live]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A throwaway ``redis-server`` on a free port; killed at the end if still running."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is needed (apt-get install redis-server)"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(5)


@contextlib.asynccontextmanager
async def watching(url: str) -> AsyncIterator[aioredis.client.PubSub]:
    """A pattern subscription on every token channel, opened before anything is published."""
    client = aioredis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe("stream:tokens:*")
    try:
        yield pubsub
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def messages_for(
    pubsub: aioredis.client.PubSub, exec_id: str, count: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(found) < count:
            message = await pubsub.get_message(timeout=1.0)
            if message and message["channel"] == f"stream:tokens:{exec_id}".encode():
                found.append(orjson.loads(message["data"]))
    return found


def channel(live: Live) -> TokenChannel:
    app = live.server.config.app
    assert isinstance(app, FastAPI)
    found: TokenChannel = app.state.v0_tokens
    return found


async def test_text_chunks_are_published_with_their_seq(serve: Serve) -> None:
    async with serve(bus_url=SHARED) as live, watching(SHARED) as pubsub:
        exec_id = await start(live, "agents", "writer", "x")
        await live.finished(exec_id)
        tokens = [e for e in await live.engine.events(exec_id) if e.type == EventType.TOKEN]
        published = await messages_for(pubsub, exec_id, len(tokens))
        assert published == [
            {"type": "llm_chunk", "content": e.data, "ts": rfc3339(e.ts), "seq": e.seq}
            for e in tokens
        ]
        # Chunks of a task inside a workflow live in the workflow's log: not published.
        workflow = await start(live, "workflows", "doomed")
        await live.finished(workflow)
        marker = await start(live, "tasks", "compose", ["marker"])
        await live.finished(marker)
        heard: list[bytes] = []
        async with asyncio.timeout(5):
            while f"stream:tokens:{marker}".encode() not in heard:
                message = await pubsub.get_message(timeout=1.0)
                if message:
                    heard.append(message["channel"])
        assert f"stream:tokens:{workflow}".encode() not in heard
        assert channel(live).dropped == 0


async def test_another_producers_chunks_reach_open_text_streams(serve: Serve) -> None:
    key = f"interop-in-{new_id()}"  # a fresh gate per run (and per backend)
    async with serve(bus_url=SHARED) as live:
        await asyncio.wait_for(channel(live).subscribed.wait(), 5)
        exec_id = await start(live, "tasks", "held", {"key": key, "before": 1, "after": 1})
        publisher = aioredis.from_url(SHARED)
        blocks: list[Block] = []
        async with live.stream(stream_path("tasks", exec_id)) as stream:
            while not any(b.data == "b0 " for b in blocks):
                block = await stream.block()
                assert block is not None
                blocks.append(block)
            other = {"type": "llm_chunk", "content": "from elsewhere\nline 2", "ts": "x"}
            ours = {**other, "content": "in the log already", "seq": 99}
            await publisher.publish(f"stream:tokens:{exec_id}", orjson.dumps(ours))
            await publisher.publish(f"stream:tokens:{exec_id}", orjson.dumps(other))
            while not any(b.data and b.data.startswith("from") for b in blocks):
                block = await stream.block()
                assert block is not None
                blocks.append(block)
            assert channel(live).listeners == 1
            gate(key).set()
            blocks += await stream.blocks()
        await publisher.aclose()
        await until(lambda: channel(live).listeners == 0, 2)
    chunks = [b for b in blocks if b.event == "llm_chunk"]
    assert [(b.id is None, b.data) for b in chunks] == [
        (False, "b0 "),
        (True, "from elsewhere\nline 2"),
        (False, "a0 "),
    ]
    assert next(b for b in chunks if b.id is None).raw == (
        b"event: llm_chunk\ndata: from elsewhere\ndata: line 2\n\n"
    )
    assert blocks[-1].event == "complete"


async def test_json_streams_do_not_take_outside_chunks(serve: Serve) -> None:
    async with serve(bus_url=SHARED) as live:
        await asyncio.wait_for(channel(live).subscribed.wait(), 5)
        exec_id = await start(live, "workflows", "waiting")
        await live.waiting(exec_id)
        publisher = aioredis.from_url(SHARED)
        async with live.stream(stream_path("workflows", exec_id)) as stream:
            await stream.block()
            outside = {"type": "llm_chunk", "content": "nope", "ts": "x"}
            await publisher.publish(f"stream:tokens:{exec_id}", orjson.dumps(outside))
            await asyncio.sleep(0.2)
            await live.engine.resolve_promise(exec_id, "go", 1)
            blocks = await stream.blocks()
        await publisher.aclose()
    assert not [b for b in blocks if b.event == "llm_chunk"]


async def test_redis_killed_mid_stream_the_stream_goes_on_from_the_log(serve: Serve) -> None:
    key = f"redis-killed-{new_id()}"  # a fresh gate per run (and per backend)
    with private_redis() as (process, url):
        client = aioredis.from_url(url)
        async with asyncio.timeout(5):
            while True:
                with contextlib.suppress(Exception):
                    if await client.ping():
                        break
                await asyncio.sleep(0.02)
        await client.aclose()
        async with serve(bus_url=url) as live:
            await asyncio.wait_for(channel(live).subscribed.wait(), 5)
            plan = {"key": key, "before": 3, "after": 30, "pause": 0.01}
            exec_id = await start(live, "tasks", "held", plan)
            async with live.stream(stream_path("tasks", exec_id)) as stream:
                received: list[Block] = []
                while len([b for b in received if b.event == "llm_chunk"]) < 3:
                    block = await stream.block()
                    assert block is not None
                    received.append(block)
                process.kill()
                process.wait(5)
                gate(key).set()
                received += await stream.blocks(timeout=10)
            await until(lambda: not channel(live).subscribed.is_set(), 5)
            # New requests work with Redis gone.
            again = await start(live, "tasks", "compose", ["still", " here"])
            await live.finished(again)
            async with live.stream(stream_path("tasks", again)) as stream:
                after = await stream.blocks()
            log = await live.engine.events(exec_id, limit=1000)
    assert [int(b.id) for b in received if b.id] == [e.seq for e in log]
    text = "".join(b.data or "" for b in received if b.event == "llm_chunk")
    assert text == "b0 b1 b2 " + "".join(f"a{i} " for i in range(30))
    assert received[-1].event == "complete"
    assert "".join(b.data or "" for b in after if b.event == "llm_chunk") == "still here"


async def test_redis_down_from_the_start_fails_no_request(serve: Serve) -> None:
    async with serve(bus_url=f"redis://127.0.0.1:{free_port()}/0") as live:
        exec_id = await start(live, "agents", "writer", "x")
        await live.finished(exec_id)
        async with live.stream(stream_path("agents", exec_id)) as stream:
            blocks = await stream.blocks()
        assert blocks[-1].event == "complete"
        status = await live.http.get(f"/api/v0/executions/agents/{exec_id}")
        assert status.json()["data"]["status"] == "SUCCESS"
        assert not channel(live).subscribed.is_set()


@pytest.mark.parametrize("variable", ["RUNSTREAM_BUS", "RUNSTREAM_REDIS_URL"])
def test_the_bus_comes_from_either_variable(variable: str) -> None:
    from runstream.config import Settings

    assert Settings.from_env({variable: SHARED}).bus_url == SHARED
