"""``tokens``: one task emits 2,000 tokens/s for 10 s to 10 SSE clients.

Each token is ``"{i}:{ts} "`` (index and send time). Every client must receive every
token, in order; a client *fell behind* when it missed a token, saw one out of order
or its p99 latency exceeded 1 s. The clients stamp and store the bytes as they arrive
and parse them afterwards. SPEC §9: every token in order, p99 ≤ 100 ms.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench import driver
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import running
from bench.sse import Frame
from bench.stats import Figures, latency_summary, percentile

BEHIND_P99_MS = 1000.0


@dataclass(frozen=True)
class Params:
    clients: int = 10
    rate_per_s: float = 2000.0
    duration_s: float = 10.0
    delay_s: float = 1.0


def params(quick: bool) -> Params:
    return Params(clients=3, duration_s=1.0, delay_s=0.5) if quick else Params()


class TokenCollector:
    """One client: latency per token, and whether indices arrive as 0, 1, 2, …"""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.out_of_order = 0
        self.emitted: int | None = None
        self._next = 0

    def on_frame(self, frame: Frame, received: float) -> bool:
        if frame.event == "token":
            index, _, sent = frame.data.partition(":")
            self.latencies_ms.append((received - float(sent)) * 1000)
            if int(index) != self._next:
                self.out_of_order += 1
            self._next = int(index) + 1
        elif (end := driver.terminal(frame)) is not None:
            output = end.get("output")
            self.emitted = output if isinstance(output, int) else None
        return True

    def behind(self, emitted: int) -> bool:
        if len(self.latencies_ms) != emitted or self.out_of_order:
            return True
        return percentile(self.latencies_ms, 99) > BEHIND_P99_MS


async def run(p: Params) -> Figures:
    spec = {"rate": p.rate_per_s, "duration": p.duration_s, "delay": p.delay_s}
    async with running() as server:
        http = driver.client_for(server)
        try:
            await driver.run_to_end(server, http, "trivial", 0)  # warm-up
            execution_id = await driver.start_workflow(http, "tokens", spec)
            collectors = [TokenCollector() for _ in range(p.clients)]
            streams = await asyncio.gather(
                *(driver.open_stream(server, execution_id, record=True) for _ in collectors)
            )
            await asyncio.wait_for(
                asyncio.gather(*(s.done for s in streams)), timeout=p.delay_s + p.duration_s + 60
            )
        finally:
            await http.aclose()
    for stream, collector in zip(streams, collectors, strict=True):
        for frame, received in stream.recorded():
            collector.on_frame(frame, received)
    emitted = collectors[0].emitted or 0
    counts = [len(c.latencies_ms) for c in collectors]
    behind = sum(c.behind(emitted) for c in collectors)
    worst = max(percentile(c.latencies_ms, 99) for c in collectors if c.latencies_ms)
    return {
        "clients": p.clients,
        "emitted": emitted,
        "tokens_per_s": round(emitted / p.duration_s, 1),
        "tokens_per_client_min": min(counts),
        "missing": sum(emitted - n for n in counts),
        "out_of_order": sum(c.out_of_order for c in collectors),
        "all_in_order": emitted > 0
        and not any(c.out_of_order for c in collectors)
        and min(counts) == emitted,
        "clients_behind": behind,
        "worst_client_p99_ms": round(worst, 3),
        **latency_summary([ms for c in collectors for ms in c.latencies_ms]),
    }


SCENARIO = Scenario(
    name="tokens",
    summary="one task, 2,000 tokens/s for 10 s, 10 SSE clients; every token, in order",
    params=params,
    run=run,
    timeout_s=lambda p: p.delay_s + p.duration_s + 90,
    headlines=(
        Headline("p50", "p50_ms", "ms"),
        Headline("p99", "p99_ms", "ms"),
        Headline("max", "max_ms", "ms"),
        Headline("every token in order", "all_in_order"),
        Headline("clients behind", "clients_behind"),
    ),
    floors=(
        Floor("all_in_order", True),
        Floor("p99_ms", 100.0),
        Floor("clients_behind", 0),
    ),
)
