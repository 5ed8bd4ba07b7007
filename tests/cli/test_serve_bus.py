"""``runstream serve --bus redis://…`` publishes text chunks on seed 002's token channel."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from tests.conftest import sqlite_url

from .conftest import HERE, command, environment, free_port, stop, wait_listening

REDIS = "redis://127.0.0.1:6379/0"


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*args),
        env=environment(**env),
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.parametrize("how", ["flag", "RUNSTREAM_REDIS_URL"])
async def test_serve_with_a_redis_bus_publishes_chunks(tmp_path: Path, how: str) -> None:
    port = free_port()
    args = ["serve", "apps:app", "--port", str(port), "--log-level", "warning"]
    env = {"RUNSTREAM_STORE": sqlite_url(tmp_path / "runstream.db")}
    if how == "flag":
        args += ["--bus", REDIS]
    else:
        env["RUNSTREAM_REDIS_URL"] = REDIS
    process = spawn(args, env)
    client = aioredis.from_url(REDIS)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.psubscribe("stream:tokens:*")
        await asyncio.to_thread(wait_listening, port, process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            started = await http.post("/api/v0/tasks/speak/executions", json={"input": 3})
        channel = f"stream:tokens:{started.json()['data']['exec_id']}".encode()
        chunks: list[dict[str, object]] = []
        async with asyncio.timeout(10):
            while len(chunks) < 3:
                message = await pubsub.get_message(timeout=1.0)
                if message and message["channel"] == channel:
                    chunks.append(orjson.loads(message["data"]))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
        await asyncio.to_thread(stop, process)
    assert [c["content"] for c in chunks] == ["word0 ", "word1 ", "word2 "]
    assert all(c["type"] == "llm_chunk" and isinstance(c["seq"], int) for c in chunks)
