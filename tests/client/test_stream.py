"""``Client.stream`` against a real server: decoding, ends, resuming after dropped connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

import runstream as rs
from runstream.client import ApiError, Client, Reconnect, ServerUnavailable, StreamEvent

from .conftest import Serve, Served

FAST = Reconnect(initial_delay=0.02, max_delay=0.2)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    async with asyncio.timeout(20):
        return [event async for event in stream]


async def test_frames_are_decoded(client: Client) -> None:
    run = await client.start("kinds")
    events = await collect(client.stream(run.id))
    by_type = {e.type: e for e in events}
    assert by_type["token"].data == "line one\nline two\nthree"
    assert by_type["progress"].data == 0.75
    assert by_type["data"].data == {"items": 42, "text": "h\u00e9 \u2603"}
    assert by_type["error"].data == "rate limited\nretry later"
    assert by_type["STATE_SET"].data == {"key": "phase", "value": "reported"}
    created = by_type["WORKFLOW_CREATED"]
    assert created.is_lifecycle and created.timestamp_ms and created.data["id"] == run.id
    assert not by_type["token"].is_lifecycle
    assert events[-1].type == "WORKFLOW_COMPLETED" and events[-1].ends(run.id)
    assert [e.id for e in events] == [str(i) for i in range(1, len(events) + 1)]


async def test_the_stream_matches_the_stored_log(client: Client) -> None:
    run = await client.start("busy", 40)
    streamed = await collect(client.stream(run.id))
    stored = (await client.events(run.id, limit=1000)).items
    assert [e.id for e in streamed] == [str(e.seq) for e in stored]
    assert [e.type for e in streamed] == [e.type for e in stored]


async def test_resuming_after_an_id(client: Client) -> None:
    run = await client.start("echo", 1)
    everything = await collect(client.stream(run.id))
    rest = await collect(client.stream(run.id, after=everything[1].id))
    assert rest == everything[2:]
    assert await collect(client.stream(run.id, after=everything[-1].id)) == []


async def test_a_task_execution_stream_ends_after_its_last_attempt(client: Client) -> None:
    run = await client.start_task("shout", "hey")
    events = await collect(client.stream(run.id))
    assert [e.type for e in events][-2:] == ["token", "TASK_COMPLETED"]


async def test_unknown_types_are_refused(client: Client) -> None:
    run = await client.start("echo", 1)
    with pytest.raises(ApiError) as refused:
        await collect(client.stream(run.id, types=["nonsense"]))
    assert refused.value.status == 400 and refused.value.param == "types"


async def test_resume_after_the_server_closes_mid_stream(serve: Serve) -> None:
    async with (
        serve(max_connection_seconds=0.15) as served,
        Client(served.url, reconnect=FAST) as client,
    ):
        run = await client.start("busy", 400)
        stream = client.stream(run.id)
        events = await collect(stream)
        stored = (await client.events(run.id, limit=1000)).items
    assert stream.reconnects >= 2
    assert [e.id for e in events] == [str(e.seq) for e in stored]
    tokens = "".join(e.data for e in events if e.type == "token")
    assert tokens == "".join(f"t{i} " for i in range(100)) * 4


async def test_resume_with_a_filter_across_closes(serve: Serve) -> None:
    async with (
        serve(max_connection_seconds=0.15) as served,
        Client(served.url, reconnect=FAST) as client,
    ):
        run = await client.start("busy", 400)
        stream = client.stream(run.id, types=["token"])
        events = await collect(stream)
        stored = (await client.events(run.id, limit=1000)).items
    assert stream.reconnects >= 2
    assert {e.type for e in events} == {"token"}
    assert [e.id for e in events] == [str(e.seq) for e in stored if e.type == "token"]
    # The end of the log comes as an id frame past the filtered events. A close can cut the
    # stream before it: the reconnect then finds nothing left that matches (204) and the
    # client keeps the id it had, its last token's or an earlier id frame's (sent when the
    # stream caught up with a log that had not ended yet). Either is a cursor at or past the
    # last token and within the log.
    assert stream.last_event_id is not None
    assert int(events[-1].id) <= int(stream.last_event_id) <= stored[-1].seq


async def test_consolidated_resume_has_no_gap_or_duplicate(serve: Serve) -> None:
    async with (
        serve(max_connection_seconds=0.15) as served,
        Client(served.url, reconnect=FAST) as client,
    ):
        run = await client.start("family", 150)
        stream = client.stream(run.id, consolidated=True)
        events = await collect(stream)
        snapshot = await client.get(run.id)
        logs = [run.id] + [child.id for child in snapshot.children]
        stored = [(await client.events(i, limit=1000)).items for i in logs]
    assert stream.reconnects >= 2
    assert len({e.id for e in events}) == len(events)
    expected = Counter((e.type, repr(e.data)) for log in stored for e in log if e.type == "token")
    assert Counter((e.type, repr(e.data)) for e in events if e.type == "token") == expected
    lifecycle = Counter(e.type for log in stored for e in log if e.type.isupper())
    assert Counter(e.type for e in events if e.is_lifecycle) == lifecycle
    assert any(e.ends(run.id) for e in events)


async def test_resume_across_a_server_restart(engine: rs.Engine, serve: Serve) -> None:
    async with serve() as first:
        port = first.port
        client = Client(first.url, reconnect=Reconnect(max_attempts=20, initial_delay=0.05))
        run = await client.start("gated")
        stream = client.stream(run.id)
        seen = [await anext(stream) for _ in range(3)]
    async with serve(port=port) as second:
        await asyncio.sleep(0.1)
        await client.resolve_promise(run.id, "go", 7)
        seen += await collect(stream)
        stored = (await client.events(run.id)).items
        await client.aclose()
    assert second.port == port and stream.reconnects >= 1
    assert [e.id for e in seen] == [str(e.seq) for e in stored]


async def test_giving_up_when_the_server_is_gone(served: Served) -> None:
    client = Client(served.url, reconnect=Reconnect(max_attempts=2, initial_delay=0.01))
    run = await client.start("gated")
    stream = client.stream(run.id)
    await anext(stream)
    served.server.should_exit = True
    with pytest.raises(ServerUnavailable) as gone:
        await collect(stream)
    assert "3 attempts" in str(gone.value)
    await client.aclose()


async def test_closing_a_stream_early(client: Client) -> None:
    run = await client.start("gated")
    async with client.stream(run.id) as stream:
        first = await anext(stream)
    assert first.type == "WORKFLOW_CREATED"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
