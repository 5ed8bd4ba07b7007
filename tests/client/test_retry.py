"""``Client.retry`` and client streams across the retry boundary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import runstream as rs
from runstream.client import Client, StreamEvent
from runstream.model import new_id

from .flows import BROKEN


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    async with asyncio.timeout(20):
        return [event async for event in stream]


async def failed(client: Client, kind: str = "mended") -> tuple[str, str, list[StreamEvent]]:
    name = new_id()
    BROKEN.add(name)
    run = await client.start(kind, name)
    events = await collect(client.stream(run.id))
    assert events[-1].type == "WORKFLOW_FAILED"
    return run.id, name, events


async def test_retry_then_follow_from_where_the_failure_left_off(client: Client) -> None:
    execution_id, name, old = await failed(client)
    assert await collect(client.stream(execution_id, after=old[-1].id)) == []
    BROKEN.discard(name)
    assert await client.retry(execution_id, reason="fixed") == 1
    new = await collect(client.stream(execution_id, after=old[-1].id))
    assert new[0].type == "RETRY_REQUESTED" and new[0].reopens(execution_id)
    assert new[0].data == {
        "targetId": execution_id,
        "targetType": "workflow",
        "attempt": 1,
        "reason": "fixed",
    }
    assert new[-1].type == "WORKFLOW_COMPLETED" and new[-1].ends(execution_id)
    assert await client.result(execution_id) == [name.upper(), name]
    # From the start, the stream does not stop at the old terminal event.
    everything = await collect(client.stream(execution_id))
    assert everything == old + new


async def test_retry_of_a_completed_execution_is_invalid_state(client: Client) -> None:
    run = await client.start("mended", new_id())
    await client.result(run.id)
    with pytest.raises(rs.InvalidState, match="COMPLETED"):
        await client.retry(run.id)


async def test_a_consolidated_stream_goes_on_into_the_childs_retry(client: Client) -> None:
    execution_id, name, _ = await failed(client, "mended_parent")
    BROKEN.discard(name)
    await client.retry(execution_id)
    events = await collect(client.stream(execution_id, consolidated=True))
    retried = {e.data["targetId"] for e in events if e.type == "RETRY_REQUESTED"}
    child_id = (await client.get(execution_id)).children[0].id
    assert retried == {execution_id, child_id}
    assert events[-1].type == "WORKFLOW_COMPLETED"
    ends = [e.data["id"] for e in events if e.type in ("WORKFLOW_FAILED", "WORKFLOW_COMPLETED")]
    assert sorted(ends) == sorted([child_id, execution_id] * 2)
