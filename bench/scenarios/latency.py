"""``latency``: emit → SSE client latency of data events, with 1 and then 100 clients.

A task waits ``delay_s`` (so every client is connected), then emits a data event every
``interval_s`` for ``duration_s``, each carrying its own send time. N clients follow the
workflow's ``/stream``; each measures receive − send per event. The clients only stamp
and store the bytes while the stream runs and parse them afterwards, so with 100
connections in one process the last one served is not stamped late by the parsing of the
others. SPEC §9: with 100 open streams p50 ≤ 5 ms and p99 ≤ 50 ms.

Each ``auth`` mode gets its own server in the same run: ``none`` (figures ``n1``,
``n100``), then ``keys`` (``--auth keys``, every request and stream carrying an API key;
figures under ``auth_keys``), so the cost of auth on streams is measured side by side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

from bench import driver
from bench.rawhttp import HttpClient
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import Server, running
from bench.sse import Frame
from bench.stats import Figures, latency_summary


@dataclass(frozen=True)
class Params:
    clients: tuple[int, ...] = (1, 100)
    interval_s: float = 0.010
    duration_s: float = 5.0
    delay_s: float = 1.0
    auth: tuple[str, ...] = ("none", "keys")


def params(quick: bool) -> Params:
    return Params(duration_s=1.0, delay_s=0.5) if quick else Params()


class Collector:
    """One client's view: latencies of the timed data events, in order or not."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.out_of_order = 0
        self.emitted: int | None = None
        self._next = 0

    def on_frame(self, frame: Frame, received: float) -> bool:
        if frame.event != "data":
            return True
        if frame.data.startswith('{"ts"'):
            payload = orjson.loads(frame.data)
            self.latencies_ms.append((received - payload["ts"]) * 1000)
            if payload["i"] != self._next:
                self.out_of_order += 1
            self._next = payload["i"] + 1
        elif (end := driver.terminal(frame)) is not None:
            output = end.get("output")
            self.emitted = output if isinstance(output, int) else None
        return True


async def measure(
    server: Server,
    http: HttpClient,
    clients: int,
    *,
    interval_s: float,
    duration_s: float,
    delay_s: float,
) -> Figures:
    """Start one emitting workflow, follow it with ``clients`` streams, summarise."""
    spec = {"delay": delay_s, "interval": interval_s, "duration": duration_s}
    execution_id = await driver.start_workflow(http, "emit_timed", spec)
    loop = asyncio.get_running_loop()
    began = loop.time()
    collectors = [Collector() for _ in range(clients)]
    streams = await asyncio.gather(
        *(driver.open_stream(server, execution_id, record=True) for _ in collectors)
    )
    connect_s = loop.time() - began
    ends = await asyncio.wait_for(
        asyncio.gather(*(s.done for s in streams)), timeout=delay_s + duration_s + 30
    )
    for stream, collector in zip(streams, collectors, strict=True):
        for frame, received in stream.recorded():
            collector.on_frame(frame, received)
    emitted = collectors[0].emitted
    counts = [len(c.latencies_ms) for c in collectors]
    everything = [ms for c in collectors for ms in c.latencies_ms]
    return {
        "clients": clients,
        "emitted": emitted,
        "connect_s": round(connect_s, 3),
        "connected_before_first_event": connect_s < delay_s,
        "events_per_client_min": min(counts),
        "events_per_client_max": max(counts),
        "all_received": emitted is not None and min(counts) == emitted,
        "out_of_order": sum(c.out_of_order for c in collectors),
        "streams_ended_cleanly": all(why == "end" for why in ends),
        **latency_summary(everything),
    }


async def run(p: Params) -> Figures:
    figures: Figures = {}
    for auth in p.auth:
        group = figures if auth == "none" else figures.setdefault(f"auth_{auth}", {})
        async with running(auth=auth) as server:
            http = driver.client_for(server)
            try:
                await driver.run_to_end(server, http, "trivial", 0)  # warm-up
                for clients in p.clients:
                    group[f"n{clients}"] = await measure(
                        server,
                        http,
                        clients,
                        interval_s=p.interval_s,
                        duration_s=p.duration_s,
                        delay_s=p.delay_s,
                    )
            finally:
                await http.aclose()
    return figures


SCENARIO = Scenario(
    name="latency",
    summary="data event every 10 ms → N SSE clients; receive − send per event; auth off and on",
    params=params,
    run=run,
    timeout_s=lambda p: len(p.auth) * (len(p.clients) * (p.delay_s + p.duration_s + 30) + 30),
    headlines=(
        Headline("N=1 p50", "n1.p50_ms", "ms"),
        Headline("N=1 p99", "n1.p99_ms", "ms"),
        Headline("N=100 p50", "n100.p50_ms", "ms"),
        Headline("N=100 p95", "n100.p95_ms", "ms"),
        Headline("N=100 p99", "n100.p99_ms", "ms"),
        Headline("N=100 max", "n100.max_ms", "ms"),
        Headline("N=100 every event to every client", "n100.all_received"),
        Headline("auth keys N=100 p50", "auth_keys.n100.p50_ms", "ms"),
        Headline("auth keys N=100 p99", "auth_keys.n100.p99_ms", "ms"),
        Headline("auth keys N=100 connect", "auth_keys.n100.connect_s", "s"),
        Headline("auth none N=100 connect", "n100.connect_s", "s"),
    ),
    floors=(
        Floor("n100.p50_ms", 5.0),
        Floor("n100.p99_ms", 50.0),
        Floor("n100.all_received", True),
        Floor("auth_keys.n100.p50_ms", 5.0),
        Floor("auth_keys.n100.p99_ms", 50.0),
        Floor("auth_keys.n100.all_received", True),
    ),
)
