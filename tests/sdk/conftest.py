"""Agents against a real scripted model server on 127.0.0.1, engines on tmp_path SQLite files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

import runstream as rs
from runstream.api.server import StreamingServer, server
from runstream.config import Settings
from runstream.demo.model_script import Reply, Script, scripted
from runstream.demo.model_server import ModelServer

APIS = ("openai-chat", "openai")
"""pydantic-ai's chat-completions and Responses API model prefixes."""


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real key or server leaks in: each test points OPENAI_BASE_URL at its own model."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    yield


@asynccontextmanager
async def model_server(
    monkeypatch: pytest.MonkeyPatch, *steps: Reply | Script, record_sends: bool = False
) -> AsyncIterator[ModelServer]:
    """A scripted model server answering with ``steps``, set as ``OPENAI_BASE_URL``."""
    async with ModelServer(scripted(*steps), record_sends=record_sends) as model:
        monkeypatch.setenv("OPENAI_BASE_URL", model.url)
        yield model


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runstream.db'}"


def engine(app: rs.App, db_url: str, **kw: Any) -> rs.Engine:
    kw.setdefault("poll_interval", 0.2)
    return rs.Engine(app, store=db_url, **kw)


async def run_to_end(handle: rs.ExecutionHandle, timeout: float = 20.0) -> list[rs.Event]:
    """Every event of the handle's log, waiting for the terminal one."""

    async def collect() -> list[rs.Event]:
        return [ev async for ev in handle.stream()]

    return await asyncio.wait_for(collect(), timeout)


def of_type(events: list[rs.Event], type: str) -> list[rs.Event]:
    return [ev for ev in events if ev.type == type]


def tokens(events: list[rs.Event], attempt: int | None = None) -> str:
    """The text of the token events (of one attempt)."""
    return "".join(
        str(ev.data)
        for ev in events
        if ev.type == "token" and (attempt is None or ev.attempt == attempt)
    )


def grows(before: Any, after: Any) -> bool:
    """Whether ``after`` extends ``before``: no value lost or changed, strings only appended to."""
    if isinstance(before, dict):
        return isinstance(after, dict) and all(
            key in after and grows(value, after[key]) for key, value in before.items()
        )
    if isinstance(before, list):
        return (
            isinstance(after, list)
            and len(after) >= len(before)
            and all(grows(a, b) for a, b in zip(before, after, strict=False))
        )
    if isinstance(before, str):
        return isinstance(after, str) and after.startswith(before)
    return bool(before == after)


@asynccontextmanager
async def api_server(app: rs.App, db_url: str) -> AsyncIterator[tuple[rs.Engine, StreamingServer]]:
    """The engine behind a real uvicorn on 127.0.0.1 (a free port)."""
    settings = replace(
        Settings(), host="127.0.0.1", port=0, store_url=db_url, heartbeat_seconds=0.5
    )
    async with engine(app, db_url) as running:
        uvicorn_server = server(running, settings, log_level="warning", access_log=False)
        task = asyncio.create_task(uvicorn_server.serve(), name="test-uvicorn")
        async with asyncio.timeout(5):
            while not uvicorn_server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        try:
            yield running, uvicorn_server
        finally:
            uvicorn_server.should_exit = True
            await asyncio.wait_for(task, 10)


def http(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
