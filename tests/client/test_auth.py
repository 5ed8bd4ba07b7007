"""The client with ``api_key`` against a server run with ``auth="keys"``, and the
``docs/examples/stream_tokens.py`` example."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import runstream as rs
from runstream.client import ApiError, Client
from runstream.config import Settings
from runstream.demo.app import app as demo
from runstream.model.keys import key_hash, new_key
from tests.conftest import sqlite_url

from .conftest import Serve, Served, serving

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


async def make_key(engine: rs.Engine, org: str) -> str:
    key_id, key = new_key()
    await engine.store.create_key(key_id, org, None, key_hash(key))
    return key


async def test_a_client_with_a_key_and_one_with_a_token(serve: Serve) -> None:
    async with serve(auth="keys") as served:
        key = await make_key(served.engine, "acme")
        async with Client(served.url, "acme", api_key=key) as client:
            run = await client.start("kinds")
            grant = await client.stream_token(run.id, ttl_seconds=120, types=["token"])
            now = datetime.now(UTC)
            assert now + timedelta(seconds=100) < grant.expires_at <= now + timedelta(seconds=121)
            assert (await client.result(run.id)) is not None
        async with Client(served.url, "acme", api_key=grant.token) as page:
            seen = [event.type async for event in page.stream(run.id)]
            assert seen and set(seen) == {"token"}
            with pytest.raises(ApiError) as refused:
                await page.cancel(run.id)
            assert refused.value.status == 403
        async with Client(served.url, "acme") as anonymous:
            with pytest.raises(ApiError) as unauthorized:
                await anonymous.list_executions()
            assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")
        with pytest.raises(ApiError) as bad:
            async with Client(served.url, "acme", api_key=key) as client:
                await client.stream_token(run.id, types=["nonsense"])
        assert (bad.value.status, bad.value.param) == (400, "types")


@pytest.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[Served]:
    settings = Settings(host="127.0.0.1", port=0, auth="keys")
    async with (
        rs.Engine(demo, store=sqlite_url(tmp_path / "runstream.db")) as engine,
        serving(engine, settings) as served,
    ):
        yield served


async def test_the_stream_tokens_example(demo_server: Served) -> None:
    key = await make_key(demo_server.engine, "acme")
    env = {"RUNSTREAM_URL": demo_server.url, "RUNSTREAM_ORG": "acme", "RUNSTREAM_API_KEY": key}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "stream_tokens.py"),
        env=env | {"PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(30):
        raw, _ = await process.communicate()
    output = raw.decode()
    assert process.returncode == 0, output
    assert "/stream?token=…" in output and "valid until" in output
    assert "the page saw: WORKFLOW_COMPLETED" in output and "token" in output
    assert output.count("refused: 403") == 2
    assert key not in output
