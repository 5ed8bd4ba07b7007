"""Workflows, agents and tasks the v0 API tests run.

The "agents" here are plain tasks that emit the events an agent stores (``agent_start``,
``tool_call``, ``tool_result``, ``token``, ``structured_delta``, ``usage``) in a fixed
order, registered with the ``AgentSpec`` that ``@app.agent`` attaches and
``api/v0/kinds.py`` reads (``TaskDef.agent``, whose ``output`` is the schema). Real
agents against a model are tested in ``tests/sdk``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import runstream as rs
from runstream.model import EventType
from runstream.sdk.agents import AgentSpec

app = rs.App("v0-tests")

TEXT = ["Hello", " world.\n", "Second line", "\n", "", "\n\nend\n"]
"""The text agent's tokens: newlines inside, alone, doubled and trailing; one empty."""

USAGE = [
    {"requests": 1, "inputTokens": 12, "outputTokens": 5},
    {"requests": 1, "inputTokens": 20, "outputTokens": 7},
]

GATES: dict[str, asyncio.Event] = {}
"""What ``held`` tasks wait for, by key (the test and the server share a process)."""


def gate(key: str) -> asyncio.Event:
    return GATES.setdefault(key, asyncio.Event())


def make_agent(name: str, output: type | None) -> None:
    agent = AgentSpec(name, "test:model", None, (), output)
    app.tasks[name] = replace(app.tasks[name], agent=agent)


def emit(ctx: rs.TaskContext, type: str, data: Any) -> None:
    # What the agent runtime will emit through the task context.
    ctx._append(type, data)


@app.task()
async def writer(ctx: rs.TaskContext, prompt: str) -> str:
    """A text agent: a tool call, then the text as tokens, then usage."""
    emit(ctx, EventType.AGENT_START, {"agentId": "writer", "model": "test:model"})
    emit(
        ctx, EventType.TOOL_CALL, {"toolName": "lookup", "args": {"q": prompt}, "toolCallId": "c1"}
    )
    emit(ctx, EventType.TOOL_RESULT, {"toolName": "lookup", "toolCallId": "c1", "result": 42})
    for token in TEXT:
        ctx.token(token)
    for usage in USAGE:
        emit(ctx, EventType.USAGE, usage)
    return "".join(TEXT)


class Verdict:
    """The structured agent's output schema (any non-None ``output`` means JSON mode)."""


@app.task()
async def classify(ctx: rs.TaskContext, text: str) -> dict[str, Any]:
    """A structured agent: partial objects, then the object."""
    emit(ctx, EventType.AGENT_START, {"agentId": "classify", "model": "test:model"})
    emit(ctx, EventType.STRUCTURED_DELTA, {"partial": {"label": "sp"}})
    emit(ctx, EventType.STRUCTURED_DELTA, {"partial": {"label": "spam", "score": 0.9}})
    emit(ctx, EventType.USAGE, USAGE[0])
    return {"label": "spam", "score": 0.9}


make_agent("writer", None)
make_agent("classify", Verdict)


@app.task()
async def compose(ctx: rs.TaskContext, lines: list[str]) -> str:
    """A plain task (text mode): one token per item."""
    for line in lines:
        ctx.token(line)
    ctx.progress(1.0, "written")
    return "".join(lines)


@app.task()
async def boom(ctx: rs.TaskContext, message: str) -> None:
    """Emits a chunk, then fails for good."""
    ctx.token("partial")
    raise rs.TaskError(message, retryable=False)


FIXED: set[str] = set()
"""Keys ``flaky`` tasks stop failing for (a fix deployed before a manual retry)."""


@app.task()
async def flaky(ctx: rs.TaskContext, key: str) -> str:
    """Fails for good until ``key`` is in ``FIXED``."""
    ctx.token("try ")
    if key not in FIXED:
        raise rs.TaskError("not fixed yet", retryable=False)
    return "fixed"


@app.workflow()
async def shaky(ctx: rs.WorkflowContext, key: str) -> str:
    """Fails while its ``flaky`` task does."""
    result: str = await ctx.task(flaky, key)
    return result


@app.task()
async def held(ctx: rs.TaskContext, plan: dict[str, Any]) -> str:
    """Emits ``plan["before"]`` tokens, waits for ``gate(plan["key"])``, then emits
    ``plan["after"]`` tokens ``plan["pause"]`` seconds apart."""
    for i in range(plan.get("before", 1)):
        ctx.token(f"b{i} ")
    await gate(plan["key"]).wait()
    for i in range(plan.get("after", 0)):
        ctx.token(f"a{i} ")
        await asyncio.sleep(plan.get("pause", 0))
    return "released"


@app.workflow()
async def pipeline(ctx: rs.WorkflowContext, topic: str) -> dict[str, Any]:
    """A task, an agent call, a timer, a promise and state."""
    text: str = await ctx.task(compose, [f"About {topic}\n", "done"])
    await ctx.task(writer, topic)
    await ctx.sleep(0.01)
    approved = await ctx.promise("approve", timeout=30)
    ctx.set_state("phase", "approved")
    return {"text": text, "approved": approved}


@app.workflow()
async def doomed(ctx: rs.WorkflowContext) -> None:
    """Fails because its task does."""
    await ctx.task(boom, "no luck")


@app.workflow()
async def waiting(ctx: rs.WorkflowContext) -> Any:
    """Waits for promise ``go``."""
    return await ctx.promise("go")
