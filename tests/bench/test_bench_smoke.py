"""The benchmark harness still runs: ``bench/run.py --quick`` writes sane JSON.

Keeps ``bench/`` from rotting; the real figures come from ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict[str, Any]:
    assert path.exists(), f"{path.name} was not written"
    payload: dict[str, Any] = json.loads(path.read_text())
    assert payload["machine"]["cpus"] >= 1
    assert payload["machine"]["memory_gib"] > 0
    assert payload["versions"]["runstream"]
    assert payload["versions"]["uvicorn"]
    assert payload["parameters"]
    assert len(payload["runs"]) == 1
    run = payload["runs"][0]
    assert "error" not in run, run.get("error")
    assert payload["median"] == run["figures"]
    return payload


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_quick_latency_and_throughput(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--runs",
            "1",
            "--scenario",
            "latency",
            "--scenario",
            "throughput",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "runstream benchmarks" in done.stdout

    latency = _load(tmp_path / "latency.json")["median"]
    for figures in (latency["n1"], latency["n100"], *latency["auth_keys"].values()):
        assert figures["all_received"] is True
        assert figures["out_of_order"] == 0
        assert figures["count"] == figures["emitted"] * figures["clients"] > 0
        assert 0 <= figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"] < 10_000

    figures = _load(tmp_path / "throughput.json")["median"]
    assert figures["throughput"]["workflows"] == 50
    assert figures["throughput"]["workflows_per_s"] > 0
    assert 0 < figures["sequential20"]["seconds"] < 60
    assert figures["start_to_result"]["count"] == 5
    assert 0 < figures["start_to_result"]["p50_ms"] <= figures["start_to_result"]["p95_ms"]


@pytest.mark.timeout(60)
def test_notify_commits_prints_both_rates() -> None:
    script = str(ROOT / "bench" / "notify_commits.py")
    done = subprocess.run(
        [sys.executable, script, "--processes", "2", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["processes"] == 2
    rates = figures["commits_per_s"]
    assert rates["notify_inside"] > 0 and rates["notify_after"] > 0
    assert figures["after_over_inside"] == round(rates["notify_after"] / rates["notify_inside"], 2)
