"""The files under docs/examples run, and a SIGTERM ends a served process promptly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import runstream as rs
from tests.conftest import sqlite_url

from .sse import connect

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@dataclass
class Served:
    process: asyncio.subprocess.Process
    port: int
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def example_server(store: Path) -> AsyncIterator[Served]:
    env = os.environ | {
        "RUNSTREAM_PORT": "0",
        "RUNSTREAM_STORE": sqlite_url(store),
        "RUNSTREAM_STREAM_HEARTBEAT_SECONDS": "0.2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "server.py"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log: list[str] = []
    async with asyncio.timeout(10):
        while not (bound := re.search(r"running on http://127\.0\.0\.1:(\d+)", "".join(log))):
            line = (await process.stderr.readline()).decode()
            assert line, "".join(log)
            log.append(line)
    served = Served(process, int(bound.group(1)), log)

    async def drain(stderr: asyncio.StreamReader) -> None:
        while line := await stderr.readline():
            log.append(line.decode())

    draining = asyncio.create_task(drain(process.stderr))
    try:
        yield served
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await draining


async def test_follow_example_streams_a_workflow_to_the_end(tmp_path: Path) -> None:
    async with example_server(tmp_path / "ex.db") as served:
        follow = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "follow.py"),
            served.url,
            "greet",
            '"Ada"',
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(follow.communicate(), 20)
    lines = out.decode().splitlines()
    assert follow.returncode == 0
    assert lines[0] == "event    WORKFLOW_CREATED"
    assert lines[-1] == "event    WORKFLOW_COMPLETED"
    assert "token    ' Ada!'" in lines
    assert "token    '\\nNice'" in lines
    assert "progress 1.0" in lines


async def test_sigterm_ends_streams_and_exits_promptly(tmp_path: Path) -> None:
    store = tmp_path / "ex.db"
    async with example_server(store) as served:
        async with httpx.AsyncClient(base_url=served.url) as http:
            started = await http.post(
                "/api/orgs/default/workflow-executions", json={"kind": "approve", "input": "x"}
            )
        execution_id = started.json()["id"]
        path = f"/api/orgs/default/workflow-executions/{execution_id}/stream"
        async with connect(served.port, path) as first, connect(served.port, path) as second:
            for stream in (first, second):
                assert (await stream.block()) is not None
            began = time.perf_counter()
            served.process.send_signal(signal.SIGTERM)
            endings = [(await s.blocks(timeout=5))[-1].raw for s in (first, second)]
            await asyncio.wait_for(served.process.wait(), 5)
            took = time.perf_counter() - began
    assert endings == [b": server shutting down\nretry: 3000\n\n"] * 2
    assert served.process.returncode == 0, "".join(served.log)
    assert took < 3, "".join(served.log)
    # The engine closed cleanly after the server, and the workflow was left waiting.
    async with rs.Engine(rs.App("reader"), store=sqlite_url(store), worker=False) as engine:
        assert (await engine.get(execution_id)).status == rs.Status.WAITING
