"""Clients that vanish or stop reading cost nothing for long and hold nobody back."""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from .conftest import Live, until


async def test_a_client_that_stops_reading_does_not_stall_a_fast_one(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    response = await live.http.post(
        "/api/orgs/default/task-executions", json={"kind": "flood", "input": 6000}
    )
    execution_id = response.json()["id"]
    path = live.path(execution_id, "/stream", kind="task")
    async with live.stream(path, receive_buffer=4096) as stalled:
        await until(lambda: live.streams.in_flight == 1, 2)
        began = time.perf_counter()
        async with live.stream(path) as fast:
            blocks = await fast.blocks(timeout=20)
        fast_took = time.perf_counter() - began
        assert sum(b.event == "token" for b in blocks) == 6000
        # The stalled stream is dropped by its send timeout, although its client never closed.
        await until(lambda: live.streams.in_flight == 0, live.settings.send_timeout_seconds + 2)
        assert live.engine.hub.subscriptions == 0
        assert "disconnecting an SSE client that stopped reading" in caplog.messages

        def stuck() -> bool:
            connections = live.server.server_state.connections
            return any(c.transport.get_write_buffer_size() for c in connections)

        # The server aborts the socket rather than keep its unsent bytes around.
        await until(lambda: not stuck(), live.settings.send_timeout_seconds + 2)
        assert stalled.status == 200
    assert fast_took < 10


async def test_a_vanished_client_is_released_within_one_heartbeat(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    for ending in ("reset", "close"):
        async with live.stream(live.path(execution_id, "/stream")) as stream:
            await until(lambda: live.streams.in_flight == 1, 2)
            began = time.perf_counter()
            if ending == "reset":
                stream.reset()
            else:
                await stream.close()
            await until(lambda: live.streams.in_flight == 0, live.settings.heartbeat_seconds)
            assert time.perf_counter() - began < live.settings.heartbeat_seconds
        assert live.engine.hub.subscriptions == 0


async def test_connect_disconnect_cycles_leak_nothing(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    path = live.path(execution_id, "/stream")
    async with live.stream(path) as warm_up:
        await warm_up.block()
    await live.no_streams()
    tasks_before = {t.get_name() for t in asyncio.all_tasks()}
    connections_before = len(live.server.server_state.connections)
    fds_before = _open_fds()
    rng = random.Random(3)
    for _ in range(200):
        async with live.stream(path) as stream:
            for _ in range(rng.randint(0, 3)):
                await stream.block()
            if rng.random() < 0.5:
                stream.reset()
    await live.no_streams()
    assert live.engine.hub.subscriptions == 0
    await until(lambda: len(live.server.server_state.connections) <= connections_before, 2)
    await until(lambda: {t.get_name() for t in asyncio.all_tasks()} <= tasks_before, 2)
    await until(lambda: _open_fds() <= fds_before, 2)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
