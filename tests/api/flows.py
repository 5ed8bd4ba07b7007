"""Workflows and tasks the API tests run."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import runstream as rs

app = rs.App("api-tests")


@app.task()
async def report(ctx: rs.TaskContext) -> str:
    """One event of each kind a task can emit, with awkward text."""
    ctx.token("line one\nline two\r\nline three\rend")
    ctx.progress(0.75, "three quarters")
    ctx.data({"status": "processing", "itemsProcessed": 42, "text": "h\u00e9 \u2603"})
    ctx.error("rate limited\nretry later", code="RATE")
    return "done"


@app.workflow()
async def kinds(ctx: rs.WorkflowContext) -> str:
    out: str = await ctx.task(report)
    ctx.set_state("phase", "reported")
    return out


@app.task()
async def chatter(ctx: rs.TaskContext, plan: dict[str, Any]) -> int:
    """``plan["count"]`` tokens, ``plan["pause"]`` seconds after every ten."""
    count: int = plan["count"]
    for i in range(count):
        ctx.token(f"t{i} ")
        if i % 10 == 9:
            await asyncio.sleep(plan.get("pause", 0.001))
    return count


@app.workflow()
async def busy(ctx: rs.WorkflowContext, plan: dict[str, Any]) -> int:
    """``plan["count"]`` tokens over four tasks, ten every ``plan["pause"]`` seconds."""
    total = 0
    for _ in range(4):
        total += await ctx.task(chatter, {"count": plan["count"] // 4, "pause": plan["pause"]})
    return total


@app.workflow()
async def gated(ctx: rs.WorkflowContext) -> Any:
    """Waits for promise ``go`` and returns its value."""
    return await ctx.promise("go")


@app.workflow()
async def inbox(ctx: rs.WorkflowContext) -> Any:
    """Returns the first message it receives."""
    return await ctx.receive()


@app.workflow()
async def kid(ctx: rs.WorkflowContext, count: int) -> int:
    result: int = await ctx.task(chatter, {"count": count})
    return result


@app.workflow()
async def family(ctx: rs.WorkflowContext) -> int:
    """Starts a child only once promise ``spawn`` is resolved."""
    await ctx.promise("spawn")
    result: int = await ctx.child(kid, 3)
    return result


@app.task()
async def hello(ctx: rs.TaskContext, name: str) -> str:
    ctx.token(f"hello {name}")
    return name


@app.task()
async def flood(ctx: rs.TaskContext, count: int) -> int:
    """``count`` tokens of 1 KiB, to fill a client's socket buffers."""
    chunk = "x" * 1024
    for i in range(count):
        ctx.token(chunk)
        if i % 100 == 99:
            await asyncio.sleep(0.001)
    return count


BROKEN: set[str] = set()
"""Inputs ``brittle`` fails on (for good); a test "fixes the bug" by discarding one."""


@app.task()
async def brittle(ctx: rs.TaskContext, name: str) -> str:
    if name in BROKEN:
        raise rs.TaskError(f"{name} is broken", retryable=False)
    ctx.token(f"mended {name}")
    return name


@app.workflow()
async def mended(ctx: rs.WorkflowContext, name: str) -> list[str]:
    """Greets, then runs ``brittle`` (failing while ``name`` is in ``BROKEN``)."""
    first: str = await ctx.task(hello, name)
    second: str = await ctx.task(brittle, name)
    return [first, second]


@app.workflow()
async def mended_parent(ctx: rs.WorkflowContext, name: str) -> list[str]:
    """``mended`` as a child."""
    result: list[str] = await ctx.child(mended, name)
    return result


FAKE_CLAUDE = [sys.executable, "-m", "runstream.demo.fake_claude"]
"""The stand-in Claude Code CLI, run as a real subprocess."""

chat = app.claude_code("chat", command=[*FAKE_CLAUDE, "--delay", "0.05"])
"""A session whose turns take ~0.2 s: messages arrive mid-turn."""
chat_slow = app.claude_code("chat_slow", command=[*FAKE_CLAUDE, "--delay", "0.5"])
chat_fail = app.claude_code("chat_fail", command=[*FAKE_CLAUDE, "--fail"])
chat_fast = app.claude_code("chat_fast", command=FAKE_CLAUDE)
"""No pauses; the prompt ``/burst N RATE`` floods the stream."""
