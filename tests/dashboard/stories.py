"""The app the TypeScript client's tests and the dashboard's browser test serve.

``runstream serve stories:app`` with this directory on ``PYTHONPATH``. Each workflow is
short and shows one thing the client must fold: a retried task whose first attempt
streamed text that must be dropped, a child streaming tokens, a promise, state, messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

import runstream as rs

app = rs.App("stories")

FAST_RETRY = rs.RetryPolicy(initial_interval=0.05, backoff_coefficient=1.0, jitter=0.0)


@app.task(retries=2, retry_policy=FAST_RETRY)
async def draft(ctx: rs.TaskContext, words: int) -> str:
    """Stream ``words`` words; the first attempt gives up halfway with an error."""
    if ctx.attempt == 1:
        for i in range(words // 2):
            ctx.token(f"lost{i} ")
        ctx.progress(0.5)
        ctx.error("model overloaded", code="OVERLOADED")
        raise rs.TaskError("model overloaded")
    text = ""
    for i in range(words):
        ctx.token(f"word{i} ")
        text += f"word{i} "
        ctx.progress((i + 1) / words)
        await asyncio.sleep(0.002)
    ctx.data({"words": words})
    return text


@app.task()
async def recite(ctx: rs.TaskContext, lines: list[str]) -> int:
    """Stream each line as a token (line breaks included)."""
    for line in lines:
        ctx.token(line + "\n")
        await asyncio.sleep(0.005)
    return len(lines)


@app.workflow()
async def chapter(ctx: rs.WorkflowContext, lines: list[str]) -> int:
    """The child: recite a few lines in a task of its own."""
    count: int = await ctx.task(recite, lines)
    return count


@app.workflow()
async def story(ctx: rs.WorkflowContext, request: dict[str, Any] | None) -> dict[str, Any]:
    """A retried draft, a child reciting, and optionally an approval promise."""
    request = request or {}
    ctx.set_state("phase", "drafting")
    text = await ctx.task(draft, int(request.get("words", 20)))
    ctx.set_state("phase", "reciting")
    count = await ctx.child(chapter, ["first line", "second line", "third line"])
    approval = None
    if request.get("approve"):
        ctx.set_state("phase", "awaiting approval")
        approval = await ctx.promise("approval", timeout=60)
    ctx.set_state("phase", "done")
    return {"words": len(text.split()), "lines": count, "approval": approval}


@app.task()
async def count(ctx: rs.TaskContext, n: int) -> int:
    """Stream ``n`` numbered tokens, a few milliseconds apart."""
    for i in range(n):
        ctx.token(f"{i},")
        if i % 10 == 9:
            await asyncio.sleep(0.01)
    return n


@app.workflow()
async def ticker(ctx: rs.WorkflowContext, n: int) -> int:
    """One task streaming ``n`` tokens: long enough to drop connections in the middle."""
    total: int = await ctx.task(count, n)
    return total


@app.workflow()
async def inbox(ctx: rs.WorkflowContext) -> dict[str, Any]:
    """Wait for a promise named ``go``, then for one message."""
    go = await ctx.promise("go", timeout=60)
    message = await ctx.receive(timeout=60)
    return {"go": go, "message": message}


@app.task()
async def shout(ctx: rs.TaskContext, text: str) -> str:
    """A standalone task: stream ``text`` upper-cased, letter by letter."""
    for char in text.upper():
        ctx.token(char)
    return text.upper()


@app.task()
async def fragile_step(ctx: rs.TaskContext) -> str:
    """Fail for good on the first attempt; a manual retry's attempt succeeds."""
    if ctx.attempt == 1:
        raise rs.TaskError("needs a fix", retryable=False)
    ctx.token("fixed")
    return "fixed"


@app.workflow()
async def fragile(ctx: rs.WorkflowContext) -> str:
    """Fails until retried through ``POST …/retry``."""
    result: str = await ctx.task(fragile_step)
    return result
