"""Serve a small app over the native API: ``python docs/examples/server.py``.

Settings come from ``RUNSTREAM_*`` variables (``RUNSTREAM_PORT``, ``RUNSTREAM_STORE``, …).
Stop it with Ctrl-C or SIGTERM: open streams end at once and clients resume later.
"""

from __future__ import annotations

import asyncio

import runstream as rs
from runstream.api.server import serve
from runstream.config import Settings

app = rs.App("examples")


@app.task()
async def compose(ctx: rs.TaskContext, name: str) -> str:
    words = ["Hello", f" {name}!", "\nNice", " to", " meet", " you."]
    for i, word in enumerate(words, 1):
        ctx.token(word)
        ctx.progress(i / len(words))
        await asyncio.sleep(0.05)
    ctx.data({"words": len(words)})
    return "".join(words)


@app.workflow()
async def greet(ctx: rs.WorkflowContext, name: str) -> str:
    """Writes a greeting, streaming it word by word."""
    text: str = await ctx.task(compose, name)
    return text


@app.workflow()
async def approve(ctx: rs.WorkflowContext, request: str) -> str:
    """Waits for someone to resolve the ``decision`` promise."""
    decision = await ctx.promise("decision")
    return f"{request}: {decision}"


if __name__ == "__main__":
    settings = Settings.from_env()
    asyncio.run(serve(rs.Engine(app, store=settings.store_url), settings))
