"""docs/operations.md: its example runs, and it documents every metric /metrics serves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_example_prints_the_watched_figures(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/metrics.py"), str(tmp_path / "m.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert "runstream_executions_started_total{kind=loud,type=workflow} 1" in out
    assert "runstream_executions_finished_total{kind=loud,status=COMPLETED,type=workflow} 1" in out
    assert "runstream_queue_depth{} 0" in out


def test_every_metric_is_documented() -> None:
    from runstream.observability import metrics

    served = {
        name
        for name in re.findall(r"^# TYPE (\w+) ", metrics.render(None).decode(), flags=re.M)
        if name.startswith("runstream_")
    }
    store = {
        "runstream_executions",
        "runstream_queue_depth",
        "runstream_queue_oldest_age_seconds",
        "runstream_tasks_running",
        "runstream_timers_due",
        "runstream_workers",
    }
    documented = set(
        re.findall(
            r"^\| `(runstream_\w+)` \|", (ROOT / "docs/operations.md").read_text(), flags=re.M
        )
    )
    assert served | store == documented
