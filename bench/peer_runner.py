"""Running the peer benchmark scripts and comparing their medians with runstream's.

The peer scripts live in ``bench/peers/`` (their own virtualenv, their own README).
Each prints one JSON report on stdout: ``{"system", "versions", "config", "machine",
"runs", "median": {"throughput": {"workflows_per_s"}, "sequential20": {"seconds"},
"start_to_result": {"p50_ms", "p95_ms"}, "event_latency": {"p50_ms", …}, …}}``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.stats import Figures, lookup

PEERS_DIR = Path(__file__).resolve().parent / "peers"
PEERS = {
    "temporal": ("temporal_bench.py",),
    "dbos": ("dbos_bench.py",),
    "dbos-postgres": ("dbos_bench.py", "--postgres"),
}
"""Peer name → script and its arguments."""
TERM_GRACE_S = 30.0

# The workload sizes when bench/peers/common.py cannot be read (same shapes).
_FALLBACK = {
    False: {
        "throughput_workflows": 1000,
        "sequential_tasks": 20,
        "start_to_result_samples": 30,
        "event_interval_s": 0.010,
        "event_duration_s": 3.0,
        "scenario_timeout_s": 120.0,
    },
    True: {
        "throughput_workflows": 50,
        "sequential_tasks": 5,
        "start_to_result_samples": 5,
        "event_interval_s": 0.010,
        "event_duration_s": 1.0,
        "scenario_timeout_s": 60.0,
    },
}

METRICS: tuple[tuple[str, str, str, bool], ...] = (
    # (scenario, figure, label, higher is better)
    ("throughput", "workflows_per_s", "throughput, workflows/s", True),
    ("sequential20", "seconds", "20-task workflow, s", False),
    ("start_to_result", "p50_ms", "start→result p50, ms", False),
    ("start_to_result", "p95_ms", "start→result p95, ms", False),
    ("event_latency", "p50_ms", "event latency p50, ms", False),
    ("event_latency", "p95_ms", "event latency p95, ms", False),
    ("event_latency", "p99_ms", "event latency p99, ms", False),
)
LONGPOLL = "event_latency_longpoll"
"""Temporal also reports a history long-poll variant; compared with our event latency."""


def sizes(quick: bool) -> dict[str, Any]:
    """The peers' workload sizes, read from ``bench/peers/common.py`` when possible."""
    try:
        spec = importlib.util.spec_from_file_location("bench_peers_common", PEERS_DIR / "common.py")
        if spec is None or spec.loader is None:
            raise ImportError("no loader")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        chosen = module.QUICK_SIZES if quick else module.DEFAULT_SIZES
        return dict(dataclasses.asdict(chosen))
    except Exception:
        return dict(_FALLBACK[quick])


def _tail(text: str, chars: int = 1500) -> str:
    return text.strip()[-chars:]


def run_peer(
    name: str,
    python: str,
    *,
    runs: int,
    quick: bool,
    defaults: bool,
    timeout_s: float,
    log_dir: Path,
) -> dict[str, Any]:
    """Run one peer script; its report with ``available: True``, or why it is unavailable."""
    python = os.path.abspath(python)  # not resolve(): a venv's python is a symlink
    if not Path(python).exists():
        return {"available": False, "reason": f"{python} not found (make bench-peers creates it)"}
    script, *extra = PEERS[name]
    command = [python, str(PEERS_DIR / script), *extra, "--runs", str(runs)]
    command += ["--quick"] if quick else []
    command += ["--defaults"] if defaults else []
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"peer-{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=PEERS_DIR,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(process)
            return {"available": False, "reason": f"timed out after {timeout_s:.0f} s ({log_path})"}
        except BaseException:
            _stop(process)
            raise
    errors = log_path.read_text(errors="replace")
    if process.returncode != 0:
        last = next((line for line in reversed(errors.splitlines()) if line.strip()), "")
        return {
            "available": False,
            "reason": f"exit code {process.returncode}: {last.strip()} (log {log_path})",
            "stderr_tail": _tail(errors),
        }
    try:
        result: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError as exc:
        return {"available": False, "reason": f"unreadable report ({exc}): {_tail(out, 300)}"}
    if not isinstance(result.get("median"), dict):
        return {"available": False, "reason": "report has no medians"}
    return {"available": True, **result, "command": command[1:], "log": str(log_path)}


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the scripts then stop their servers), SIGKILL to the group if that hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _advantage(ours: Any, theirs: Any, higher_is_better: bool) -> float | None:
    """How many times better runstream is (> 1: better, < 1: worse)."""
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float):
        return None
    if ours <= 0 or theirs <= 0:
        return None
    return round(ours / theirs if higher_is_better else theirs / ours, 2)


def comparisons(ours: Figures, peers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric: runstream's median, each peer's, and runstream's advantage."""
    rows = []
    for scenario, figure, label, higher in METRICS:
        row: dict[str, Any] = {
            "metric": f"{scenario}.{figure}",
            "label": label,
            "higher_is_better": higher,
            "runstream": lookup(ours, f"{scenario}.{figure}"),
            "peers": {},
        }
        for name, result in peers.items():
            theirs = lookup(result.get("median", {}), f"{scenario}.{figure}")
            row["peers"][name] = {
                "value": theirs,
                "advantage": _advantage(row["runstream"], theirs, higher),
            }
        rows.append(row)
        if scenario == "event_latency" and any(
            lookup(r.get("median", {}), f"{LONGPOLL}.{figure}") is not None for r in peers.values()
        ):
            extra: dict[str, Any] = dict(row, metric=f"{LONGPOLL}.{figure}", peers={})
            extra["label"] = label + " (peer: long-poll)"
            for name, result in peers.items():
                theirs = lookup(result.get("median", {}), f"{LONGPOLL}.{figure}")
                extra["peers"][name] = {
                    "value": theirs,
                    "advantage": _advantage(row["runstream"], theirs, higher),
                }
            rows.append(extra)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def compare_table(
    rows: list[dict[str, Any]], peers: dict[str, dict[str, Any]], runstream: str = "runstream"
) -> Table:
    """Medians side by side; ``×N`` is how many times better runstream is."""
    table = Table(title=f"{runstream} vs peers (medians; ×N > 1: runstream better)")
    table.add_column("metric")
    table.add_column("runstream", justify="right")
    for name, result in peers.items():
        table.add_column(
            name if result.get("available", True) else f"{name} (n/a)", justify="right"
        )
        table.add_column("×", justify="right")
    for row in rows:
        cells = [row["label"], _cell(row["runstream"])]
        for name in peers:
            peer = row["peers"].get(name, {})
            advantage = peer.get("advantage")
            cells += [_cell(peer.get("value")), "" if advantage is None else f"×{advantage:g}"]
        table.add_row(*cells)
    return table
