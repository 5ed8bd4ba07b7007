"""docs/deployment.md's example: two APIs and two workers on one PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scale_out_example_runs(pg_database: str) -> None:
    # The Redis variant of the same deployment is tests/cli/test_scale_out.py's.
    args = [sys.executable, str(ROOT / "docs/examples/scale_out.py"), pg_database]
    done = subprocess.run(args, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Hello Ada!" in out and "output: Hello Ada!\nNice to meet you." in out
    assert out.strip().endswith("exit codes: [0, 0, 0, 0]")
