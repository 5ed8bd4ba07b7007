"""What a benchmark run records: the machine, the versions, the JSON files, the table."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.scenarios.base import Scenario
from bench.stats import Figures, lookup

RESULTS = Path(__file__).resolve().parent / "results"
"""Default folder of the JSON results (gitignored)."""


def machine() -> dict[str, Any]:
    """CPUs, memory, Python and platform of this machine."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 2),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def versions(*extra: str) -> dict[str, str]:
    """Installed versions of runstream and the server stack."""
    found: dict[str, str] = {}
    for name in ("runstream", "fastapi", "starlette", "uvicorn", "orjson", *extra):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def write_json(directory: Path, name: str, payload: dict[str, Any]) -> Path:
    """Write ``<directory>/<name>.json`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def _format(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip() if unit not in ("", "/s") else text + unit


def _spread(runs: list[Figures], path: str) -> str:
    values = [lookup(run, path) for run in runs]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) < 2:
        return ""
    return f"{_format(min(numbers))} … {_format(max(numbers))}"


def summary_table(results: list[tuple[Scenario[Any], dict[str, Any]]], quick: bool) -> Table:
    """One row per headline figure: median, spread over runs, floor and verdict."""
    table = Table(title="runstream benchmarks (medians)" + (" — quick sizes" if quick else ""))
    for column in ("scenario", "figure", "median", "runs min … max", "bar", "met"):
        table.add_column(
            column, justify="right" if column in ("median", "runs min … max") else "left"
        )
    for scenario, payload in results:
        median: Figures = payload.get("median", {})
        runs = [r["figures"] for r in payload.get("runs", []) if "figures" in r]
        floors = {floor.path: floor for floor in scenario.floors}
        first = True
        if not runs:
            errors = "; ".join(r.get("error", "") for r in payload.get("runs", []))
            table.add_row(scenario.name, "every run failed", errors[:80], "", "", "NO")
            continue
        for headline in scenario.headlines:
            floor = floors.get(headline.path)
            met = None if floor is None or quick else floor.met(median)
            table.add_row(
                scenario.name if first else "",
                headline.label,
                _format(lookup(median, headline.path), headline.unit),
                _spread(runs, headline.path),
                floor.describe() if floor is not None else "",
                "" if met is None else ("yes" if met else "[bold red]NO[/]"),
            )
            first = False
        failed = [r for r in payload.get("runs", []) if "error" in r]
        if failed:
            table.add_row("", f"{len(failed)} run(s) failed", failed[0]["error"][:60], "", "", "NO")
        table.add_section()
    return table


def print_summary(results: list[tuple[Scenario[Any], dict[str, Any]]], quick: bool) -> None:
    console = Console(file=sys.stdout, width=max(120, Console().width))
    console.print(summary_table(results, quick))
