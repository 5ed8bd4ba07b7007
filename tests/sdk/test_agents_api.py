"""Agents over HTTP: started as task executions, followed live over the native SSE stream."""

from __future__ import annotations

import orjson
import pytest

import runstream as rs
from runstream.demo.model_script import ModelRequest, Reply, ToolCall, words
from tests.api.sse import connect

from .conftest import api_server, http, model_server


def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"{topic} is well documented"


def app_with_agent() -> rs.App:
    app = rs.App("agents")

    @app.agent(model="openai-chat:gpt-test", tools=[lookup])
    async def explain(ctx: rs.AgentContext, topic: str) -> str:
        return f"Explain {topic}"

    @app.workflow()
    async def lesson(ctx: rs.WorkflowContext, topic: str) -> str:
        text: str = await ctx.task(explain, topic)
        return text

    return app


def answer(request: ModelRequest) -> Reply:
    return Reply(text=words(f"In short: {request.tool_outputs()[0]}.\nThat is all."), delay=0.02)


TOOL_CALL = Reply(tool_calls=[ToolCall("lookup", ['{"topic"', ': "SSE"}'], id="call_lookup")])


async def test_a_standalone_agent_over_http_and_sse(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        model_server(monkeypatch, TOOL_CALL, answer),
        api_server(app_with_agent(), db_url) as (_, server),
        http(server.port) as client,
    ):
        created = await client.post(
            "/api/orgs/default/task-executions", json={"kind": "explain", "input": "SSE"}
        )
        assert created.status_code == 201, created.text
        execution_id = created.json()["id"]
        path = f"/api/orgs/default/task-executions/{execution_id}/stream"
        async with connect(server.port, path) as stream:
            assert stream.status == 200
            blocks = await stream.blocks(timeout=20)
        snapshot = (await client.get(f"/api/orgs/default/task-executions/{execution_id}")).json()

    frames = [b for b in blocks if b.id is not None]
    assert [int(str(b.id)) for b in frames] == list(range(1, len(frames) + 1))
    text = "".join(str(b.data) for b in frames if b.event == "token")
    assert text == snapshot["output"] == "In short: SSE is well documented.\nThat is all."
    # A token ending in a newline travels as two data lines, EventSource joins them back.
    assert any(b.raw.endswith(b"event: token\ndata: documented.\ndata: \n\n") for b in frames)

    tagged = [orjson.loads(str(b.data)) for b in frames if b.event == "data"]
    agent = [d for d in tagged if d.get("type") != "Event"]
    assert [d["type"] for d in agent] == ["agent_start", "tool_call", "tool_result", "usage"]
    assert agent[0] == {
        "type": "agent_start",
        "agentId": "explain",
        "model": "openai-chat:gpt-test",
    }
    assert agent[1] == {
        "type": "tool_call",
        "toolName": "lookup",
        "args": {"topic": "SSE"},
        "toolCallId": "call_lookup",
    }
    assert agent[2] == {
        "type": "tool_result",
        "toolName": "lookup",
        "toolCallId": "call_lookup",
        "result": "SSE is well documented",
    }
    assert agent[3]["requests"] == 2
    ends = [d for d in tagged if d.get("type") == "Event" and d["event"] == "TASK_COMPLETED"]
    assert ends and ends[-1]["data"]["output"] == text


async def test_an_agent_step_streams_on_its_workflow_stream(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        model_server(monkeypatch, TOOL_CALL, answer),
        api_server(app_with_agent(), db_url) as (_, server),
        http(server.port) as client,
    ):
        created = await client.post(
            "/api/orgs/default/workflow-executions", json={"kind": "lesson", "input": "SSE"}
        )
        execution_id = created.json()["id"]
        path = f"/api/orgs/default/workflow-executions/{execution_id}/stream"
        async with connect(server.port, path) as stream:
            blocks = await stream.blocks(timeout=20)

    names = []
    for block in blocks:
        if block.event == "token":
            names.append("token")
        elif block.event == "data":
            body = orjson.loads(str(block.data))
            names.append(body["event"] if body["type"] == "Event" else body["type"])
    assert names[0] == "WORKFLOW_CREATED" and names[-1] == "WORKFLOW_COMPLETED"
    start, end = names.index("TASK_STARTED"), names.index("TASK_COMPLETED")
    inside = names[start + 1 : end]
    assert inside[:3] == ["agent_start", "tool_call", "tool_result"]
    assert inside[-1] == "usage" and set(inside[3:-1]) == {"token"}
