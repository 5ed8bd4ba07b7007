"""The app the schemathesis run serves: every kind is safe with any input."""

from __future__ import annotations

from typing import Any

import runstream as rs

app = rs.App("fuzz")


@app.task()
async def echo_task(ctx: rs.TaskContext, value: Any = None) -> Any:
    """Streams a token and returns its input."""
    ctx.token("echo ")
    return value


@app.workflow()
async def echo(ctx: rs.WorkflowContext, value: Any = None) -> Any:
    """One task, then its input back."""
    return await ctx.task(echo_task, value)


@app.workflow()
async def approval(ctx: rs.WorkflowContext, value: Any = None) -> Any:
    """Waits for promise ``go``, then for a message: the steering endpoints have work."""
    verdict = await ctx.promise("go", timeout=30)
    message = await ctx.receive(timeout=30)
    return {"input": value, "go": verdict, "message": message}
