"""The v0 examples of the docs (Python, curl, Node EventSource) run against the example server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

from ..test_docs_examples import EXAMPLES, example_server

NODE = EXAMPLES / "node"


async def run(*argv: str, cwd: Path | None = None) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    assert process.returncode in (0, 1), err.decode()
    return process.returncode, out.decode().splitlines()


async def test_python_example_streams_text_and_json(tmp_path: Path) -> None:
    async with example_server(tmp_path / "ex.db") as served:
        script = str(EXAMPLES / "v0_stream.py")
        code, task = await run(sys.executable, script, served.url, "tasks", "compose", '"Ada"')
        assert code == 0
        assert [line for line in task if line.startswith("llm_chunk")] == [
            "llm_chunk 'Hello'",
            "llm_chunk ' Ada!'",
            "llm_chunk '\\nNice'",
            "llm_chunk ' to'",
            "llm_chunk ' meet'",
            "llm_chunk ' you.'",
        ]
        assert task[-1] == "text: 'Hello Ada!\\nNice to meet you.'"
        code, flow = await run(sys.executable, script, served.url, "workflows", "greet", '"Bo"')
        assert code == 0
        assert flow[0].startswith('workflow_start {"workflowId":"greet"')
        assert flow[-2].startswith('complete {"status":"SUCCESS","result":"Hello Bo!')
        assert flow[-1] == "text: 'Hello Bo!\\nNice to meet you.'"


async def test_curl_example(tmp_path: Path) -> None:
    async with example_server(tmp_path / "ex.db") as served:
        code, lines = await run("bash", str(EXAMPLES / "v0_curl.sh"), served.url)
    assert code == 0
    text = "\n".join(lines)
    live, resumed = text.split("retry: 3000")[1:]
    assert live.count("event: llm_chunk") == 6 and "event: complete" in live
    assert resumed.split("\n\n")[1] == "id: 5\nevent: llm_chunk\ndata:  Ada!"
    assert "task_status" not in resumed
    assert lines[-2] == "204"
    status = orjson.loads(lines[-1])["data"]
    assert (status["status"], status["output"]) == ("SUCCESS", "Hello Ada!\nNice to meet you.")


async def test_node_eventsource_example(tmp_path: Path) -> None:
    assert (NODE / "node_modules" / "eventsource").is_dir(), (
        "the Node examples need their packages: make test installs them "
        "(or: cd docs/examples/node && npm ci)"
    )
    async with example_server(tmp_path / "ex.db") as served:
        script = str(NODE / "follow_v0.mjs")
        code, task = await run("node", script, served.url, "tasks", "compose", '"Ada"', cwd=NODE)
        code_wf, flow = await run(
            "node", script, served.url, "workflows", "greet", '"Bo"', cwd=NODE
        )
    assert code == code_wf == 0
    assert task[:3] == [
        "task_status PENDING compose TASK_CREATED",
        "task_status RUNNING compose TASK_STARTED",
        'llm_chunk "Hello"',
    ]
    assert task[-2:] == [
        'complete SUCCESS "Hello Ada!\\nNice to meet you."',
        'text "Hello Ada!\\nNice to meet you."',
    ]
    assert flow[0] == "workflow_start greet"
    assert flow[-1] == 'text "Hello Bo!\\nNice to meet you."'
