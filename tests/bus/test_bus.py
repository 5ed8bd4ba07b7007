"""Two engines on one PostgreSQL database, as two processes would be: one API-only, one
worker. A stream served by the first follows work done by the second through the bus
(NOTIFY or Redis), and through polling when the bus lost something or is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

import runstream as rs
from runstream.bus.postgres import APPLICATION_NAME
from runstream.model import new_id
from tests.conftest import REDIS_URL

app = rs.App("bus")


@app.task()
async def chatter(ctx: rs.TaskContext, count: int) -> int:
    for i in range(count):
        ctx.token(f"{i} ")
        await asyncio.sleep(0.002)
    return count


@app.workflow()
async def talk(ctx: rs.WorkflowContext, count: int) -> int:
    first = await ctx.task(chatter, count)
    return first + await ctx.task(chatter, count)


def redis_bus() -> str:
    """The test Redis with a channel of this test's own."""
    return f"{REDIS_URL}?prefix=test-{new_id()}:"


@asynccontextmanager
async def two_processes(url: str, **kw: Any) -> AsyncIterator[tuple[rs.Engine, rs.Engine]]:
    """An API-only engine and a worker engine on one database (different stores)."""
    async with (
        rs.Engine(app, store=url, worker=False, **kw) as api,
        rs.Engine(app, store=url, **kw) as worker,
    ):
        yield api, worker


async def follow(engine: rs.Engine, execution_id: str, timeout: float = 20) -> list[rs.Event]:
    async def collect() -> list[rs.Event]:
        return [ev async for ev in engine.stream(execution_id)]

    return await asyncio.wait_for(collect(), timeout)


def assert_whole(log: list[rs.Event]) -> None:
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    assert log[-1].type == "WORKFLOW_COMPLETED"


@pytest.mark.parametrize("bus", ["notify", "redis"])
async def test_a_stream_follows_work_done_in_another_process(pg_database: str, bus: str) -> None:
    # Polling only every 30 s: whatever arrives sooner came through the bus.
    kw: dict[str, Any] = {"poll_interval": 30.0}
    if bus == "redis":
        kw["bus"] = redis_bus()
    labels = {"bus": "redis" if bus == "redis" else "postgres"}
    before = REGISTRY.get_sample_value("runstream_bus_wakeups_total", labels) or 0.0
    async with two_processes(pg_database, **kw) as (api, _worker):
        began = time.monotonic()
        handle = await api.start(talk, 30)
        log = await follow(api, handle.id)
        assert time.monotonic() - began < 10
    assert_whole(log)
    assert (REGISTRY.get_sample_value("runstream_bus_wakeups_total", labels) or 0.0) > before
    assert [ev.data for ev in log if ev.type == "token"] == [f"{i} " for i in range(30)] * 2


async def test_a_lost_listen_connection_is_made_good_by_polling(pg_database: str) -> None:
    async with two_processes(pg_database, poll_interval=0.3) as (api, _worker):
        handle = await api.start(talk, 200)
        stream = asyncio.ensure_future(follow(api, handle.id))
        await asyncio.sleep(0.2)
        with psycopg.connect(pg_database, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                (APPLICATION_NAME,),
            ).fetchall()
        assert len(killed) == 2  # one LISTEN connection per process, not per stream
        assert_whole(await stream)


async def test_redis_down_fails_nothing_and_polling_delivers(pg_database: str) -> None:
    # Nothing listens on port 1: every publish and subscription fails.
    down = "redis://127.0.0.1:1/0"
    async with two_processes(pg_database, bus=down, poll_interval=0.2) as (api, worker):
        handle = await api.start(talk, 5)
        assert_whole(await follow(api, handle.id, timeout=15))
        assert (await worker.get(handle.id)).status == rs.Status.COMPLETED
