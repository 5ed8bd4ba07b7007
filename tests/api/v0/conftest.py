"""A real server running the v0 test flows, and helpers to start and read v0 executions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import sqlite_url

from ..conftest import Live, serving
from ..sse import Block
from .flows import app


@pytest.fixture
async def live(store_url: str) -> AsyncIterator[Live]:
    """Engine and server of the v0 flows with fast stream timing."""
    async with serving(store_url, flows=app) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """One server of the v0 flows for a whole module (its tests run in the module's loop)."""
    url = sqlite_url(tmp_path_factory.mktemp("v0") / "runstream.db")
    async with serving(url, flows=app) as running:
        yield running


@pytest.fixture
def serve(store_url: str) -> Callable[..., AbstractAsyncContextManager[Live]]:
    """``async with serve(bus_url=…) as live:`` for other settings."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[Live]:
        return serving(store_url, flows=app, **overrides)

    return start


async def start(live: Live, family: str, name: str, input: Any = None) -> str:
    """Start an execution through the v0 API; its id."""
    response = await live.http.post(f"/api/v0/{family}/{name}/executions", json={"input": input})
    assert response.status_code == 202, response.text
    exec_id: str = response.json()["data"]["exec_id"]
    return exec_id


def stream_path(family: str, exec_id: str, query: str = "") -> str:
    return f"/api/v0/executions/{family}/{exec_id}/stream" + (f"?{query}" if query else "")


async def read_all(
    live: Live, family: str, exec_id: str, query: str = "", headers: dict[str, str] | None = None
) -> list[Block]:
    """Every block of a stream of a finished execution, the ``retry:`` hint left out."""
    async with live.stream(stream_path(family, exec_id, query), headers) as stream:
        assert stream.status == 200
        blocks = await stream.blocks()
    assert blocks[0].raw == b"retry: 100\n\n"
    return blocks[1:]
