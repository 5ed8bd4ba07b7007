"""``idle``: 1,000 then 5,000 quiet SSE connections held by one API process.

The streams follow a few workflows that wait on a promise, so after the short replay
of their first events nothing is sent but heartbeats. Connections open in waves (to
stay under the listen backlog); at each level the harness waits until every connection
has had ``hold_heartbeats`` heartbeats since the level was reached, then reads the
server's RSS. Memory per connection is (RSS at the level − RSS before) / connections.
SPEC §9: 5,000 connections, memory per connection reported (goal ≤ 50 KB).
KB = 1,000 bytes, MiB = 2²⁰ bytes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench import driver
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import Server, running
from bench.sse import SseClient
from bench.stats import Figures

KB = 1000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Params:
    levels: tuple[int, ...] = (1000, 5000)
    workflows: int = 10
    heartbeat_s: float = 5.0
    hold_heartbeats: int = 2
    wave: int = 200
    settle_s: float = 1.0


def params(quick: bool) -> Params:
    if quick:
        return Params(levels=(100, 300), workflows=3, heartbeat_s=1.0)
    return Params()


async def _open_wave(server: Server, ids: list[str], start: int, count: int) -> list[SseClient]:
    return list(
        await asyncio.gather(
            *(driver.open_stream(server, ids[(start + i) % len(ids)]) for i in range(count))
        )
    )


async def _hold(clients: list[SseClient], p: Params) -> tuple[float, int]:
    """Wait until every client had ``hold_heartbeats`` more heartbeats (or a deadline).

    Returns the seconds held and the fewest heartbeats any client got meanwhile.
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    baseline = [c.heartbeats for c in clients]
    deadline = began + p.heartbeat_s * (p.hold_heartbeats + 1) + 5
    while True:
        fewest = min(c.heartbeats - b for c, b in zip(clients, baseline, strict=True))
        if fewest >= p.hold_heartbeats or loop.time() > deadline:
            return loop.time() - began, fewest
        await asyncio.sleep(0.25)


async def run(p: Params) -> Figures:
    env = {
        "RUNSTREAM_STREAM_HEARTBEAT_SECONDS": str(p.heartbeat_s),
        "RUNSTREAM_STREAM_IDLE_TIMEOUT_SECONDS": "3600",
        "RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS": "3600",
    }
    figures: Figures = {"workflows": p.workflows, "heartbeat_s": p.heartbeat_s}
    clients: list[SseClient] = []
    async with running(env) as server:
        http = driver.client_for(server)
        try:
            ids = [
                await driver.start_workflow(http, "wait_promise", 3600.0)
                for _ in range(p.workflows)
            ]
            # Warm-up: the first streams import and allocate what every later one shares.
            warm = await _open_wave(server, ids, 0, min(p.wave, 50))
            await asyncio.sleep(p.settle_s)
            for client in warm:
                client.close()
            await asyncio.sleep(p.settle_s)
            rss_before = server.rss()
            figures["rss_before_mib"] = round(rss_before / MIB, 2)
            for level in p.levels:
                began = time.monotonic()
                while len(clients) < level:
                    count = min(p.wave, level - len(clients))
                    clients += await _open_wave(server, ids, len(clients), count)
                connect_s = time.monotonic() - began
                held_s, fewest = await _hold(clients, p)
                rss = server.rss()
                still_open = sum(not c.done.done() for c in clients)
                figures[f"c{level}"] = {
                    "connections": level,
                    "connect_s": round(connect_s, 3),
                    "held_s": round(held_s, 3),
                    "still_open": still_open,
                    "all_open": still_open == level,
                    "fewest_heartbeats_while_held": fewest,
                    "all_got_heartbeats": fewest >= p.hold_heartbeats,
                    "server_connections": server.connections(),
                    "rss_mib": round(rss / MIB, 2),
                    "rss_growth_mib": round((rss - rss_before) / MIB, 2),
                    "kb_per_connection": round((rss - rss_before) / KB / level, 2),
                }
        finally:
            for client in clients:
                client.abort()
            await http.aclose()
    return figures


SCENARIO = Scenario(
    name="idle",
    summary="1,000 then 5,000 idle SSE connections with heartbeats; server RSS per connection",
    params=params,
    run=run,
    timeout_s=lambda p: len(p.levels) * (p.heartbeat_s * (p.hold_heartbeats + 1) + 60) + 60,
    headlines=(
        Headline("1,000: KB/connection", "c1000.kb_per_connection", "KB"),
        Headline("5,000: KB/connection", "c5000.kb_per_connection", "KB"),
        Headline("5,000: RSS growth", "c5000.rss_growth_mib", "MiB"),
        Headline("5,000: all open", "c5000.all_open"),
        Headline("5,000: all got heartbeats", "c5000.all_got_heartbeats"),
        Headline("5,000: connect time", "c5000.connect_s", "s"),
    ),
    floors=(
        Floor("c5000.all_open", True),
        Floor("c5000.all_got_heartbeats", True),
        Floor("c5000.kb_per_connection", 50.0, goal=True),
    ),
)
