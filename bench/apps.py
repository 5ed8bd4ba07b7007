"""The benchmark app, served as ``runstream serve bench.apps:app``.

Every timed payload carries its own send time (``time.time()`` on the server), so a
client on the same machine measures commit-to-receive latency as ``now - sent``.
Workflows take one JSON object; its fields are documented on each task.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import runstream as rs

app = rs.App("bench")

TICK_S = 0.005
"""How often the token emitter wakes up to emit the tokens that are due."""


@app.task()
async def echo(ctx: rs.TaskContext, value: Any) -> Any:
    """Return the input: the smallest possible task."""
    return value


@app.workflow()
async def one_task(ctx: rs.WorkflowContext, value: Any) -> Any:
    """One task; the unit of the throughput scenario."""
    return await ctx.task(echo, value)


@app.workflow()
async def trivial(ctx: rs.WorkflowContext, value: Any) -> Any:
    """Same shape as ``one_task``, another kind: warm-ups and start→result samples."""
    return await ctx.task(echo, value)


@app.workflow()
async def sequential(ctx: rs.WorkflowContext, tasks: int) -> int:
    """``tasks`` tasks, one after the other."""
    total = 0
    for i in range(tasks):
        total += await ctx.task(echo, i)
    return total


@app.task()
async def timed_events(ctx: rs.TaskContext, spec: dict[str, float]) -> int:
    """After ``delay`` s, emit ``{"ts": time.time(), "i": n}`` every ``interval`` s for
    ``duration`` s. Keeps the cadence without bursting to catch up. Returns the count."""
    await asyncio.sleep(spec["delay"])
    interval, duration = spec["interval"], spec["duration"]
    start = next_at = time.monotonic()
    sent = 0
    while time.monotonic() - start < duration:
        ctx.data({"ts": time.time(), "i": sent})
        sent += 1
        next_at = max(next_at + interval, time.monotonic())
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return sent


@app.workflow()
async def emit_timed(ctx: rs.WorkflowContext, spec: dict[str, float]) -> int:
    """The latency scenario's execution: one ``timed_events`` task."""
    return await ctx.task(timed_events, spec)


@app.task()
async def token_burst(ctx: rs.TaskContext, spec: dict[str, float]) -> int:
    """After ``delay`` s, emit ``rate`` tokens/s for ``duration`` s, each ``"{i}:{ts} "``.

    Wakes every ``TICK_S`` and emits the tokens due by then, stamped with the time they
    were emitted, so the rate holds even when the loop is busy. Returns the count.
    """
    await asyncio.sleep(spec["delay"])
    rate = spec["rate"]
    total = int(rate * spec["duration"])
    start = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        stamp = f"{time.time():.6f} "
        while sent < due:
            ctx.token(f"{sent}:{stamp}")
            sent += 1
        await asyncio.sleep(TICK_S)
    return sent


@app.workflow()
async def tokens(ctx: rs.WorkflowContext, spec: dict[str, float]) -> int:
    """The tokens and resume scenarios' execution: one ``token_burst`` task."""
    return await ctx.task(token_burst, spec)


@app.workflow()
async def wait_promise(ctx: rs.WorkflowContext, timeout: float) -> Any:
    """Wait for the promise ``go``: an execution whose stream stays quiet."""
    return await ctx.promise("go", timeout=timeout)


@app.workflow()
async def sleeper(ctx: rs.WorkflowContext, seconds: float) -> float:
    """Sleep on a durable timer; holds no worker slot while waiting."""
    await ctx.sleep(seconds)
    return seconds


@app.agent(model="openai-chat:bench-model")
async def token_agent(ctx: rs.AgentContext, spec: dict[str, float]) -> str:
    """After ``delay`` s, ask the scripted model (at ``OPENAI_BASE_URL``) for ``count``
    tokens ``"{i} "``, one every ``interval`` s: the prompt says so (``agent_script``)."""
    await asyncio.sleep(spec.get("delay", 0.0))
    return f"stream {int(spec['count'])} {spec['interval']}"


@app.workflow()
async def agent_tokens(ctx: rs.WorkflowContext, spec: dict[str, float]) -> int:
    """The agent_tokens scenario's execution: one ``token_agent`` task; returns its length."""
    text: str = await ctx.task(token_agent, spec)
    return len(text)


@app.task()
async def bulk(ctx: rs.TaskContext, spec: dict[str, int]) -> int:
    """Emit ``count`` data events of about ``size`` bytes each, as fast as they are taken:
    a large log in little time (the stalled-clients figure). Returns the bytes emitted."""
    chunk = "x" * spec["size"]
    for i in range(spec["count"]):
        ctx.data({"i": i, "blob": chunk})
        if i % 50 == 49:
            await asyncio.sleep(0)
    return spec["count"] * spec["size"]


@app.workflow()
async def big_log(ctx: rs.WorkflowContext, spec: dict[str, int]) -> int:
    """One ``bulk`` task: an execution with a log of ``count * size`` bytes."""
    return await ctx.task(bulk, spec)


claude_bench = app.claude_code(
    "claude_bench", command=[sys.executable, "-m", "runstream.demo.fake_claude"]
)
"""A Claude Code session (the stand-in CLI); the prompt ``/burst N RATE DELAY`` makes it
print N assistant lines at RATE lines/s, each with the time it was written."""
