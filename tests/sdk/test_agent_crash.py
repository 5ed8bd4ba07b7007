"""kill -9 after an agent step completed: the replayed workflow does not call the model again."""

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
from runstream.demo.model_script import ModelRequest, Reply, ToolCall, words

from .conftest import model_server, of_type, run_to_end, tokens

ROOT = Path(__file__).resolve().parents[2]


def spawn(db: Path, markers: Path, model_url: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AGENT_MARKERS": str(markers),
        "PYTHONPATH": str(ROOT),
        "OPENAI_BASE_URL": model_url,
    }
    if args[0] == "resume":
        env["AGENT_RELEASE"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.agent_app", str(db), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def wait_for_marker(markers: Path, prefix: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(prefix) for p in markers.iterdir()):
        assert time.monotonic() < deadline, f"marker {prefix} never appeared"
        time.sleep(0.02)


def answer(request: ModelRequest) -> Reply:
    return Reply(text=words(f"Briefly: {request.tool_outputs()[0]}."))


async def test_a_completed_agent_step_is_not_rerun_after_kill_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, markers = tmp_path / "crash.db", tmp_path / "markers"
    markers.mkdir()
    tool_call = Reply(tool_calls=[ToolCall("lookup", ['{"topic": "replay"}'])])
    async with model_server(monkeypatch, tool_call, answer) as model:
        first = spawn(db, markers, model.url, "start", "replay")
        assert first.stdout is not None
        execution_id = (await asyncio.to_thread(first.stdout.readline)).strip()
        await asyncio.to_thread(wait_for_marker, markers, "hang-1")
        assert len(model.requests) == 2
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        first.stdout.close()

        second = spawn(db, markers, model.url, "resume", execution_id)
        out, _ = await asyncio.to_thread(second.communicate, timeout=60)
        assert second.returncode == 0
        assert out.strip() == '["Briefly: replay is well documented.","released"]'
        assert len(model.requests) == 2, "the model was called again on replay"

    async with rs.Engine(rs.App("reader"), store=f"sqlite:///{db}", worker=False) as engine:
        log = await run_to_end(engine.handle(execution_id))
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    assert len(of_type(log, "agent_start")) == 1
    assert tokens(log) == "Briefly: replay is well documented."
    assert [ev.data["kind"] for ev in of_type(log, "TASK_COMPLETED")] == ["explain", "hang"]
