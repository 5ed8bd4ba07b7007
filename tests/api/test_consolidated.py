"""The consolidated stream: a workflow and its descendants on one resumable cursor."""

from __future__ import annotations

from collections import Counter

import orjson

from .conftest import Live, until
from .sse import Block


def _identity(block: Block) -> tuple[str | None, str | None]:
    return block.event, block.data


async def test_includes_a_child_started_after_the_client_connected(live: Live) -> None:
    execution_id = await live.start("family")
    await live.waiting(execution_id)
    path = live.path(execution_id, "/stream/consolidated")
    async with live.stream(path) as stream:
        await until(lambda: live.streams.in_flight == 1, 2)
        resolved = await live.http.post(f"{live.path(execution_id)}/promises/spawn/resolve")
        assert resolved.status_code == 200
        blocks = await stream.blocks(timeout=10)
    events = [b for b in blocks if b.event is not None]
    envelopes = [orjson.loads(b.data or "") for b in events if b.event == "data"]
    workflows = {e["data"]["id"] for e in envelopes if e["event"].startswith("WORKFLOW_")}
    child_id = (await live.engine.get(execution_id)).children[0].id
    assert workflows == {execution_id, child_id}
    assert [b.data for b in events if b.event == "token"] == ["t0 ", "t1 ", "t2 "]
    assert len({b.id for b in events}) == len(events)
    total = sum(s.last_seq for s in [await live.engine.get(i) for i in (execution_id, child_id)])
    assert len(events) == total

    # Resuming from any cursor yields exactly what was not yet received.
    everything = Counter(map(_identity, events))
    for cut in (1, len(events) // 2, len(events) - 1):
        async with live.stream(path, {"Last-Event-ID": events[cut - 1].id or ""}) as rest:
            tail = [b for b in await rest.blocks() if b.event is not None]
        assert Counter(map(_identity, events[:cut] + tail)) == everything
    async with live.stream(path, {"Last-Event-ID": events[-1].id or ""}) as done:
        assert done.status == 204


async def test_bad_cursor_of_a_finished_workflow_is_400(live: Live) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    path = live.path(execution_id, "/stream/consolidated")
    async with live.stream(path, {"Last-Event-ID": "not-a-cursor"}) as stream:
        assert stream.status == 400
        body = orjson.loads(await stream.body())
    assert body["error"]["param"] == "Last-Event-ID"


async def test_bad_cursor_of_a_running_workflow_is_400(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    path = live.path(execution_id, "/stream/consolidated?lastEventId=garbage")
    async with live.stream(path) as stream:
        assert stream.status == 400
