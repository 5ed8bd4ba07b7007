"""The README example: a workflow with a task, a timer and a promise, watched live."""

from __future__ import annotations

import asyncio
import sys

import runstream as rs

app = rs.App("quickstart")


@app.task(retries=3)
async def summarize(ctx: rs.TaskContext, text: str) -> str:
    for word in text.split():
        ctx.token(word + " ")  # streamed to every watcher, durably
    ctx.progress(1.0, "done")
    return text.upper()


@app.workflow()
async def review(ctx: rs.WorkflowContext, text: str) -> dict[str, str]:
    summary = await ctx.task(summarize, text)
    await ctx.sleep(0.1)  # a durable timer: survives restarts
    verdict = await ctx.promise("approval", timeout=60)  # resolved from outside
    return {"summary": summary, "verdict": verdict}


async def main(db: str) -> None:
    async with rs.Engine(app, store=f"sqlite:///{db}") as engine:
        handle = await engine.start(review, "durable streams are fun")
        async for event in handle.stream():
            print(event.seq, event.type, event.data if event.type == "token" else "")
            if event.type == "PROMISE_CREATED":
                await engine.resolve_promise(handle.id, "approval", "ship it")
        print(await handle.result())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "./quickstart.db"))
