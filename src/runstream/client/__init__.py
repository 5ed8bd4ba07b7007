"""Python client of a runstream server's native HTTP API (async, httpx).

Example::

    from runstream.client import Client

    async with Client("http://127.0.0.1:8000") as client:
        run = await client.start("pipeline", {"topic": "otters"})
        async for event in client.stream(run.id):
            print(event.id, event.type, event.data)
"""

from runstream.client.client import DEFAULT_URL, Client
from runstream.client.errors import ApiError, ServerUnavailable
from runstream.client.events import StreamEvent
from runstream.client.responses import EventPage, ExecutionPage, StreamToken
from runstream.client.sse import ServerSentEvent, SSEParser
from runstream.client.stream import EventStream, Reconnect

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "Client",
    "EventPage",
    "EventStream",
    "ExecutionPage",
    "Reconnect",
    "SSEParser",
    "ServerSentEvent",
    "ServerUnavailable",
    "StreamEvent",
    "StreamToken",
]
