"""A backend with an API key hands a browser a read-only token for one execution's stream.

Start a server with auth on (docs/security.md):

    runstream keys create --org acme > acme.key
    runstream serve runstream.demo.app:app --auth keys

Then:  RUNSTREAM_ORG=acme RUNSTREAM_API_KEY=$(cat acme.key) python docs/examples/stream_tokens.py
"""

from __future__ import annotations

import asyncio
import os

from runstream.client import ApiError, Client

URL = os.environ.get("RUNSTREAM_URL", "http://127.0.0.1:8000")
ORG = os.environ.get("RUNSTREAM_ORG", "default")


async def main() -> None:
    # The backend: holds the key, starts the work, mints a token for the page.
    async with Client(URL, ORG, api_key=os.environ["RUNSTREAM_API_KEY"]) as backend:
        run = await backend.start("write", "stream tokens")
        grant = await backend.stream_token(run.id, ttl_seconds=600, types=["token", "workflow"])
        url = grant.stream_url(f"{URL}/api/orgs/{ORG}/workflow-executions/{run.id}/stream")
        print(f"token for {run.id}, valid until {grant.expires_at:%H:%M:%S} UTC")
        # A page would now open `new EventSource(url)`; never log the token itself.
        print(f"the page opens: {url.split('?')[0]}?token=…")

    # The page: only the token. It reads this execution's tokens and workflow events...
    async with Client(URL, ORG, api_key=grant.token) as page:
        types = set()
        async for event in page.stream(run.id):
            types.add(event.type)
            if event.type == "token":
                print(event.data, end="", flush=True)
        print(f"\nthe page saw: {', '.join(sorted(types))}")
        # ...and nothing else: steering it or listing the org is refused.
        for attempt in (page.cancel(run.id), page.list_executions()):
            try:
                await attempt
            except ApiError as refused:
                print(f"refused: {refused.status} {refused.message}")


if __name__ == "__main__":
    asyncio.run(main())
