"""Steer workflows from outside: resolve a promise, send a message, cancel; handle errors.

Start a server first:  runstream serve runstream.demo.app:app
Then:                  python docs/examples/client_steer.py
"""

from __future__ import annotations

import asyncio
import os

import runstream as rs
from runstream.client import Client

URL = os.environ.get("RUNSTREAM_URL", "http://127.0.0.1:8000")


async def main() -> None:
    async with Client(URL) as client:
        # `review` waits for the promise "approval", then for a message.
        run = await client.start("review", "A short draft.")
        # Settling a promise or sending a message before the workflow waits for it is fine.
        await client.resolve_promise(run.id, "approval", {"approved": True, "by": "me"})
        message_id = await client.send_message(run.id, {"feedback": "Ship it"})
        print(f"sent message {message_id}")
        print("result:", await client.result(run.id))

        try:
            await client.resolve_promise(run.id, "approval", {"approved": False})
        except rs.InvalidState as exc:
            print("refused:", exc)

        doomed = await client.start("review", "Another draft.")
        await client.cancel(doomed.id, reason="changed my mind")
        try:
            await client.result(doomed.id)
        except rs.ExecutionFailed as exc:
            print("ended:", exc.status)

        try:
            await client.get("01a1fdda-7028-7221-8631-13855d8b9c8e")
        except rs.ExecutionNotFound as exc:
            print("not found:", exc.execution_id)


if __name__ == "__main__":
    asyncio.run(main())
