"""``runstream demo`` end to end: it must show every feature and finish by itself, exit 0."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter

from runstream.demo.driver import model_script
from runstream.demo.model_server import ModelServer

from .conftest import HERE, command, environment, runstream, stop


def test_the_demo_shows_everything_and_completes() -> None:
    done = runstream("demo", timeout=60, OPENAI_BASE_URL="", OPENAI_API_KEY="")
    assert done.code == 0, done.stderr
    events = done.lines()
    root = events[0]["data"]["id"]
    assert events[0]["type"] == "WORKFLOW_CREATED"
    kinds = Counter(e["type"] for e in events)
    for expected in (
        "token",
        "progress",
        "data",
        "error",
        "TIMER_FIRED",
        "PROMISE_RESOLVED",
        "CHILD_WORKFLOW_COMPLETED",
        "STATE_SET",
        "MESSAGE_CONSUMED",
        "OPERATION_COMPLETED",
        "agent_start",
        "tool_call",
        "tool_result",
        "usage",
    ):
        assert kinds[expected], expected
    retried = [e for e in events if e["type"] == "TASK_FAILED" and e["data"]["willRetry"]]
    assert [e["data"]["kind"] for e in retried] == ["fetch_quotes"]
    assert not [e for e in events if e["type"] == "TASK_FAILED" and not e["data"]["willRetry"]]
    ends = [e for e in events if e["type"] == "WORKFLOW_COMPLETED" and e["data"]["id"] == root]
    assert len(ends) == 1
    output = ends[0]["data"]["output"]
    assert output["approval"] == {"approved": True, "by": "runstream demo"}
    assert output["feedback"] == {"feedback": "Ship it!"}
    assert output["summary"].startswith("Summary: Durable execution")
    # The agent step: a tool call, then the scripted model's review streamed token by token.
    start = next(i for i, e in enumerate(events) if e["type"] == "agent_start")
    usage = next(i for i, e in enumerate(events) if e["type"] == "usage")
    assert [e["type"] for e in events[start + 1 : start + 3]] == ["tool_call", "tool_result"]
    streamed = "".join(e["data"] for e in events[start:usage] if e["type"] == "token")
    assert streamed == output["review"]
    assert output["review"].startswith("Following the house style (for developers: lead with")
    assert "the agent step talks to a scripted model server" in done.stderr
    assert len({e["id"] for e in events}) == len(events)
    assert "curl -N http://127.0.0.1:" in done.stderr
    assert f"/#/wf/{root}" in done.stderr, "the dashboard URL"
    assert f"/workflow-executions/{root}/stream/consolidated" in done.stderr
    assert "/promises/approval/resolve" in done.stderr
    assert f"COMPLETED showcase {root}" in done.stderr
    # The printed URLs die with the demo: it says how to keep them working.
    assert "runstream demo --keep-serving" in done.stderr


async def test_with_openai_base_url_set_the_demo_uses_that_model() -> None:
    # Any OpenAI-compatible server will do; this one plays the demo's script too.
    async with ModelServer(model_script(), name="local-model") as model:
        done = await asyncio.to_thread(
            runstream,
            "demo",
            "--model",
            "openai-chat:local-model",
            timeout=60,
            OPENAI_BASE_URL=model.url,
            OPENAI_API_KEY="",
        )
    assert done.code == 0, done.stderr
    assert f"the agent step uses openai-chat:local-model at {model.url}" in done.stderr
    assert "scripted model server" not in done.stderr
    assert [request.model for request in model.requests] == ["local-model", "local-model"]
    start = next(e for e in done.lines() if e["type"] == "agent_start")
    assert start["data"] == {"agentId": "review_draft", "model": "openai-chat:local-model"}


def test_with_keep_serving_the_printed_urls_keep_working() -> None:
    process = subprocess.Popen(
        command("demo", "--keep-serving", "--json"),
        env=environment(),
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        printed = ""
        while "still serving at" not in printed and process.poll() is None:
            printed += process.stderr.readline()
        url = next(
            word for word in printed.split() if word.startswith("http") and word.endswith("/stream")
        )
        replay = subprocess.run(["curl", "-sN", url], capture_output=True, text=True, timeout=30)
        assert "WORKFLOW_COMPLETED" in replay.stdout
    finally:
        stop(process)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0
