"""An agent with two tools inside a workflow, its log printed as the model streams.

    python docs/examples/agent.py [DB]

With ``OPENAI_BASE_URL`` or ``OPENAI_API_KEY`` set it asks that model (``MODEL``, default
``openai-chat:gpt-4o-mini``). Otherwise it first starts runstream's scripted model server,
which speaks OpenAI's API on 127.0.0.1, so the example runs anywhere (docs/agents.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

import runstream as rs

MODEL = os.environ.get("MODEL", "openai-chat:gpt-4o-mini")

app = rs.App("agents")


def get_weather(city: str) -> dict[str, object]:
    """The current weather in a city."""
    return {"city": city, "sky": "clear", "celsius": 18}


async def local_time(city: str) -> str:
    """The local time in a city, as HH:MM."""
    return "14:05"


@app.agent(
    model=MODEL,
    instructions="Answer in one short sentence.",
    tools=[get_weather, local_time],
    retries=2,
)
async def concierge(ctx: rs.AgentContext, city: str) -> str:
    return f"What is the weather in {city} right now, and what time is it there?"


@app.workflow()
async def trip(ctx: rs.WorkflowContext, city: str) -> str:
    answer: str = await ctx.task(concierge, city)
    return answer


@contextlib.asynccontextmanager
async def a_model() -> AsyncIterator[None]:
    """A real model when one is configured, else the scripted one at OPENAI_BASE_URL."""
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        yield
        return
    from runstream.demo.model_script import ModelRequest, Reply, ToolCall, scripted, words
    from runstream.demo.model_server import ModelServer

    def answer(request: ModelRequest) -> Reply:
        weather, time = request.tool_outputs()
        return Reply(text=words(f"At {time} it is clear and 18°C ({weather})."), delay=0.02)

    calls = Reply(
        tool_calls=[
            ToolCall("get_weather", ['{"city": ', '"Lisbon"}']),
            ToolCall("local_time", ['{"city": "Lisbon"}']),
        ]
    )
    async with ModelServer(scripted(calls, answer)) as model:
        os.environ["OPENAI_BASE_URL"] = model.url
        yield


async def main(db: str) -> None:
    async with a_model(), rs.Engine(app, store=f"sqlite:///{db}") as engine:
        handle = await engine.start(trip, "Lisbon")
        async for event in handle.stream():
            detail = "" if event.type.isupper() else f" {event.data!r}"
            print(f"{event.seq} {event.type}{detail} (attempt {event.attempt})")
        print(await handle.result())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "./agent.db"))
