"""A real uvicorn on 127.0.0.1 (a free port) around a fresh engine on a tmp_path SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import pytest_asyncio

import runstream as rs
from runstream.api.server import StreamingServer
from runstream.config import Settings
from runstream.streaming.response import StreamRegistry
from tests.conftest import sqlite_url
from tests.serving import serving as serve_engine

from .flows import app
from .sse import RawStream, connect

FAST = Settings(
    host="127.0.0.1",
    port=0,
    heartbeat_seconds=0.2,
    idle_timeout_seconds=10.0,
    max_connection_seconds=30.0,
    retry_ms=100,
    send_timeout_seconds=0.5,
    shutdown_timeout_seconds=2.0,
)
"""Stream timing shortened for tests."""


@dataclass
class Live:
    """A running server, its engine and an HTTP client pointed at it."""

    engine: rs.Engine
    server: StreamingServer
    settings: Settings
    http: httpx.AsyncClient
    org: str = "default"

    @property
    def streams(self) -> StreamRegistry:
        return self.server.streams

    def path(self, execution_id: str, suffix: str = "", kind: str = "workflow") -> str:
        return f"/api/orgs/{self.org}/{kind}-executions/{execution_id}{suffix}"

    async def start(self, kind: str, input: Any = None) -> str:
        response = await self.http.post(
            f"/api/orgs/{self.org}/workflow-executions", json={"kind": kind, "input": input}
        )
        assert response.status_code == 201, response.text
        execution_id: str = response.json()["id"]
        return execution_id

    def stream(
        self, path: str, headers: dict[str, str] | None = None, *, receive_buffer: int | None = None
    ) -> AbstractAsyncContextManager[RawStream]:
        return connect(self.server.port, path, headers, receive_buffer=receive_buffer)

    async def finished(self, execution_id: str) -> rs.Snapshot:
        """The snapshot once the execution has ended."""
        async with asyncio.timeout(10):
            async for _ in self.engine.stream(execution_id):
                pass
        return await self.engine.get(execution_id)

    async def waiting(self, execution_id: str) -> rs.Snapshot:
        """The snapshot once the workflow has suspended (on a promise, a message, …)."""

        async def suspended() -> bool:
            return (await self.engine.get(execution_id)).status == rs.Status.WAITING

        await until(suspended, 5)
        return await self.engine.get(execution_id)

    async def no_streams(self) -> None:
        """Wait (one heartbeat at most, plus slack) until the in-flight gauge is back at 0."""
        await until(lambda: self.streams.in_flight == 0, self.settings.heartbeat_seconds + 0.5)


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float) -> None:
    """Return once ``condition()`` holds; fail the test after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            holds = condition()
            if holds if isinstance(holds, bool) else await holds:
                return
            await asyncio.sleep(0.005)


@asynccontextmanager
async def serving(store_url: str, *, flows: rs.App = app, **overrides: Any) -> AsyncIterator[Live]:
    """Run engine and server (of ``flows``) on ``store_url`` for the duration of the block,
    then stop both."""
    settings = replace(FAST, store_url=store_url, **overrides)
    async with (
        rs.Engine(flows, store=settings.store_url) as engine,
        serve_engine(engine, settings) as uvicorn_server,
    ):
        base_url = f"http://127.0.0.1:{uvicorn_server.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            yield Live(engine, uvicorn_server, settings, http)


@pytest.fixture
async def live(store_url: str) -> AsyncIterator[Live]:
    """Engine and server with ``FAST`` stream timing."""
    async with serving(store_url) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """One engine and server for a whole module (whose tests run in the module's loop)."""
    async with serving(sqlite_url(tmp_path_factory.mktemp("shared") / "runstream.db")) as running:
        yield running


@pytest.fixture
def serve(store_url: str) -> Callable[..., AbstractAsyncContextManager[Live]]:
    """``async with serve(idle_timeout_seconds=0.3) as live:`` for other settings."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[Live]:
        return serving(store_url, **overrides)

    return start
