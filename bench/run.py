"""Run runstream's benchmarks against a real ``runstream serve`` on 127.0.0.1.

    .venv/bin/python bench/run.py [--scenario NAME ...] [--runs N] [--quick]

Each run of each scenario starts its own server (fresh SQLite file, free port) and
stops it. Prints a summary table and writes ``bench/results/<scenario>.json`` with the
machine, the versions, the parameters, every run's figures and the medians. See
``bench/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: import ``bench.*`` from the repository root, never this folder's
# modules as top-level ones.
ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

from bench import report  # noqa: E402
from bench.scenarios import ALL, BY_NAME, Scenario  # noqa: E402
from bench.stats import Figures, median_figures  # noqa: E402


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit (servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def warn_if_busy() -> None:
    """Say so when other work is using the CPUs: the figures would not be comparable."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    if load > cpus / 2:
        log(f"warning: the 1-minute load average is {load:.1f} on {cpus} CPUs before starting")


async def run_once(scenario: Scenario[Any], params: Any) -> Figures:
    return await asyncio.wait_for(scenario.run(params), timeout=scenario.timeout_s(params))


async def run_scenario(
    scenario: Scenario[Any], runs: int, quick: bool, results_dir: Path
) -> dict[str, Any]:
    """Every run of one scenario; writes and returns its JSON payload."""
    params = scenario.params(quick)
    records: list[dict[str, Any]] = []
    began = time.monotonic()
    for number in range(1, runs + 1):
        log(f"[{scenario.name}] run {number}/{runs}")
        started = time.monotonic()
        record: dict[str, Any] = {"run": number}
        try:
            record["figures"] = await run_once(scenario, params)
        except Exception as exc:
            detail = (
                "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            )
            log(f"[{scenario.name}] run {number} failed: {detail}\n{traceback.format_exc()}")
            record["error"] = detail
        record["seconds"] = round(time.monotonic() - started, 2)
        records.append(record)
    figures = [r["figures"] for r in records if "figures" in r]
    median = median_figures(figures) if figures else {}
    payload: dict[str, Any] = {
        "scenario": scenario.name,
        "summary": scenario.summary,
        "generated_at": report.now_iso(),
        "quick": quick,
        "machine": report.machine(),
        "versions": report.versions(),
        "parameters": scenario.describe_params(params),
        "seconds": round(time.monotonic() - began, 2),
        "runs": records,
        "median": median,
        "floors": [] if quick or not figures else scenario.verdicts(median),
    }
    path = report.write_json(results_dir, scenario.name, payload)
    log(f"[{scenario.name}] wrote {path}")
    return payload


async def main_async(args: argparse.Namespace) -> int:
    chosen = [BY_NAME[name] for name in args.scenario] if args.scenario else list(ALL)
    results: list[tuple[Scenario[Any], dict[str, Any]]] = []
    began = time.monotonic()
    for scenario in chosen:
        results.append(
            (scenario, await run_scenario(scenario, args.runs, args.quick, args.results_dir))
        )
    report.print_summary(results, args.quick)
    print(f"total {time.monotonic() - began:.0f} s; results in {args.results_dir}")
    errors = any("error" in r for _, p in results for r in p["runs"])
    missed = any(v["met"] is False and not v["goal"] for _, p in results for v in p["floors"])
    if missed:
        print("some SPEC §9 floors were not met (see 'met' above)")
    return 1 if errors else (2 if missed and args.strict else 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in ALL],
        help="run only this scenario (repeatable); default: all",
    )
    parser.add_argument("--runs", type=int, default=3, help="measured runs per scenario (3)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--results-dir", type=Path, default=report.RESULTS, help="where the JSON files go"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with 2 when a SPEC §9 floor is missed"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_fd_limit()
    log(f"open-file limit {limit}; {args.runs} run(s) per scenario")
    warn_if_busy()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
