"""What the scenarios do to a server: start executions, follow them, read their logs."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from bench.rawhttp import HttpClient
from bench.server import HOST, Server
from bench.sse import Frame, FrameHandler, SseClient, connect

ORG = "default"
WORKFLOWS = f"/api/orgs/{ORG}/workflow-executions"
TERMINAL = ("WORKFLOW_COMPLETED", "WORKFLOW_FAILED", "WORKFLOW_CANCELLED")
_LIFECYCLE = '{"type":"Event","event":"WORKFLOW_'


def client_for(server: Server, size: int = 64) -> HttpClient:
    """A pooled JSON client for ``server`` (with its API key when auth is on)."""
    return HttpClient(HOST, server.port, size=size, headers=server.headers)


async def start_workflow(http: HttpClient, kind: str, input: Any = None) -> str:
    """Start a workflow execution; returns its id."""
    snapshot = await http.json("POST", WORKFLOWS, {"kind": kind, "input": input}, expect=(201,))
    return str(snapshot["id"])


async def snapshot(http: HttpClient, execution_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await http.json("GET", f"{WORKFLOWS}/{execution_id}")
    return found


def terminal(frame: Frame) -> dict[str, Any] | None:
    """The ``data`` of a workflow's terminal lifecycle event, or None for any other frame."""
    if frame.event != "data" or not frame.data.startswith(_LIFECYCLE):
        return None
    envelope = orjson.loads(frame.data)
    if envelope.get("event") not in TERMINAL:
        return None
    data: dict[str, Any] = envelope.get("data") or {}
    data["event"] = envelope["event"]
    return data


async def open_stream(
    server: Server,
    execution_id: str,
    on_frame: FrameHandler | None = None,
    *,
    last_event_id: str | None = None,
    record: bool = False,
) -> SseClient:
    """Open the workflow's ``/stream`` and wait for the response head (see ``SseClient``)."""
    path = f"{WORKFLOWS}/{execution_id}/stream"
    client = await connect(
        HOST,
        server.port,
        path,
        last_event_id=last_event_id,
        on_frame=on_frame,
        record=record,
        headers=server.headers,
    )
    await client.opened
    return client


async def run_to_end(server: Server, http: HttpClient, kind: str, input: Any = None) -> float:
    """Start a workflow and follow its stream to the terminal event; returns seconds taken."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    ended: list[float] = []

    def on_frame(frame: Frame, received: float) -> bool:
        if terminal(frame) is not None:
            ended.append(loop.time())
        return True

    execution_id = await start_workflow(http, kind, input)
    client = await open_stream(server, execution_id, on_frame)
    why = await client.done
    if not ended:
        raise RuntimeError(f"{kind} {execution_id}: stream ended ({why}) before its end")
    return ended[0] - began


async def read_log(http: HttpClient, execution_id: str, page: int = 1000) -> list[int]:
    """Every seq of the workflow's log, through the ``/events`` JSON pages."""
    seqs: list[int] = []
    after = 0
    while True:
        found = await http.json(
            "GET", f"{WORKFLOWS}/{execution_id}/events?after={after}&limit={page}"
        )
        seqs.extend(int(item["seq"]) for item in found["items"])
        if not found["hasMore"]:
            return seqs
        after = int(found["nextAfter"])
