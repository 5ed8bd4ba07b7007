"""The v0 compatibility API (seeds 002 and 000, SPEC §7.2) under ``/api/v0``.

``router()`` holds every route; ``lifespan`` runs the Redis token channel when the
settings name a Redis bus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from runstream.api.v0 import executions, streams
from runstream.config import Settings
from runstream.streaming.redis_tokens import TokenChannel
from runstream.streaming.wire.v0 import Family

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
"""Bus URLs that name a Redis server."""


def router() -> APIRouter:
    """Start, status and stream routes of workflows, agents and tasks."""
    routes = APIRouter()
    for family in Family:
        routes.include_router(executions.router(family))
        routes.include_router(streams.router(family))
    return routes


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Publish and forward text chunks on Redis while the app runs, if a Redis bus is set.

    Redis being down does not stop the app: the channel keeps retrying in the background.
    """
    settings: Settings = app.state.settings
    url = settings.bus_url
    if url is None or not url.startswith(REDIS_SCHEMES):
        yield
        return
    channel = TokenChannel(url)
    await channel.start()
    stop = app.state.engine.observe(channel.on_events)
    app.state.v0_tokens = channel
    try:
        yield
    finally:
        stop()
        del app.state.v0_tokens
        await channel.close()
