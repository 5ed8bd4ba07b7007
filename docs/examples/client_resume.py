"""Drop a stream half-way and pick it up again from the last event id: no gap, no repeat.

``Client.stream`` already does this by itself when a connection breaks; this example
does it by hand, as a program that stopped and restarted would, with ``after=``.

Start a server first:  runstream serve runstream.demo.app:app
Then:                  python docs/examples/client_resume.py
"""

from __future__ import annotations

import asyncio
import os

from runstream.client import Client, StreamEvent

URL = os.environ.get("RUNSTREAM_URL", "http://127.0.0.1:8000")


async def main() -> None:
    async with Client(URL) as client:
        run = await client.start("write", "resumable streams")
        seen: list[StreamEvent] = []
        async with client.stream(run.id) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 10:
                    break  # the program stops listening (restart, sleep, network…)
        print(f"received {len(seen)} events, the last one has id {seen[-1].id}")

        async for event in client.stream(run.id, after=seen[-1].id):
            seen.append(event)
        ids = [int(event.id) for event in seen]
        assert ids == list(range(1, len(ids) + 1)), "a gap or a duplicate"
        print(f"resumed: {len(ids)} events in all, ids 1..{ids[-1]}, ending with {seen[-1].type}")


if __name__ == "__main__":
    asyncio.run(main())
