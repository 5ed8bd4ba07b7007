"""Waiting workflows hold no worker slot and little memory."""

from __future__ import annotations

import asyncio
import time

import psutil

import runstream as rs
from tests.engine.conftest import OpenEngine

app = rs.App("scale")


@app.workflow()
async def nap(ctx: rs.WorkflowContext, seconds: float) -> str:
    await ctx.sleep(seconds)
    return "rested"


async def test_many_sleeping_workflows_do_not_pin_slots(open_engine: OpenEngine) -> None:
    rss_before = psutil.Process().memory_info().rss
    async with open_engine(app, concurrency=8) as engine:
        # PostgreSQL pays a network round trip per query: fewer workflows prove the same
        # point (250 per slot) within the suite's time budget.
        count = 500 if engine.store.shared else 2000
        started = time.monotonic()
        handles = await asyncio.gather(*(engine.start(nap, 1.5) for _ in range(count)))
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=60)
        elapsed = time.monotonic() - started
        rss_growth = psutil.Process().memory_info().rss - rss_before
    assert results == ["rested"] * count
    assert elapsed < 45
    assert rss_growth < 200 * 1024 * 1024, f"{rss_growth / 2**20:.0f} MiB for {count} workflows"
