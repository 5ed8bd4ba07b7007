"""An app with an agent for other processes to run, its model at ``OPENAI_BASE_URL``.

``python -m tests.sdk.agent_app DB start TOPIC`` starts ``pipeline`` and runs until killed;
``... DB resume ID`` finishes it and prints the result. The CLI test serves it with
``runstream serve agent_app:app``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

import runstream as rs

app = rs.App("agent-process")
MARKERS = Path(os.environ.get("AGENT_MARKERS", "."))


def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"{topic} is well documented"


@app.agent(model="openai-chat:gpt-test", instructions="Be brief.", tools=[lookup])
async def explain(ctx: rs.AgentContext, topic: str) -> str:
    return f"Explain {topic}"


@app.task(retries=2, retry_policy=rs.RetryPolicy(initial_interval=0.1))
async def hang(ctx: rs.TaskContext) -> str:
    """Waits forever until a process with AGENT_RELEASE runs it."""
    (MARKERS / f"hang-{ctx.attempt}-{os.getpid()}").touch()
    if not os.environ.get("AGENT_RELEASE"):
        await asyncio.sleep(3600)
    return "released"


@app.workflow()
async def pipeline(ctx: rs.WorkflowContext, topic: str) -> list[Any]:
    text = await ctx.task(explain, topic)
    middle = await ctx.task(hang)
    return [text, middle]


async def main(db: str, command: str, arg: str) -> None:
    async with rs.Engine(app, store=f"sqlite:///{db}", lease_timeout=1.0, poll_interval=0.1) as e:
        if command == "start":
            handle = await e.start(pipeline, arg)
            print(handle.id, flush=True)
            await asyncio.sleep(3600)
        else:
            result = await e.handle(arg).result(timeout=30)
            print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
