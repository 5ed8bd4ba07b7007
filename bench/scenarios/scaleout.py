"""``scaleout``: PostgreSQL with separate processes — event latency across processes and
throughput with 1, 2 and 4 workers.

1. One ``runstream worker`` and one ``runstream serve --no-worker`` on a fresh database:
   the task emits timed data events in the worker process; ``clients`` SSE clients follow
   the workflow on the API process, which hears of each commit through ``LISTEN/NOTIFY``
   and reads the events from the database (as ``latency`` measures them). Issue 8's bar:
   p50 ≤ 10 ms, p99 ≤ 50 ms with 100 clients. Also a 20-task sequential workflow.
2. ``workflows`` single-task workflows started at once (as ``throughput`` does), with 1,
   2 and 4 worker processes behind one API process, each on a fresh database.

The database keeps PostgreSQL's defaults (``synchronous_commit = on``): every commit
waits for its WAL flush, as in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import driver
from bench.cluster import cluster
from bench.scenarios import latency, throughput
from bench.scenarios.base import Floor, Headline, Scenario
from bench.stats import Figures


@dataclass(frozen=True)
class Params:
    clients: int = 100
    interval_s: float = 0.010
    duration_s: float = 5.0
    delay_s: float = 1.0
    workers: tuple[int, ...] = (1, 2, 4)
    workflows: int = 1000
    in_flight: int = 64
    sequential_repeats: int = 3


def params(quick: bool) -> Params:
    if quick:
        return Params(clients=10, duration_s=1.0, delay_s=0.5, workers=(1, 2), workflows=50)
    return Params()


async def run(p: Params) -> Figures:
    figures: Figures = {}
    async with cluster(1) as api:
        http = driver.client_for(api)
        try:
            await driver.run_to_end(api, http, "trivial", 0)  # warm-up
            figures["latency"] = await latency.measure(
                api,
                http,
                p.clients,
                interval_s=p.interval_s,
                duration_s=p.duration_s,
                delay_s=p.delay_s,
            )
            figures["sequential20"] = await throughput.sequential(
                api, http, 20, p.sequential_repeats
            )
        finally:
            await http.aclose()
    many = throughput.Params(workflows=p.workflows, in_flight=p.in_flight)
    for workers in p.workers:
        async with cluster(workers) as api:
            http = driver.client_for(api, size=p.in_flight)
            try:
                for i in range(3):
                    await driver.run_to_end(api, http, "trivial", i)
                figures[f"workers{workers}"] = await throughput.many(http, many)
            finally:
                await http.aclose()
    return figures


SCENARIO = Scenario(
    name="scaleout",
    summary="PostgreSQL: worker process → API process → N SSE clients; 1/2/4 workers",
    params=params,
    run=run,
    timeout_s=lambda p: 120 + p.duration_s + len(p.workers) * (60 + p.workflows * 0.1),
    headlines=(
        Headline("cross-process N=100 p50", "latency.p50_ms", "ms"),
        Headline("cross-process N=100 p99", "latency.p99_ms", "ms"),
        Headline("every event to every client", "latency.all_received"),
        Headline("20-task workflow", "sequential20.seconds", "s"),
        Headline("1 worker workflows/s", "workers1.workflows_per_s", "/s"),
        Headline("2 workers workflows/s", "workers2.workflows_per_s", "/s"),
        Headline("4 workers workflows/s", "workers4.workflows_per_s", "/s"),
    ),
    floors=(
        Floor("latency.p50_ms", 10.0),
        Floor("latency.p99_ms", 50.0),
        Floor("latency.all_received", True),
    ),
)
