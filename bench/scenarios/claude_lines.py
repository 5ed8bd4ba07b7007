"""``claude_lines``: a Claude Code session printing 2,000 lines/s for 10 s, relayed by the
runs API to 10 SSE clients and one WebSocket.

The session is the stand-in CLI (``runstream.demo.fake_claude``) as a real subprocess of
the server; the prompt ``/burst N RATE DELAY`` makes it write N assistant lines whose text
is ``"<i>:<time written>"``. Latency is *written → client*: from the CLI writing the line
to its pipe to the client receiving it, through the worker's parse, the commit, the hub
and the socket. Every client must receive every line, in order (SSE ids 1, 2, … too).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from bench import driver
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import HOST, running
from bench.sse import connect
from bench.stats import Figures, latency_summary, percentile

RUNS = "/api/v1/workflows"


@dataclass(frozen=True)
class Params:
    sse_clients: int = 10
    rate_per_s: float = 2000.0
    duration_s: float = 10.0
    delay_s: float = 1.5


def params(quick: bool) -> Params:
    return (
        Params(sse_clients=3, rate_per_s=1000.0, duration_s=1.0, delay_s=1.0) if quick else Params()
    )


class LineCollector:
    """One client: latency per line and whether lines and ids arrive as 0, 1, 2, …"""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.out_of_order = 0
        self.bad_ids = 0
        self._next = 0
        self._next_id = 1

    def on_line(self, text: str, received: float, line_id: str | None = None) -> None:
        if line_id is not None:
            if int(line_id) != self._next_id:
                self.bad_ids += 1
            self._next_id = int(line_id) + 1
        line = orjson.loads(text)
        if line.get("type") != "assistant":
            return
        index, _, written = line["message"]["content"][0]["text"].partition(":")
        self.latencies_ms.append((received - float(written)) * 1000)
        if int(index) != self._next:
            self.out_of_order += 1
        self._next = int(index) + 1


async def follow_socket(port: int, run_id: str, into: list[tuple[float, str]]) -> None:
    """Every text frame of the run's WebSocket with its arrival time, until the close."""
    async with ws_connect(f"ws://{HOST}:{port}{RUNS}/{run_id}/ws", max_size=None) as socket:
        try:
            while True:
                message = await socket.recv()
                into.append((time.time(), str(message)))
        except ConnectionClosed:
            return


async def run(p: Params) -> Figures:
    count = int(p.rate_per_s * p.duration_s)
    async with running() as server:
        http = driver.client_for(server)
        try:
            warm = await http.json(
                "POST", f"{RUNS}/claude-code/run/claude_bench", {"message": "/burst 10 1000"}
            )
            warm_stream = await connect(HOST, server.port, f"{RUNS}/{warm['run_id']}/stream")
            await asyncio.wait_for(warm_stream.done, 30)
            prompt = f"/burst {count} {p.rate_per_s} {p.delay_s}"
            started = await http.json(
                "POST", f"{RUNS}/claude-code/run/claude_bench", {"message": prompt}, expect=(201,)
            )
            run_id = started["run_id"]
            streams = await asyncio.gather(
                *(
                    connect(HOST, server.port, f"{RUNS}/{run_id}/stream", record=True)
                    for _ in range(p.sse_clients)
                )
            )
            frames: list[tuple[float, str]] = []
            socket = asyncio.create_task(follow_socket(server.port, run_id, frames))
            await asyncio.wait_for(
                asyncio.gather(socket, *(s.done for s in streams)),
                timeout=p.delay_s + p.duration_s + 90,
            )
        finally:
            await http.aclose()
    collectors = []
    for stream in streams:
        collector = LineCollector()
        for frame, received in stream.recorded():
            if frame.event == "message" and frame.data:
                collector.on_line(frame.data, received, frame.id)
        collectors.append(collector)
    websocket = LineCollector()
    for received, text in frames:
        if not text.startswith(('{"type":"ack"', '{"type":"end"')):
            websocket.on_line(text, received)
    everyone = [*collectors, websocket]
    counts = [len(c.latencies_ms) for c in everyone]
    return {
        "sse_clients": p.sse_clients,
        "lines": count,
        "lines_per_s": round(count / p.duration_s, 1),
        "missing": sum(count - n for n in counts),
        "out_of_order": sum(c.out_of_order + c.bad_ids for c in everyone),
        "all_in_order": min(counts) == count
        and not any(c.out_of_order or c.bad_ids for c in everyone),
        "sse": latency_summary([ms for c in collectors for ms in c.latencies_ms]),
        "websocket": latency_summary(websocket.latencies_ms),
        "worst_client_p99_ms": round(
            max(percentile(c.latencies_ms, 99) for c in everyone if c.latencies_ms), 3
        ),
    }


SCENARIO: Scenario[Any] = Scenario(
    name="claude_lines",
    summary="a Claude Code session, 2,000 lines/s for 10 s, 10 SSE clients + 1 WebSocket",
    params=params,
    run=run,
    timeout_s=lambda p: p.delay_s + p.duration_s + 120,
    headlines=(
        Headline("sse p50", "sse.p50_ms", "ms"),
        Headline("sse p99", "sse.p99_ms", "ms"),
        Headline("ws p99", "websocket.p99_ms", "ms"),
        Headline("every line in order", "all_in_order"),
    ),
    floors=(
        Floor("all_in_order", True),
        Floor("sse.p99_ms", 100.0),
        Floor("websocket.p99_ms", 100.0),
    ),
)
