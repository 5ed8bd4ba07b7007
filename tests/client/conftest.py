"""A real uvicorn on 127.0.0.1 serving an engine on a fresh SQLite file, and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

import runstream as rs
from runstream.api.server import StreamingServer
from runstream.client import Client, Reconnect
from runstream.config import Settings
from tests.serving import serving as serve_engine

from .flows import app


@dataclass
class Served:
    """A running server and the engine behind it."""

    engine: rs.Engine
    server: StreamingServer
    url: str
    port: int


Serve = Callable[..., AbstractAsyncContextManager[Served]]


@asynccontextmanager
async def serving(engine: rs.Engine, settings: Settings) -> AsyncIterator[Served]:
    """Serve ``engine`` (already open) until the block ends."""
    async with serve_engine(engine, settings) as running:
        yield Served(engine, running, f"http://127.0.0.1:{running.port}", running.port)


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[rs.Engine]:
    async with rs.Engine(app, store=store_url, poll_interval=0.1) as e:
        yield e


@pytest.fixture
def serve(engine: rs.Engine) -> Serve:
    """Serve the test engine with some settings changed: ``async with serve(...) as s``."""

    def start(**changes: Any) -> AbstractAsyncContextManager[Served]:
        settings = replace(
            Settings(host="127.0.0.1", port=0, shutdown_timeout_seconds=1), **changes
        )
        return serving(engine, settings)

    return start


@pytest.fixture
async def served(serve: Serve) -> AsyncIterator[Served]:
    async with serve() as s:
        yield s


@pytest.fixture
async def client(served: Served) -> AsyncIterator[Client]:
    async with Client(served.url, reconnect=Reconnect(initial_delay=0.02, max_delay=0.2)) as c:
        yield c
