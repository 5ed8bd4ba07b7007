"""Resuming with Last-Event-ID: no gap and no duplicate, whatever the cut."""

from __future__ import annotations

import os
import random

import pytest

from runstream.streaming.wire.native import encode

from .conftest import Live
from .sse import Block

DISCONNECTS = int(os.environ.get("RUNSTREAM_TEST_DISCONNECTS", "200"))
"""Reconnections in the busy-execution test; the bench raises it to 1,000."""


def _events(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b.event is not None]


async def test_resume_at_every_id_of_a_finished_execution(live: Live) -> None:
    execution_id = await live.start("busy", {"count": 40, "pause": 0})
    snapshot = await live.finished(execution_id)
    log = [encode(e) for e in await live.engine.events(execution_id, limit=1000)]
    path = live.path(execution_id, "/stream")
    for after in range(snapshot.last_seq + 1):
        async with live.stream(path, {"Last-Event-ID": str(after)}) as stream:
            if after == snapshot.last_seq:
                assert stream.status == 204
                continue
            assert [b.raw for b in await stream.blocks()] == [b"retry: 100\n\n", *log[after:]]
    await live.no_streams()


async def test_query_parameter_and_header_precedence(live: Live) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    path = live.path(execution_id, "/stream")
    async with live.stream(f"{path}?lastEventId=10") as by_query:
        assert [b.id for b in _events(await by_query.blocks())] == ["11", "12", "13"]
    # EventSource reconnects to the URL it first opened, with a newer header.
    async with live.stream(f"{path}?lastEventId=2", {"Last-Event-ID": "12"}) as both:
        assert [b.id for b in _events(await both.blocks())] == ["13"]


async def test_an_id_beyond_the_log_waits_for_new_events(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    async with live.stream(live.path(execution_id, "/stream"), {"Last-Event-ID": "999"}) as s:
        assert s.status == 200
        assert [(await s.block()) for _ in range(3)][-1] == Block(
            b": keep-alive\n\n", comments=["keep-alive"]
        )


@pytest.mark.parametrize("disconnects", [DISCONNECTS])
async def test_random_disconnects_during_a_busy_execution(live: Live, disconnects: int) -> None:
    rng = random.Random(disconnects)
    # Paced so that most connections happen while the workflow runs.
    execution_id = await live.start("busy", {"count": disconnects * 10, "pause": 0.012})
    path = live.path(execution_id, "/stream")
    received: list[Block] = []
    connections = while_running = 0
    while not received or received[-1].raw.find(b"WORKFLOW_COMPLETED") < 0:
        connections += 1
        headers = {"Last-Event-ID": received[-1].id or ""} if received else {}
        if not (await live.engine.get(execution_id)).status.is_terminal:
            while_running += 1
        async with live.stream(path, headers) as stream:
            assert stream.status == 200
            for _ in range(rng.randint(1, 19)):
                block = await stream.block()
                if block is None:
                    break
                if block.event is not None:
                    received.append(block)
            match rng.randrange(3):
                case 0:
                    stream.reset()
                case 1:
                    await stream.close()
                case _:
                    pass  # leave it to the context manager, with unread bytes pending
    log = [encode(e) for e in await live.engine.events(execution_id, limit=100_000)]
    assert [b.raw for b in received] == log
    text = "".join(b.data or "" for b in received if b.event == "token")
    assert text == "".join(f"t{i} " for i in range(disconnects * 10 // 4)) * 4
    assert connections >= disconnects * 0.8
    # Live reconnects are the point; a loaded machine leaves fewer of them before the end.
    assert while_running >= max(10, connections // 4)
    await live.no_streams()
    assert live.engine.hub.subscriptions == 0


async def test_resume_with_a_types_filter_skips_past_filtered_events(live: Live) -> None:
    execution_id = await live.start("kinds")
    snapshot = await live.finished(execution_id)
    path = live.path(execution_id, "/stream?types=token,%20PROGRESS")
    async with live.stream(path) as stream:
        blocks = await stream.blocks()
    raw = [b.raw for b in blocks]
    token, progress = (b for b in blocks if b.event in ("token", "progress"))
    # The id of the last (filtered) event closes the stream, so a resume needs nothing more.
    assert raw == [b"retry: 100\n\n", token.raw, progress.raw, b"id: %d\n\n" % snapshot.last_seq]
    async with live.stream(path, {"Last-Event-ID": token.id or ""}) as rest:
        assert [b.raw for b in await rest.blocks()] == [raw[0], *raw[2:]]
    for after in (progress.id, str(snapshot.last_seq)):
        async with live.stream(path, {"Last-Event-ID": after or ""}) as nothing_left:
            assert nothing_left.status == 204


async def test_types_filter_on_a_live_stream_sends_skipped_ids_with_heartbeats(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    async with live.stream(live.path(execution_id, "/stream?types=token")) as stream:
        assert (await stream.block()) == Block(b"retry: 100\n\n", retry=100)
        beat = await stream.block()
    snapshot = await live.engine.get(execution_id)
    assert beat is not None
    assert beat.raw == b": keep-alive\nid: %d\n\n" % snapshot.last_seq


@pytest.mark.parametrize("disconnects", [DISCONNECTS // 4])
async def test_random_disconnects_with_a_types_filter(live: Live, disconnects: int) -> None:
    rng = random.Random(7)
    execution_id = await live.start("busy", {"count": disconnects * 10, "pause": 0.001})
    path = live.path(execution_id, "/stream?types=token,workflow_completed")
    received: list[Block] = []
    last_id = ""
    while not received or received[-1].event != "data":
        async with live.stream(path, {"Last-Event-ID": last_id} if last_id else {}) as stream:
            for _ in range(rng.randint(1, 19)):
                block = await stream.block()
                if block is None:
                    break
                last_id = block.id or last_id
                if block.event is not None:
                    received.append(block)
            stream.reset()
    log = await live.engine.events(execution_id, limit=100_000)
    wanted = [encode(e) for e in log if e.type in ("token", "WORKFLOW_COMPLETED")]
    assert [b.raw for b in received] == wanted
