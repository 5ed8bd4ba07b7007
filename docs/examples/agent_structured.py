"""A structured agent: its output object streams in as ``structured_delta`` events.

    python docs/examples/agent_structured.py [DB]

Like ``agent.py``, it uses the model at ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` when one
is configured, and otherwise starts runstream's scripted model server first.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import BaseModel

import runstream as rs

MODEL = os.environ.get("MODEL", "openai-chat:gpt-4o-mini")

app = rs.App("structured")


class Verdict(BaseModel):
    label: str
    score: float
    reasons: list[str]


@app.agent(model=MODEL, instructions="You classify the sentiment of texts.", output=Verdict)
async def classify(ctx: rs.AgentContext, text: str) -> str:
    return f"Classify: {text}"


async def watch(engine: rs.Engine, text: str) -> None:
    handle = await engine.start_task(classify, text)
    async for event in handle.stream():
        if event.type == "structured_delta":
            print("partial", event.data["partial"])
    print("result ", await handle.result())


async def main(db: str) -> None:
    async with rs.Engine(app, store=f"sqlite:///{db}") as engine:
        if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
            await watch(engine, "What a lovely, quiet morning.")
            return
        from runstream.demo.model_script import Reply, ToolCall, scripted
        from runstream.demo.model_server import ModelServer

        # The model fills in the output tool's arguments a few characters at a time.
        verdict = '{"label": "positive", "score": 0.92, "reasons": ["lovely", "quiet"]}'
        fragments = [verdict[i : i + 9] for i in range(0, len(verdict), 9)]
        reply = Reply(tool_calls=[ToolCall("final_result", fragments)], delay=0.02)
        async with ModelServer(scripted(reply)) as model:
            os.environ["OPENAI_BASE_URL"] = model.url
            await watch(engine, "What a lovely, quiet morning.")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "./structured.db"))
