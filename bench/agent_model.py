"""The scripted model of the ``agent_tokens`` scenario, and pydantic-ai called directly.

``agent_script`` answers a prompt ``"stream COUNT INTERVAL"`` with the tokens ``"0 "``,
``"1 "``, … one every INTERVAL seconds. ``python -m bench.agent_model COUNT`` runs the
same stream through a bare pydantic-ai ``Agent`` (the events consumed, nothing stored)
after a warm-up, with ``OPENAI_BASE_URL`` pointing at the scripted model, and prints its
CPU and wall time as JSON: the baseline runstream's per-token cost is compared with.
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson

from runstream.demo.model_script import ModelRequest, Reply, Script


def prompt(count: int, interval: float) -> str:
    return f"stream {count} {interval}"


def agent_script() -> Script:
    """Answers ``prompt(count, interval)`` with ``count`` paced tokens."""

    def respond(request: ModelRequest) -> Reply:
        _, count, interval = request.prompt().split()
        return Reply(text=[f"{i} " for i in range(int(count))], delay=float(interval))

    return respond


async def direct(count: int) -> dict[str, float]:
    """Stream ``count`` tokens through pydantic-ai alone; CPU and wall seconds of the run."""
    from collections.abc import AsyncIterable

    from pydantic_ai import Agent, RunContext
    from pydantic_ai.messages import AgentStreamEvent, PartDeltaEvent, PartStartEvent
    from pydantic_ai.settings import ModelSettings

    agent = Agent("openai-chat:bench-model")
    seen = 0

    async def handler(_run: RunContext[object], events: AsyncIterable[AgentStreamEvent]) -> None:
        nonlocal seen
        async for event in events:
            if isinstance(event, PartDeltaEvent | PartStartEvent):
                seen += 1

    settings = ModelSettings(max_retries=0)
    async with agent:
        await agent.run(prompt(10, 0.0), event_stream_handler=handler, model_settings=settings)
        seen = 0
        cpu, wall = time.process_time(), time.perf_counter()
        await agent.run(prompt(count, 0.0), event_stream_handler=handler, model_settings=settings)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_s": cpu, "wall_s": wall, "events": seen}


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(direct(int(sys.argv[1])))).decode())
