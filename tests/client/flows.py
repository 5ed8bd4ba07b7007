"""Workflows and tasks the client tests run against a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import runstream as rs

app = rs.App("client-tests")


@app.workflow()
async def echo(ctx: rs.WorkflowContext, value: Any) -> Any:
    return value


@app.task()
async def shout(ctx: rs.TaskContext, text: str) -> str:
    ctx.token(text)
    return text.upper()


@app.task()
async def report(ctx: rs.TaskContext) -> str:
    """One event of each kind a task can emit, with awkward text."""
    ctx.token("line one\nline two\r\nthree")
    ctx.progress(0.75, "three quarters")
    ctx.data({"items": 42, "text": "h\u00e9 \u2603"})
    ctx.error("rate limited\nretry later", code="RATE")
    return "done"


@app.workflow()
async def kinds(ctx: rs.WorkflowContext) -> str:
    out: str = await ctx.task(report)
    ctx.set_state("phase", "reported")
    return out


@app.task()
async def drip(ctx: rs.TaskContext, count: int) -> int:
    """``count`` tokens over about ``count`` milliseconds, in many commits."""
    for i in range(count):
        ctx.token(f"t{i} ")
        await asyncio.sleep(0.001)
    return count


@app.workflow()
async def busy(ctx: rs.WorkflowContext, count: int) -> int:
    """About ``count`` tokens spread over four tasks, with a timer in between."""
    total = 0
    for _ in range(4):
        total += await ctx.task(drip, count // 4)
        await ctx.sleep(0.01)
    return total


@app.workflow()
async def kid(ctx: rs.WorkflowContext, count: int) -> int:
    result: int = await ctx.task(drip, count)
    return result


@app.workflow()
async def family(ctx: rs.WorkflowContext, count: int) -> int:
    """Two children one after the other, each streaming ``count`` tokens."""
    first: int = await ctx.child(kid, count)
    second: int = await ctx.child(kid, count)
    return first + second


@app.workflow()
async def gated(ctx: rs.WorkflowContext) -> Any:
    """Waits for promise ``go`` and returns its value."""
    return await ctx.promise("go")


@app.workflow()
async def inbox(ctx: rs.WorkflowContext) -> Any:
    """Returns the first message it receives."""
    return await ctx.receive()


@app.workflow()
async def broken(ctx: rs.WorkflowContext) -> None:
    raise ValueError("broken on purpose")


@app.workflow()
async def sleeper(ctx: rs.WorkflowContext) -> None:
    await ctx.sleep(3600)


BROKEN: set[str] = set()
"""Inputs ``brittle`` fails on (for good); a test "fixes the bug" by discarding one."""


@app.task()
async def brittle(ctx: rs.TaskContext, name: str) -> str:
    if name in BROKEN:
        raise rs.TaskError(f"{name} is broken", retryable=False)
    return name


@app.workflow()
async def mended(ctx: rs.WorkflowContext, name: str) -> list[str]:
    first: str = await ctx.task(shout, name)
    second: str = await ctx.task(brittle, name)
    return [first, second]


@app.workflow()
async def mended_parent(ctx: rs.WorkflowContext, name: str) -> list[str]:
    result: list[str] = await ctx.child(mended, name)
    return result
