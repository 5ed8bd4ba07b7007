"""``runstream run KIND --task --follow`` starts an agent on a served app and follows it."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import orjson
import pytest

from runstream.demo.model_script import ModelRequest, Reply, ToolCall, words

from .conftest import model_server

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answer(request: ModelRequest) -> Reply:
    return Reply(text=words(f"From the CLI: {request.tool_outputs()[0]}."))


async def test_run_an_agent_as_a_task_and_follow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    tool_call = Reply(tool_calls=[ToolCall("lookup", ['{"topic": "agents"}'])])
    async with model_server(monkeypatch, tool_call, answer) as model:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
        env |= {"PYTHONPATH": str(ROOT), "OPENAI_BASE_URL": model.url}
        cli = [sys.executable, "-m", "runstream.cli.main"]
        serve = await asyncio.create_subprocess_exec(
            *cli, "serve", "tests.sdk.agent_app:app", "--port", str(port),
            "--store", f"sqlite:///{tmp_path / 'cli.db'}", "--log-level", "warning",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(20):
                while True:
                    try:
                        _, writer = await asyncio.open_connection("127.0.0.1", port)
                        writer.close()
                        break
                    except OSError:
                        await asyncio.sleep(0.05)
            run = await asyncio.create_subprocess_exec(
                *cli, "run", "explain", "--task", "--input", '"agents"', "--follow",
                "--url", f"http://127.0.0.1:{port}",
                cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(run.communicate(), 60)
        finally:
            serve.terminate()
            await asyncio.wait_for(serve.wait(), 10)

    assert run.returncode == 0, err.decode()
    lines = [orjson.loads(line) for line in out.decode().splitlines() if line.strip()]
    types = [line["type"] for line in lines]
    assert types[:2] == ["TASK_CREATED", "TASK_STARTED"]
    assert types[2:5] == ["agent_start", "tool_call", "tool_result"]
    assert types[-2:] == ["usage", "TASK_COMPLETED"]
    assert lines[3]["data"] == {
        "toolName": "lookup",
        "args": {"topic": "agents"},
        "toolCallId": lines[4]["data"]["toolCallId"],
    }
    text = "".join(line["data"] for line in lines if line["type"] == "token")
    assert text == lines[-1]["data"]["output"] == "From the CLI: agents is well documented."
    assert len(model.requests) == 2
