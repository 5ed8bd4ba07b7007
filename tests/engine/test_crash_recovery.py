"""kill -9 a process mid-task and mid-sleep; a new process on the same file finishes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import runstream as rs
from tests.conftest import sqlite_url
from tests.engine.conftest import run_to_end, types

ROOT = Path(__file__).resolve().parents[2]


def spawn(db: Path, markers: Path, *args: str, release: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "CRASH_MARKERS": str(markers), "PYTHONPATH": str(ROOT)}
    if release:
        env["CRASH_RELEASE"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.crash_app", str(db), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def wait_for_marker(markers: Path, prefix: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(prefix) for p in markers.iterdir()):
        assert time.monotonic() < deadline, f"marker {prefix} never appeared"
        time.sleep(0.02)


def markers_named(markers: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in markers.iterdir() if p.name.startswith(prefix))


@pytest.mark.parametrize("mode", ["task", "sleep"])
async def test_kill_9_then_resume_in_a_new_process(tmp_path: Path, mode: str) -> None:
    db, markers = tmp_path / "crash.db", tmp_path / "markers"
    markers.mkdir()
    first = spawn(db, markers, "start", mode)
    assert first.stdout is not None
    execution_id = first.stdout.readline().strip()
    wait_for_marker(markers, "hang-1" if mode == "task" else "sleeping")
    await asyncio.sleep(0.2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    first.stdout.close()

    second = spawn(db, markers, "resume", execution_id, release=True)
    out, _ = await asyncio.to_thread(second.communicate, timeout=40)
    assert second.returncode == 0
    middle = "released" if mode == "task" else "slept"
    assert out.strip() == f'["first","{middle}","last"]'

    assert len(markers_named(markers, "first-")) == 1, "a completed task ran again"
    async with rs.Engine(rs.App("reader"), store=sqlite_url(db), worker=False) as engine:
        log = await run_to_end(engine.handle(execution_id))
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    for once in ("WORKFLOW_CREATED", "WORKFLOW_STARTED", "WORKFLOW_COMPLETED"):
        assert types(log).count(once) == 1
    tasks = 3 if mode == "task" else 2
    assert types(log).count("TASK_COMPLETED") == tasks
    assert types(log).count("TASK_CREATED") == tasks
    if mode == "task":
        assert len(markers_named(markers, "hang-")) == 2
        failed = [ev for ev in log if ev.type == "TASK_FAILED"]
        assert len(failed) == 1 and failed[0].data["willRetry"] is True
        assert "lease expired" in failed[0].data["error"]
    else:
        started = next(ev for ev in log if ev.type == "TIMER_STARTED")
        fired = next(ev for ev in log if ev.type == "TIMER_FIRED")
        assert fired.ts >= started.data["fireAtMs"]
        assert fired.ts - started.data["fireAtMs"] < 2000, "deadline not kept across restart"


async def test_kill_9_during_a_retried_run_recovers(tmp_path: Path) -> None:
    """The workflow failed, was fixed and retried; the retried task's worker is killed."""
    db, markers = tmp_path / "crash.db", tmp_path / "markers"
    markers.mkdir()
    first = spawn(db, markers, "start", "retry")
    assert first.stdout is not None
    execution_id = first.stdout.readline().strip()
    wait_for_marker(markers, "fixable-2")  # the retry's first attempt, hanging
    await asyncio.sleep(0.2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    first.stdout.close()

    second = spawn(db, markers, "resume", execution_id, release=True)
    out, _ = await asyncio.to_thread(second.communicate, timeout=40)
    assert second.returncode == 0
    assert out.strip() == '["first","fixed","last"]'

    assert len(markers_named(markers, "first-")) == 1, "a completed task ran again"
    assert [m.split("-")[1] for m in markers_named(markers, "fixable-")] == ["1", "2", "3"]
    async with rs.Engine(rs.App("reader"), store=sqlite_url(db), worker=False) as engine:
        log = await run_to_end(engine.handle(execution_id))
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    kinds = types(log)
    assert kinds.count("WORKFLOW_FAILED") == 1 and kinds.count("RETRY_REQUESTED") == 1
    assert kinds.index("WORKFLOW_FAILED") + 1 == kinds.index("RETRY_REQUESTED")
    assert kinds[-1] == "WORKFLOW_COMPLETED" and kinds.count("WORKFLOW_COMPLETED") == 1
    expired = [ev for ev in log if ev.type == "TASK_FAILED" and ev.attempt == 2]
    assert len(expired) == 1 and "lease expired" in expired[0].data["error"]
    assert expired[0].data["willRetry"] is True
