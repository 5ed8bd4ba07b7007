"""``kill -9`` of the server mid-run: every line already recorded survives, byte for byte;
after the restart the run fails with its lease (a session is not replayed, docs/claude-code.md)
and the orphaned CLI ends on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ...cli.conftest import free_port, stop, wait_listening
from ..sse import Block, connect
from .helpers import RUNS, gone, until_line

ROOT = Path(__file__).resolve().parents[3]
SERVE = [sys.executable, "-m", "runstream.cli.main", "serve", "tests.api.flows:app"]


@contextmanager
def serving(db: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")} | {
        "RUNSTREAM_STORE": f"sqlite:///{db}",
        "RUNSTREAM_LEASE_TIMEOUT_SECONDS": "1",
        "RUNSTREAM_STREAM_HEARTBEAT_SECONDS": "0.5",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_listening(port, process)
        yield process
    finally:
        stop(process)


async def test_kill_9_mid_run_loses_no_recorded_line(tmp_path: Path) -> None:
    db, port = tmp_path / "crash.db", free_port()
    base = f"http://127.0.0.1:{port}"
    received: list[Block] = []
    with serving(db, port) as first:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            started = await http.post(f"{RUNS}/claude-code/run/chat_slow", json={"message": "go"})
            run_id = started.json()["run_id"]
            async with connect(port, f"{RUNS}/{run_id}/stream") as stream:
                await until_line(stream, received, '"tool_use"')
            events = (await http.get(f"/api/orgs/default/task-executions/{run_id}/events")).json()
        pids = [
            int(e["data"]["text"].rsplit(" ", 1)[1])
            for e in events["items"]
            if e["type"] == "log" and e["data"]["text"].startswith("fake-claude pid ")
        ]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    before = [b for b in received if b.id is not None]
    assert len(before) >= 3

    with serving(db, port):
        async with connect(port, f"{RUNS}/{run_id}/stream") as stream:
            after = await stream.blocks(timeout=15)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            status = (await http.get(f"{RUNS}/claude-code/run/{run_id}/status")).json()
    lines = [b for b in after if b.id is not None]
    assert [b.raw for b in lines[: len(before)]] == [b.raw for b in before]
    assert [int(b.id or 0) for b in lines] == list(range(1, len(lines) + 1))
    assert status["status"] == "failed" and "lease expired" in status["error"]
    assert after[-1].event == "end"

    # The orphaned CLI lost its stdin and stdout with the server; it ends by itself.
    assert len(pids) == 1
    await gone(pids[0], 15)
