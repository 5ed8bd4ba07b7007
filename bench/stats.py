"""Percentiles, latency summaries and medians across runs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

Figures = dict[str, Any]
"""One run's figures: numbers, flags and nested groups of them."""


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default, as in ``bench/peers/common.py``)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_ms: Sequence[float]) -> Figures:
    """Count, p50/p95/p99/max and mean of latencies in milliseconds."""
    if not latencies_ms:
        return {"count": 0}
    ordered = sorted(latencies_ms)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 3),
        "p95_ms": round(percentile(ordered, 95), 3),
        "p99_ms": round(percentile(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def median_figures(runs: Sequence[Figures]) -> Figures:
    """Merge runs leaf by leaf: the median of numbers, ``all`` of flags, else the first value.

    A leaf missing from some runs is merged over the runs that have it.
    """
    merged: Figures = {}
    keys: list[str] = []
    for run in runs:
        keys.extend(key for key in run if key not in keys)
    for key in keys:
        values = [run[key] for run in runs if key in run]
        first = values[0]
        if isinstance(first, dict):
            merged[key] = median_figures([v for v in values if isinstance(v, dict)])
        elif isinstance(first, bool):
            merged[key] = all(bool(v) for v in values)
        elif isinstance(first, int | float):
            numbers = [v for v in values if isinstance(v, int | float)]
            middle = float(statistics.median(numbers))
            whole = isinstance(first, int) and middle.is_integer()
            merged[key] = int(middle) if whole else round(middle, 6)
        else:
            merged[key] = first
    return merged


def lookup(figures: Figures, path: str) -> Any:
    """The value at a dotted path such as ``"n100.p50_ms"``, or None."""
    value: Any = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
