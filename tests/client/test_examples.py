"""The client examples in ``docs/examples`` run as written against a server of the demo app."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import runstream as rs
from runstream.config import Settings
from runstream.demo.app import app
from tests.conftest import sqlite_url

from .conftest import Served, serving

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@pytest.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[Served]:
    store = sqlite_url(tmp_path / "runstream.db")
    async with (
        rs.Engine(app, store=store) as engine,
        serving(engine, Settings(host="127.0.0.1", port=0)) as served,
    ):
        yield served


async def run_example(name: str, url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        env={"RUNSTREAM_URL": url, "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(30):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    return output.decode()


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("client_*.py")) == [
        "client_resume.py",
        "client_steer.py",
        "client_stream.py",
    ]


async def test_the_examples(demo_server: Served) -> None:
    stream, resume, steer = await asyncio.gather(
        run_example("client_stream.py", demo_server.url),
        run_example("client_resume.py", demo_server.url),
        run_example("client_steer.py", demo_server.url),
    )
    assert "Durable execution means streaming APIs survives crashes" in stream
    assert "[task write_draft attempt 1]" in stream
    assert "received 10 events, the last one has id 10" in resume
    assert "ending with WORKFLOW_COMPLETED" in resume
    assert "result: {'draft': 'A short draft.'" in steer
    assert "refused: execution " in steer and " is COMPLETED" in steer
    assert "ended: CANCELLED" in steer
    assert "not found: 01a1fdda-7028-7221-8631-13855d8b9c8e" in steer
