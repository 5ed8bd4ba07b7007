"""Start an execution through the v0 API and stream it, resuming after drops (httpx only).

``python docs/examples/v0_stream.py http://127.0.0.1:8000 tasks compose '"Ada"'``
``python docs/examples/v0_stream.py http://127.0.0.1:8000 workflows greet '"Ada"'``

Text mode (agents and tasks without an output schema) sends each chunk as plain
``data:`` lines; workflows send ``{"content", "ts"}`` JSON. Either way the chunks
joined are the text.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx


async def follow(base_url: str, family: str, name: str, input: object) -> int:
    """Print each frame; return 0 when the execution succeeded, 1 otherwise."""
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5, read=60)) as http:
        started = await http.post(f"/api/v0/{family}/{name}/executions", json={"input": input})
        started.raise_for_status()  # 202 {"data": {"exec_id", "exec_url"}, "message"}
        stream_url = started.json()["data"]["exec_url"] + "/stream"
        last_id: str | None = None
        text: list[str] = []
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                async with http.stream("GET", stream_url, headers=headers) as response:
                    if response.status_code == 204:
                        return 0  # finished, and everything was seen
                    response.raise_for_status()
                    event, data = "message", list[str]()
                    async for line in response.aiter_lines():
                        field, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if line == "" and data:
                            payload = "\n".join(data)  # what EventSource hands a page
                            if event == "llm_chunk":
                                chunk = payload if family != "workflows" else _content(payload)
                                text.append(chunk)
                                print(f"llm_chunk {chunk!r}")
                            else:
                                print(f"{event} {payload}")
                            if event in ("complete", "error"):
                                print(f"text: {''.join(text)!r}")
                                return 0 if event == "complete" else 1
                            event, data = "message", []
                        elif line == "":
                            event = "message"
                        elif field == "id":
                            last_id = value
                        elif field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
            except httpx.TransportError:
                await asyncio.sleep(0.5)  # dropped: resume after the last id received


def _content(payload: str) -> str:
    content: str = json.loads(payload)["content"]
    return content


if __name__ == "__main__":
    base, family, name = sys.argv[1], sys.argv[2], sys.argv[3]
    raw_input = sys.argv[4] if len(sys.argv) > 4 else "null"
    sys.exit(asyncio.run(follow(base, family, name, json.loads(raw_input))))
