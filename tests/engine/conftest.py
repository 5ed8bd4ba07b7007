"""Engines on fresh SQLite files, and helpers to read what they recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

import runstream as rs

OpenEngine = Callable[..., AbstractAsyncContextManager[rs.Engine]]


@pytest.fixture
def open_engine(store_url: str) -> OpenEngine:
    """``async with open_engine(app, **kw) as engine`` on this test's database file."""

    @asynccontextmanager
    async def opener(app: rs.App, **kw: Any) -> AsyncIterator[rs.Engine]:
        kw.setdefault("poll_interval", 0.2)
        async with rs.Engine(app, store=store_url, **kw) as engine:
            yield engine

    return opener


async def run_to_end(handle: rs.ExecutionHandle, timeout: float = 10.0) -> list[rs.Event]:
    """Every event of the handle's log, waiting for the terminal one."""

    async def collect() -> list[rs.Event]:
        return [ev async for ev in handle.stream()]

    return await asyncio.wait_for(collect(), timeout)


def types(events: list[rs.Event]) -> list[str]:
    return [str(ev.type) for ev in events]


def lifecycle(events: list[rs.Event]) -> list[str]:
    return [t for t in types(events) if t.isupper()]


async def wait_for_event(handle: rs.ExecutionHandle, type: str, timeout: float = 5.0) -> rs.Event:
    async def find() -> rs.Event:
        async for ev in handle.stream():
            if ev.type == type:
                return ev
        raise AssertionError(f"{type} never appeared")

    return await asyncio.wait_for(find(), timeout)
