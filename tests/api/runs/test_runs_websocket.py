"""The runs WebSocket end to end: a real uvicorn, the ``websockets`` client, the fake CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from runstream.model import new_id

from ..conftest import Live, until
from .helpers import RUNS, finished, read_all, start_run


def url(live: Live, run_id: str, query: str = "") -> str:
    return f"ws://127.0.0.1:{live.server.port}{RUNS}/{run_id}/ws{query}"


async def frames(socket: ClientConnection, timeout: float = 15.0) -> list[Any]:
    """Every frame until the server closes, parsed."""
    got = []
    async with asyncio.timeout(timeout):
        try:
            while True:
                got.append(orjson.loads(await socket.recv()))
        except ConnectionClosed:
            return got


async def test_lines_out_messages_in_acks_and_a_normal_close(live: Live) -> None:
    run_id = await start_run(live, "chat", "over the socket")
    async with connect(url(live, run_id)) as socket:
        received: list[Any] = []
        while True:  # wait until turn 1 is running
            received.append(orjson.loads(await asyncio.wait_for(socket.recv(), 10)))
            if received[-1].get("type") == "assistant":
                break
        await socket.send(orjson.dumps({"message": "and one more"}).decode())
        received += await frames(socket)
        assert socket.close_code == 1000
    acks = [f for f in received if f.get("type") == "ack"]
    assert len(acks) == 1 and acks[0]["queue_size"] in (0, 1)
    lines = [f for f in received if f.get("type") not in ("ack", "end")]
    results = [line["result"] for line in lines if line["type"] == "result"]
    assert results == ["Answer: over the socket", "Answer: and one more"]
    assert received[-1]["type"] == "end" and received[-1]["status"] == "completed"
    # The same lines, in the same order and the same bytes, as the SSE stream.
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        sse = (await read_all(stream)).data
    assert lines == sse


async def test_after_resumes_and_a_finished_run_sends_its_backlog(live: Live) -> None:
    run_id = await start_run(live, "chat", "backlog")
    await finished(live, run_id)
    async with connect(url(live, run_id)) as socket:
        everything = await frames(socket)
        assert socket.close_code == 1000
    lines = everything[:-1]
    assert everything[-1]["type"] == "end" and len(lines) >= 5
    async with connect(url(live, run_id, "?after=3")) as socket:
        rest = await frames(socket)
    assert rest[:-1] == lines[3:]


async def test_refused_messages_get_an_error_frame_and_the_socket_stays(live: Live) -> None:
    run_id = await start_run(live, "chat_slow", "slow")
    async with connect(url(live, run_id)) as socket:
        for bad in ("not json", '{"message": ""}', '{"text": "x"}', "[1]"):
            await socket.send(bad)
        errors: list[str] = []
        async with asyncio.timeout(10):
            while len(errors) < 4:
                frame = orjson.loads(await socket.recv())
                if frame.get("type") == "error":
                    errors.append(frame["error"]["code"])
        assert errors == ["invalid_parameter"] * 4
        await live.http.post(live.path(run_id, "/cancel", kind="task"))
        rest = await frames(socket)
        assert rest[-1]["type"] == "end" and rest[-1]["status"] == "cancelled"
        assert socket.close_code == 1000


@pytest.mark.parametrize(
    ("run", "query", "code"),
    [
        ("unknown", "", 4404),
        ("workflow", "", 4404),
        ("bad-id", "", 4400),
        ("run", "?after=x", 4400),
    ],
)
async def test_unknown_runs_and_bad_parameters_close_at_once(
    live: Live, run: str, query: str, code: int
) -> None:
    ids = {
        "unknown": new_id(),
        "workflow": await live.start("kinds"),
        "bad-id": "not-a-uuid",
        "run": await start_run(live, "chat", "x"),
    }
    async with connect(url(live, ids[run], query)) as socket:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 5)
        assert socket.close_code == code


async def test_server_shutdown_closes_open_sockets(live: Live) -> None:
    run_id = await start_run(live, "chat_slow", "shutdown")
    async with connect(url(live, run_id)) as socket:
        await asyncio.wait_for(socket.recv(), 10)
        assert live.streams.in_flight == 1
        live.streams.close_all()
        await frames(socket, timeout=5)
        assert socket.close_code == 1001
    await live.no_streams()
    await live.http.post(live.path(run_id, "/cancel", kind="task"))


async def test_a_client_that_stops_reading_is_dropped_not_waited_for(live: Live) -> None:
    run_id = await start_run(live, "chat_fast", "/burst 100000 25000")
    # A bare WebSocket handshake, then never a read: the server's sends soon block.
    reader, writer = await asyncio.open_connection("127.0.0.1", live.server.port)
    writer.write(
        (
            f"GET {RUNS}/{run_id}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    await until(lambda: live.streams.in_flight == 1, 5)
    await until(lambda: live.streams.in_flight == 0, 10)  # dropped by the send timeout
    assert not (await live.engine.get(run_id)).status.is_terminal, "it waited for the run"
    writer.transport.abort()
    await live.http.post(live.path(run_id, "/cancel", kind="task"))
