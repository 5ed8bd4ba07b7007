"""The app the CLI tests serve: ``runstream serve apps:app`` with this directory on PYTHONPATH."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import runstream as rs

app = rs.App("cli-tests")


@app.task()
async def speak(ctx: rs.TaskContext, words: int) -> int:
    for i in range(words):
        ctx.token(f"word{i} ")
        ctx.progress((i + 1) / words)
        await asyncio.sleep(0.005)
    return words


@app.workflow()
async def greet(ctx: rs.WorkflowContext, name: str) -> str:
    """Completes: streams some words, then greets."""
    await ctx.task(speak, 40)
    return f"hello {name}"


@app.workflow()
async def doomed(ctx: rs.WorkflowContext) -> None:
    """Fails after a task."""
    await ctx.task(speak, 3)
    raise ValueError("doomed on purpose")


@app.workflow()
async def waiting(ctx: rs.WorkflowContext) -> Any:
    """Waits for promise ``go``, then for a message."""
    value = await ctx.promise("go")
    message = await ctx.receive()
    return {"go": value, "message": message}


@app.task(retries=1, retry_policy=rs.RetryPolicy(initial_interval=0, jitter=0))
async def flaky(ctx: rs.TaskContext, words: int) -> int:
    """Streams words on every attempt; the first attempt then fails."""
    for i in range(words):
        ctx.token(f"try{ctx.attempt}-word{i} ")
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    return words


@app.workflow()
async def retried(ctx: rs.WorkflowContext) -> int:
    """Completes after its task's second attempt."""
    return await ctx.task(flaky, 3)


not_an_app = "just a string"


@app.workflow()
async def long_talk(ctx: rs.WorkflowContext) -> int:
    """One task that streams for about three seconds."""
    spoken: int = await ctx.task(speak, 600)
    return spoken


@app.task()
async def check(ctx: rs.TaskContext, bug: str) -> str:
    """Fails for good while the file ``bug`` exists (a bug the test can fix from outside)."""
    if await asyncio.to_thread(os.path.exists, bug):
        raise rs.TaskError(f"{bug} exists", retryable=False)
    return "fixed"


@app.workflow()
async def fixable(ctx: rs.WorkflowContext, bug: str) -> list[Any]:
    """Speaks, then fails on ``check`` until the file ``bug`` is removed."""
    words = await ctx.task(speak, 2)
    return [words, await ctx.task(check, bug)]


assistant = app.claude_code(
    "assistant", command=[sys.executable, "-m", "runstream.demo.fake_claude", "--delay", "0.3"]
)
"""A Claude Code session (the stand-in CLI) whose turns take ~1.2 s."""
patient = app.claude_code(
    "patient", command=[sys.executable, "-m", "runstream.demo.fake_claude", "--delay", "0.75"]
)
"""Turns of ~3 s: time for another ``runstream`` process to send it a message mid-turn."""


# -- scale-out: processes to kill (tests/cli/test_scale_out.py) ----------------------------
MARKERS = os.environ.get("SCALE_MARKERS")


def mark(name: str) -> None:
    """Leave ``<name>-<pid>`` in $SCALE_MARKERS: which process ran what, how often."""
    if MARKERS:
        Path(MARKERS, f"{name}-{os.getpid()}").touch()


@app.task()  # retries=0: only the lost-worker rule brings it back
async def hang(ctx: rs.TaskContext, tag: str) -> str:
    mark(f"hang-{tag}-{ctx.attempt}")
    release = os.path.join(MARKERS or ".", f"release-{tag}")
    while MARKERS and not await asyncio.to_thread(os.path.exists, release):
        ctx.token(".")
        await asyncio.sleep(0.05)
    return "released"


@app.workflow()
async def crashable(ctx: rs.WorkflowContext, tag: str) -> str:
    """One task that runs until the test releases it."""
    return await ctx.task(hang, tag)


@app.task()
async def once(ctx: rs.TaskContext, n: int) -> int:
    mark(f"once-{ctx.task_id}-{ctx.attempt}")
    await asyncio.sleep(0.01)
    return n


@app.workflow()
async def single(ctx: rs.WorkflowContext, n: int) -> int:
    """A single-task workflow."""
    return await ctx.task(once, n)
