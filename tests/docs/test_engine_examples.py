"""The engine examples in docs/ run and print what the docs say they print."""

from __future__ import annotations

import os
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


def test_retry_example_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/retry.py"), str(tmp_path / "r.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith("failed: TaskFailed: task send_receipt")
    assert out[0].endswith("failed: receipt service misconfigured")
    assert out[1] == "retry 1"
    seq, first = out[2].split()
    assert first == "RETRY_REQUESTED"
    events = [line.split()[1] for line in out[2:-2]]
    assert [int(line.split()[0]) for line in out[2:-2]] == list(
        range(int(seq), int(seq) + len(events))
    )
    assert events[-1] == "WORKFLOW_COMPLETED" and "WORKFLOW_FAILED" not in events
    assert "TASK_CREATED" not in events, "no task was created again"
    assert out[-2] == "{'charge': 'ch_42', 'receipt': 'sent ch_42'}"
    assert out[-1] == "charged 1 time(s)"


def test_claude_code_example_talks_to_a_session_mid_turn(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RUNSTREAM_CLAUDE_COMMAND"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/claude_code.py"), str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    ).stdout.splitlines()
    assert out[0].startswith("[session ") and out[0].endswith("model fake-claude]")
    asked = out.index("you:    And which one is the largest?")
    first_result = next(i for i, line in enumerate(out) if line.startswith("result: "))
    assert asked < first_result, "the message was sent while the first turn ran"
    assert "result: Answer: And which one is the largest? ($0.0250)" in out
    assert out[-1] == "final:  Answer: And which one is the largest?"
