"""``sleeping``: 10,000 workflows each sleeping 3 s, in one process without HTTP.

An ``rs.Engine`` on a temporary SQLite file with ``concurrency=100`` starts every
workflow (at most ``in_flight`` ``engine.start`` calls at once), then waits until all
have completed. Reported: seconds to start them all, seconds until all completed, and
the process's RSS growth (peak − before) in MiB and KB per workflow. A waiting workflow
holds no worker slot, so 10,000 sleepers go through 100 slots.

The engine runs in a fresh child process (``python -m bench.scenarios.sleeping``) so its
RSS is not muddled by the harness; the child prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

import runstream as rs
from bench.apps import app
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import ROOT
from bench.stats import Figures
from runstream.store.base import Store
from runstream.streaming.hub import Hub

MIB = 1024 * 1024
KB = 1000
WARMUP = 3


@dataclass(frozen=True)
class Params:
    workflows: int = 10_000
    sleep_s: float = 3.0
    concurrency: int = 100
    in_flight: int = 500


def params(quick: bool) -> Params:
    return Params(workflows=500, sleep_s=1.0) if quick else Params()


class CountingHub(Hub):
    """The engine's hub, also counting workflows that reached a terminal event."""

    def __init__(self, store: Store, target: int) -> None:
        super().__init__(store)
        self.target = target
        self.finished = 0
        self.failed = 0
        self.done = asyncio.Event()

    def publish(self, events: Sequence[rs.Event]) -> None:
        for event in events:
            if event.type == "WORKFLOW_COMPLETED":
                self.finished += 1
            elif event.type in ("WORKFLOW_FAILED", "WORKFLOW_CANCELLED"):
                self.finished += 1
                self.failed += 1
        if self.finished >= self.target:
            self.done.set()
        super().publish(events)


async def _sample_peak(process: psutil.Process, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], process.memory_info().rss)
        await asyncio.sleep(0.1)


async def _child(p: Params) -> Figures:
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="runstream-bench-sleep-") as tmp:
        engine = rs.Engine(
            app, store=f"sqlite:///{Path(tmp) / 'sleep.db'}", concurrency=p.concurrency
        )
        hub = CountingHub(engine.store, target=WARMUP)
        engine.hub = hub
        async with engine:
            for _ in range(WARMUP):
                await engine.start("sleeper", 0.01)
            await asyncio.wait_for(hub.done.wait(), timeout=30)
            hub.finished, hub.failed, hub.target = 0, 0, p.workflows
            hub.done.clear()
            rss_before = process.memory_info().rss
            peak = [rss_before]
            sampler = asyncio.create_task(_sample_peak(process, peak))
            slots = asyncio.Semaphore(p.in_flight)

            async def start() -> None:
                async with slots:
                    await engine.start("sleeper", p.sleep_s)

            began = time.perf_counter()
            await asyncio.gather(*(start() for _ in range(p.workflows)))
            started_s = time.perf_counter() - began
            rss_started = process.memory_info().rss
            await asyncio.wait_for(hub.done.wait(), timeout=p.sleep_s + p.workflows * 0.02 + 60)
            completed_s = time.perf_counter() - began
            sampler.cancel()
            rss_end = process.memory_info().rss
            completed = await _count_completed(engine) - WARMUP
    growth = max(peak[0], rss_started) - rss_before
    return {
        "workflows": p.workflows,
        "start_s": round(started_s, 3),
        "starts_per_s": round(p.workflows / started_s, 1),
        "all_completed_s": round(completed_s, 3),
        "completed": completed,
        "failed": hub.failed,
        "all_completed": completed == p.workflows and hub.failed == 0,
        "workflows_per_s": round(p.workflows / completed_s, 1),
        "rss_before_mib": round(rss_before / MIB, 2),
        "rss_after_start_mib": round(rss_started / MIB, 2),
        "rss_peak_mib": round(max(peak[0], rss_started) / MIB, 2),
        "rss_end_mib": round(rss_end / MIB, 2),
        "rss_growth_mib": round(growth / MIB, 2),
        "kb_per_workflow": round(growth / KB / p.workflows, 3),
    }


async def _count_completed(engine: rs.Engine) -> int:
    count = 0
    cursor: str | None = None
    while True:
        page, cursor = await engine.list_executions(
            status=rs.Status.COMPLETED, kind="sleeper", limit=1000, cursor=cursor
        )
        count += len(page)
        if cursor is None:
            return count


async def run(p: Params) -> Figures:
    """Run the child process and return what it printed."""
    command = [
        sys.executable,
        "-m",
        "bench.scenarios.sleeping",
        "--params",
        json.dumps(dataclasses.asdict(p)),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout_s(p))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"sleeping child failed ({process.returncode}): {err.decode()[-2000:]}")
    figures: Figures = json.loads(out)
    return figures


def timeout_s(p: Params) -> float:
    return p.sleep_s + p.workflows * 0.02 + 120


SCENARIO = Scenario(
    name="sleeping",
    summary="10,000 workflows sleeping 3 s in one engine (concurrency=100), no HTTP",
    params=params,
    run=run,
    timeout_s=lambda p: timeout_s(p) + 10,
    headlines=(
        Headline("start all", "start_s", "s"),
        Headline("all completed", "all_completed_s", "s"),
        Headline("RSS growth", "rss_growth_mib", "MiB"),
        Headline("per workflow", "kb_per_workflow", "KB"),
        Headline("every workflow completed", "all_completed"),
    ),
    floors=(Floor("all_completed", True),),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The sleeping scenario's child process.")
    parser.add_argument("--params", required=True, help="Params as JSON")
    args = parser.parse_args(argv)
    p = Params(**json.loads(args.params))
    print(json.dumps(asyncio.run(_child(p))))


if __name__ == "__main__":
    main()
