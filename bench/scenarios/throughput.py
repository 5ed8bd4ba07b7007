"""``throughput``: engine throughput over HTTP, a 20-task workflow, start→result latency.

1. ``workflows`` single-task workflows are started with at most ``in_flight`` POSTs at
   once; the clock runs from the first POST to the moment the last one completed (the
   newest ``updatedAtMs`` once all are ``COMPLETED``, so polling granularity does not
   count). Polling is cheap: the last-started workflow's snapshot until it finished,
   then the ``status=COMPLETED&kind=one_task`` list until it holds them all.
2. A workflow running ``sequential_tasks`` tasks one after another: POST → its
   terminal event on ``/stream``; ``sequential_repeats`` of them one at a time, the
   median reported (one sample swings with whatever else the machine does).
3. ``samples`` trivial one-task workflows one at a time: POST → terminal event.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from bench import driver
from bench.rawhttp import HttpClient
from bench.scenarios.base import Headline, Scenario
from bench.server import Server, running
from bench.stats import Figures, latency_summary

LIST_PAGE = 500
POLL_S = 0.02
WAIT_S = 300.0


@dataclass(frozen=True)
class Params:
    workflows: int = 1000
    in_flight: int = 64
    sequential_tasks: int = 20
    sequential_repeats: int = 5
    samples: int = 30


def params(quick: bool) -> Params:
    return Params(workflows=50, sequential_tasks=5, samples=5) if quick else Params()


async def _completed(http: HttpClient, kind: str) -> list[int]:
    """``updatedAtMs`` of every completed workflow of ``kind``."""
    stamps: list[int] = []
    cursor = ""
    while True:
        page = await http.json(
            "GET", f"{driver.WORKFLOWS}?status=COMPLETED&kind={kind}&limit={LIST_PAGE}{cursor}"
        )
        stamps.extend(int(item["updatedAtMs"]) for item in page["items"])
        if not page.get("nextCursor"):
            return stamps
        cursor = f"&cursor={page['nextCursor']}"


def _check(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"{what} within {WAIT_S:.0f} s")


async def many(http: HttpClient, p: Params) -> Figures:
    """Start ``p.workflows`` one-task workflows concurrently; time until all completed."""
    slots = asyncio.Semaphore(p.in_flight)

    async def start(i: int) -> str:
        async with slots:
            return await driver.start_workflow(http, "one_task", i)

    began = time.time()
    ids = await asyncio.gather(*(start(i) for i in range(p.workflows)))
    posted_s = time.time() - began
    deadline = time.monotonic() + WAIT_S
    while (await driver.snapshot(http, ids[-1]))["status"] not in ("COMPLETED", "FAILED"):
        _check(deadline, "the last workflow did not finish")
        await asyncio.sleep(POLL_S)
    while len(stamps := await _completed(http, "one_task")) < p.workflows:
        _check(deadline, f"only {len(stamps)} of {p.workflows} workflows completed")
        await asyncio.sleep(POLL_S)
    seconds = max(stamps) / 1000 - began
    return {
        "workflows": p.workflows,
        "in_flight": p.in_flight,
        "start_requests_s": round(posted_s, 3),
        "starts_per_s": round(p.workflows / posted_s, 1),
        "seconds": round(seconds, 3),
        "workflows_per_s": round(p.workflows / seconds, 1),
        "tasks_per_s": round(p.workflows / seconds, 1),
    }


async def sequential(server: Server, http: HttpClient, tasks: int, repeats: int = 1) -> Figures:
    """``repeats`` workflows of ``tasks`` sequential tasks, one at a time; the median."""
    samples = [await driver.run_to_end(server, http, "sequential", tasks) for _ in range(repeats)]
    seconds = statistics.median(samples)
    return {
        "tasks": tasks,
        "seconds": round(seconds, 4),
        "ms_per_task": round(seconds * 1000 / tasks, 2),
        "samples_s": [round(sample, 4) for sample in samples],
    }


async def start_to_result(server: Server, http: HttpClient, samples: int) -> Figures:
    latencies_ms = [
        await driver.run_to_end(server, http, "trivial", i) * 1000 for i in range(samples)
    ]
    return {"tasks_per_workflow": 1, **latency_summary(latencies_ms)}


async def run(p: Params) -> Figures:
    async with running() as server:
        http = driver.client_for(server, size=p.in_flight)
        try:
            for i in range(3):  # warm-up
                await driver.run_to_end(server, http, "trivial", i)
            return {
                "throughput": await many(http, p),
                "sequential20": await sequential(
                    server, http, p.sequential_tasks, p.sequential_repeats
                ),
                "start_to_result": await start_to_result(server, http, p.samples),
            }
        finally:
            await http.aclose()


SCENARIO = Scenario(
    name="throughput",
    summary="1,000 one-task workflows at once over HTTP; a 20-task workflow; start→result",
    params=params,
    run=run,
    timeout_s=lambda p: 120 + p.workflows * 0.1 + p.samples * 2,
    headlines=(
        Headline("workflows/s", "throughput.workflows_per_s", "/s"),
        Headline("tasks/s", "throughput.tasks_per_s", "/s"),
        Headline("20-task workflow", "sequential20.seconds", "s"),
        Headline("start→result p50", "start_to_result.p50_ms", "ms"),
        Headline("start→result p95", "start_to_result.p95_ms", "ms"),
    ),
    floors=(),
)
