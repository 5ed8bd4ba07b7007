"""Helpers shared by the peer benchmark scripts: CLI flags, sizes, statistics, JSON report."""

# No ``from __future__ import annotations`` here: bench/peer_runner.py loads this file without
# registering it in sys.modules, and @dataclass cannot resolve string annotations then.
import argparse
import json
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from importlib import metadata
from types import FrameType
from typing import Any

Figures = dict[str, Any]
"""One scenario's figures, e.g. ``{"seconds": 1.2, "workflows_per_s": 830.0}``."""


@dataclass(frozen=True)
class Sizes:
    """Workload sizes; the same shapes as runstream's own benchmark."""

    throughput_workflows: int
    sequential_tasks: int
    start_to_result_samples: int
    event_interval_s: float
    event_duration_s: float
    scenario_timeout_s: float


LOAD_AT_START = os.getloadavg()[0]
DEFAULT_SIZES = Sizes(1000, 20, 30, 0.010, 3.0, 120.0)
QUICK_SIZES = Sizes(50, 5, 5, 0.010, 1.0, 60.0)


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=3, help="measured runs (default 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="use the peer's documented default settings instead of the tuned ones",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def sizes_for(args: argparse.Namespace) -> Sizes:
    return QUICK_SIZES if args.quick else DEFAULT_SIZES


def exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: unwind with SystemExit so ``finally`` blocks stop what was started."""
    raise SystemExit(f"stopped by signal {signum}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (same as numpy's default) of a non-empty list."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_ms: list[float], *, p99: bool = False) -> Figures:
    if not latencies_ms:
        raise RuntimeError("no latency samples were recorded")
    summary: Figures = {
        "count": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 50), 2),
        "p95_ms": round(percentile(latencies_ms, 95), 2),
    }
    if p99:
        summary["p99_ms"] = round(percentile(latencies_ms, 99), 2)
        summary["max_ms"] = round(max(latencies_ms), 2)
    return summary


def throughput_figures(workflows: int, seconds: float) -> Figures:
    return {
        "workflows": workflows,
        "seconds": round(seconds, 3),
        "workflows_per_s": round(workflows / seconds, 1),
    }


def median_figures(runs: list[dict[str, Figures]]) -> dict[str, Figures]:
    """Per scenario, the median across runs of every numeric figure; other fields kept as is."""
    medians: dict[str, Figures] = {}
    for scenario, first in runs[0].items():
        merged: Figures = {}
        for key, value in first.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                middle = statistics.median(run[scenario][key] for run in runs)
                merged[key] = int(middle) if isinstance(value, int) else round(middle, 3)
            else:
                merged[key] = value
        medians[scenario] = merged
    return medians


def versions(*distributions: str) -> dict[str, str]:
    return {name: metadata.version(name) for name in distributions}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": {"start": round(LOAD_AT_START, 2), "end": round(os.getloadavg()[0], 2)},
    }


def emit_report(
    system: str,
    versions_: dict[str, str],
    config: dict[str, Any],
    runs: list[dict[str, Figures]],
) -> None:
    report = {
        "system": system,
        "versions": versions_,
        "config": config,
        "machine": machine(),
        "runs": runs,
        "median": median_figures(runs),
    }
    print(json.dumps(report, indent=2))
