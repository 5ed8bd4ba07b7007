"""One way to run a real uvicorn on 127.0.0.1 around an open engine, for every test folder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import runstream as rs
from runstream.api.server import StreamingServer, server
from runstream.config import Settings


@asynccontextmanager
async def serving(engine: rs.Engine, settings: Settings) -> AsyncIterator[StreamingServer]:
    """Serve ``engine`` (already open) on a free port until the block ends."""
    running = server(engine, settings, log_level="warning", access_log=False)
    task = asyncio.create_task(running.serve(), name="test-uvicorn")
    try:
        async with asyncio.timeout(10):
            while not running.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the server stopped before it started")
                await asyncio.sleep(0.01)
        yield running
    finally:
        running.should_exit = True
        await asyncio.wait_for(task, 10)
