"""A process to kill: ``python -m tests.engine.crash_app DB start MODE`` starts a workflow
and runs until killed; ``... resume ID`` finishes it and prints the result. In mode
``retry`` the workflow first fails, the process "deploys the fix" and retries it, and the
retried task hangs until killed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

import runstream as rs

app = rs.App("crash")
MARKERS = Path(os.environ.get("CRASH_MARKERS", "."))


def mark(name: str) -> None:
    (MARKERS / f"{name}-{os.getpid()}").touch()


@app.task()
async def record(ctx: rs.TaskContext, name: str) -> str:
    mark(f"{name}-{ctx.attempt}")
    return name


@app.task(retries=2, retry_policy=rs.RetryPolicy(initial_interval=0.1))
async def hang(ctx: rs.TaskContext) -> str:
    mark(f"hang-{ctx.attempt}")
    if not os.environ.get("CRASH_RELEASE"):
        await asyncio.sleep(3600)
    return "released"


@app.task(retries=2, retry_policy=rs.RetryPolicy(initial_interval=0.1))
async def fixable(ctx: rs.TaskContext) -> str:
    mark(f"fixable-{ctx.attempt}")
    if not await asyncio.to_thread((MARKERS / "fixed").exists):
        raise rs.TaskError("not fixed yet", retryable=False)
    if not os.environ.get("CRASH_RELEASE"):
        await asyncio.sleep(3600)
    return "fixed"


@app.workflow()
async def crashy(ctx: rs.WorkflowContext, mode: str) -> Any:
    first = await ctx.task(record, "first")
    if mode == "task":
        middle = await ctx.task(hang)
    elif mode == "retry":
        middle = await ctx.task(fixable)
    else:
        mark("sleeping")
        await ctx.sleep(2.0)
        middle = "slept"
    last = await ctx.task(record, "last")
    return [first, middle, last]


async def main(db: str, command: str, arg: str) -> None:
    async with rs.Engine(app, store=f"sqlite:///{db}", lease_timeout=1.0, poll_interval=0.1) as e:
        if command == "start":
            handle = await e.start(crashy, arg)
            print(handle.id, flush=True)
            if arg == "retry":
                try:
                    await handle.result(timeout=30)
                except rs.ExecutionFailed:
                    await asyncio.to_thread((MARKERS / "fixed").touch)
                    await e.retry(handle.id, reason="fixed")
            await asyncio.sleep(3600)
        else:
            result = await e.handle(arg).result(timeout=30)
            print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
