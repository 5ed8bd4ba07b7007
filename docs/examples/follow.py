"""Start a workflow and follow its stream, resuming after drops, with nothing but httpx.

``python docs/examples/follow.py http://127.0.0.1:8000 greet '"Ada"'``
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx


async def follow(base_url: str, kind: str, input: object, org: str = "default") -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5, read=60)) as http:
        started = await http.post(
            f"/api/orgs/{org}/workflow-executions", json={"kind": kind, "input": input}
        )
        started.raise_for_status()
        stream_url = f"/api/orgs/{org}/workflow-executions/{started.json()['id']}/stream"
        last_id: str | None = None
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                async with http.stream("GET", stream_url, headers=headers) as response:
                    if response.status_code == 204:
                        return  # finished, and we have seen everything
                    response.raise_for_status()
                    event, data = "message", list[str]()
                    async for line in response.aiter_lines():
                        field, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if line == "":
                            if data:
                                show(event, "\n".join(data))
                            event, data = "message", []
                        elif field == "id":
                            last_id = value
                        elif field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
            except httpx.TransportError:
                await asyncio.sleep(0.5)  # dropped: resume after the last id received


def show(event: str, data: str) -> None:
    if event == "token":
        print(f"token    {data!r}")
    elif event == "data" and (payload := json.loads(data)).get("type") == "Event":
        print(f"event    {payload['event']}")
    else:
        print(f"{event:<8} {data}")
    sys.stdout.flush()


if __name__ == "__main__":
    base, kind, raw_input = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "null"
    asyncio.run(follow(base, kind, json.loads(raw_input)))
