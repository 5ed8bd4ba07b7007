"""Run a Claude Code session and talk to it while it works (docs/claude-code.md).

    python docs/examples/claude_code.py [DB_FILE]

Without ``RUNSTREAM_CLAUDE_COMMAND`` it uses runstream's stand-in CLI, which speaks the
same stream-json protocol offline; to use Claude Code itself, set the variable to
Claude's command line (``claude -p --output-format stream-json --input-format stream-json
--verbose``, the default of a task that names no command).

To serve the same app over HTTP (the runs API, SSE and WebSocket)::

    cd docs/examples && runstream serve claude_code:app
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import runstream as rs

# Offline by default: the stand-in CLI, slowed down so the message below arrives mid-turn.
os.environ.setdefault(
    "RUNSTREAM_CLAUDE_COMMAND", f"{sys.executable} -m runstream.demo.fake_claude --delay 0.2"
)

app = rs.App("claude-example")
assistant = app.claude_code("assistant", instructions="Be brief.")


def describe(line: dict[str, Any]) -> str | None:
    """One readable line per stream-json line (None for the ones not worth showing)."""
    match line.get("type"):
        case "system":
            return f"[session {line.get('session_id', '')[:8]}, model {line.get('model')}]"
        case "assistant":
            parts = []
            for block in line["message"]["content"]:
                if block["type"] == "text":
                    parts.append(f"claude: {block['text']}")
                elif block["type"] == "tool_use":
                    parts.append(f"tool:   {block['name']} {block['input']}")
            return "\n".join(parts)
        case "result":
            return f"result: {line.get('result')} (${line.get('total_cost_usd', 0):.4f})"
    return None


async def main(store: str) -> None:
    async with rs.Engine(app, store=store) as engine:
        run = await engine.start_task(assistant, "Which files are in this folder?")
        asked = False
        async for event in run.stream():
            if event.type == "claude":
                if (text := describe(event.data)) is not None:
                    print(text)
                if not asked and event.data.get("type") == "assistant":
                    # Claude is mid-turn: the message is queued and answered next.
                    asked = True
                    await engine.send_message(run.id, "And which one is the largest?")
                    print("you:    And which one is the largest?")
        print(f"final:  {await run.result()}")


if __name__ == "__main__":
    db = sys.argv[1] if len(sys.argv) > 1 else "claude-example.db"
    asyncio.run(main(f"sqlite:///{db}"))
