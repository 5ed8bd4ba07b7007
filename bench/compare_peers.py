"""runstream side by side with Temporal and DBOS, measured in the same invocation.

    .venv/bin/python bench/compare_peers.py --peers-python .venv-peers/bin/python

Runs runstream's ``throughput``, ``sequential20``, ``start_to_result`` and
``event_latency`` (one SSE client) with the workload sizes of ``bench/peers/common.py``,
then each peer script (``bench/peers/<peer>_bench.py``) with the peers' interpreter,
one after the other so they never compete for the CPU. Prints a table with ratios and
writes ``bench/results/peers.json``. A peer that fails is reported as unavailable with
the reason; the others still run. See ``bench/peers/README.md`` for the peers' setup.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402

from bench import driver, report  # noqa: E402
from bench.cluster import cluster  # noqa: E402
from bench.peer_runner import PEERS, compare_table, comparisons, run_peer, sizes  # noqa: E402
from bench.run import raise_fd_limit  # noqa: E402
from bench.scenarios import latency, throughput  # noqa: E402
from bench.server import Server, running  # noqa: E402
from bench.stats import Figures, median_figures  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _server(postgres: bool) -> contextlib.AbstractAsyncContextManager[Server]:
    """Embedded (SQLite, one process) or scale-out (PostgreSQL: an API process and a worker
    process, so every event crosses processes through LISTEN/NOTIFY)."""
    return cluster(1) if postgres else running()


async def ours_once(size: dict[str, Any], postgres: bool = False) -> dict[str, Figures]:
    """One run of the four peer-comparable figures on a fresh server."""
    params = throughput.Params(
        workflows=int(size["throughput_workflows"]),
        sequential_tasks=int(size["sequential_tasks"]),
        samples=int(size["start_to_result_samples"]),
    )
    async with _server(postgres) as server:
        http = driver.client_for(server, size=params.in_flight)
        try:
            for i in range(3):  # warm-up
                await driver.run_to_end(server, http, "trivial", i)
            figures = {
                "throughput": await throughput.many(http, params),
                "sequential20": await throughput.sequential(
                    server, http, params.sequential_tasks, params.sequential_repeats
                ),
                "start_to_result": await throughput.start_to_result(server, http, params.samples),
                "event_latency": await latency.measure(
                    server,
                    http,
                    1,
                    interval_s=float(size["event_interval_s"]),
                    duration_s=float(size["event_duration_s"]),
                    delay_s=1.0,
                ),
            }
        finally:
            await http.aclose()
    log(f"runstream run: {json.dumps(figures)}")
    return figures


async def ours(runs: int, size: dict[str, Any], postgres: bool = False) -> dict[str, Any]:
    results = []
    system = "runstream-postgres" if postgres else "runstream"
    for number in range(1, runs + 1):
        log(f"{system} run {number}/{runs}")
        timeout = float(size.get("scenario_timeout_s", 120)) * 4
        results.append(await asyncio.wait_for(ours_once(size, postgres), timeout=timeout))
    server = (
        "runstream serve --no-worker + runstream worker on a fresh PostgreSQL database "
        "(defaults: synchronous_commit on), LISTEN/NOTIFY between them"
        if postgres
        else "runstream serve bench.apps:app, embedded worker, SQLite (WAL) in a temp dir"
    )
    return {
        "system": system,
        "versions": report.versions(),
        "config": {
            "server": server,
            "client": "raw asyncio HTTP/1.1 and SSE clients in the harness process",
            "throughput": "POST /workflow-executions, 64 in flight; done = all COMPLETED",
            "sequential20": "POST → terminal event on /stream; median of 5 per run",
            "start_to_result": "POST → terminal event on /stream, one at a time",
            "event_latency": "task emits ctx.data every interval; one SSE client on /stream",
            "sizes": size,
        },
        "machine": report.machine(),
        "runs": results,
        "median": median_figures(results),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--peers-python",
        default=str(ROOT / ".venv-peers" / "bin" / "python"),
        help="interpreter of the peers' virtualenv (bench/peers/requirements.txt)",
    )
    parser.add_argument("--runs", type=int, default=3, help="measured runs per system (3)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--peer", action="append", choices=sorted(PEERS), help="only this peer (repeatable)"
    )
    parser.add_argument(
        "--defaults", action="store_true", help="run the peers with their default settings"
    )
    parser.add_argument("--peer-timeout", type=float, default=1500.0, help="seconds per peer")
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    size = sizes(args.quick)
    began = time.monotonic()
    mine = asyncio.run(ours(args.runs, size))
    mine_pg = asyncio.run(ours(args.runs, size, postgres=True))
    peers: dict[str, dict[str, Any]] = {}
    for name in args.peer or sorted(PEERS):
        log(f"running peer {name} ({args.peers_python})")
        peers[name] = run_peer(
            name,
            args.peers_python,
            runs=args.runs,
            quick=args.quick,
            defaults=args.defaults,
            timeout_s=args.peer_timeout,
            log_dir=args.results_dir,
        )
        status = "ok" if peers[name].get("available", True) else peers[name]["reason"]
        log(f"peer {name}: {status}")
    rows = comparisons(mine["median"], peers)
    rows_pg = comparisons(mine_pg["median"], peers)
    payload = {
        "generated_at": report.now_iso(),
        "quick": args.quick,
        "runs": args.runs,
        "seconds": round(time.monotonic() - began, 1),
        "machine": report.machine(),
        "runstream": mine,
        "runstream_postgres": mine_pg,
        "peers": peers,
        "comparison": rows,
        "comparison_postgres": rows_pg,
    }
    path = report.write_json(args.results_dir, "peers", payload)
    console = Console(file=sys.stdout, width=max(120, Console().width))
    console.print(compare_table(rows, peers, "runstream embedded (SQLite, one process)"))
    console.print(compare_table(rows_pg, peers, "runstream on PostgreSQL (API + worker process)"))
    for name, result in peers.items():
        if not result.get("available", True):
            console.print(f"[bold]{name}[/] unavailable: {result['reason']}", markup=True)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
