"""Start a workflow and print its text as it streams, then its result.

Start a server first:  runstream serve runstream.demo.app:app
Then:                  python docs/examples/client_stream.py
"""

from __future__ import annotations

import asyncio
import os

from runstream.client import Client

URL = os.environ.get("RUNSTREAM_URL", "http://127.0.0.1:8000")


async def main() -> None:
    async with Client(URL) as client:
        run = await client.start("write", "streaming APIs")
        print(f"started {run.kind} {run.id}")
        # Only tokens and task lifecycle events; the stream ends with the workflow.
        async for event in client.stream(run.id, types=["token", "task"]):
            if event.type == "token":
                print(event.data, end="", flush=True)
            elif event.type == "TASK_STARTED":
                print(f"[task {event.data['kind']} attempt {event.data['executionCount']}]")
        print()
        draft = await client.result(run.id)
        print(f"result: {len(draft)} characters")


if __name__ == "__main__":
    asyncio.run(main())
