"""The engine examples in docs/ run and print what the docs say they print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_example_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/quickstart.py"), str(tmp_path / "q.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "1 WORKFLOW_CREATED "
    assert "token durable" in " ".join(out)
    assert any("PROMISE_RESOLVED" in line for line in out)
    assert out[-1] == "{'summary': 'DURABLE STREAMS ARE FUN', 'verdict': 'ship it'}"
