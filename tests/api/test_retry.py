"""``POST …/retry`` and what the streams show of a retry (SPEC §4, §7.1)."""

from __future__ import annotations

import asyncio

import orjson

from runstream.model import new_id
from runstream.streaming.wire.native import encode

from .conftest import Live, until
from .flows import BROKEN
from .sse import Block


def _lifecycle(blocks: list[Block]) -> list[str]:
    names = []
    for block in blocks:
        if block.event == "data" and block.data and block.data.startswith('{"type":"Event"'):
            names.append(orjson.loads(block.data)["event"])
    return names


async def _failed(live: Live, kind: str = "mended") -> tuple[str, str, int]:
    """A workflow of ``kind`` that has failed on ``brittle``: its id, its name, last seq."""
    name = new_id()
    BROKEN.add(name)
    execution_id = await live.start(kind, name)
    snapshot = await live.finished(execution_id)
    assert snapshot.status == "FAILED", snapshot
    return execution_id, name, snapshot.last_seq


async def test_retry_answers_202_with_the_attempt(live: Live) -> None:
    execution_id, name, old_end = await _failed(live)
    BROKEN.discard(name)
    reply = await live.http.post(
        live.path(execution_id, "/retry"), json={"reason": "deployed the fix"}
    )
    assert (reply.status_code, reply.json()) == (202, {"attempt": 1})
    snapshot = await live.finished(execution_id)
    assert (snapshot.status, snapshot.output) == ("COMPLETED", [name, name])
    events = await live.engine.events(execution_id, after=old_end, limit=100)
    assert events[0].type == "RETRY_REQUESTED" and events[0].data["reason"] == "deployed the fix"
    page = (await live.http.get(live.path(execution_id, "/events?limit=1000"))).json()
    assert [e["seq"] for e in page["items"]] == list(range(1, snapshot.last_seq + 1))


async def test_retry_of_anything_but_a_failure_is_409_and_changes_nothing(live: Live) -> None:
    running = await live.start("gated")
    await live.waiting(running)
    completed = await live.start("kinds")
    await live.finished(completed)
    cancelled = await live.start("gated")
    await live.http.post(live.path(cancelled, "/cancel"))
    await live.finished(cancelled)
    for execution_id, status in ((running, "WAITING"), (completed, "COMPLETED"),
                                 (cancelled, "CANCELLED")):  # fmt: skip
        before = (await live.http.get(live.path(execution_id))).json()
        reply = await live.http.post(live.path(execution_id, "/retry"))
        assert reply.status_code == 409
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"]["code"] == "invalid_state"
        assert status in reply.json()["error"]["message"]
        after = (await live.http.get(live.path(execution_id))).json()
        assert (after["status"], after["lastEventId"]) == (before["status"], before["lastEventId"])


async def test_retry_of_an_unknown_or_malformed_id(live: Live) -> None:
    unknown = await live.http.post(live.path(new_id(), "/retry"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    malformed = await live.http.post(live.path("nope", "/retry"))
    assert (malformed.status_code, malformed.json()["error"]["param"]) == (400, "id")
    execution_id, _, _ = await _failed(live)
    as_task = await live.http.post(live.path(execution_id, "/retry", kind="task"))
    assert as_task.status_code == 404
    extra = await live.http.post(live.path(execution_id, "/retry"), json={"why": "x"})
    assert extra.status_code == 400


async def test_two_concurrent_retries_one_202_one_409(live: Live) -> None:
    execution_id, name, _ = await _failed(live)
    BROKEN.discard(name)
    path = live.path(execution_id, "/retry")
    replies = await asyncio.gather(live.http.post(path), live.http.post(path))
    assert sorted(r.status_code for r in replies) == [202, 409]
    assert (await live.finished(execution_id)).status == "COMPLETED"
    events = await live.engine.events(execution_id, limit=1000)
    assert [e.type for e in events].count("RETRY_REQUESTED") == 1


async def test_a_task_execution_is_retried(live: Live) -> None:
    name = new_id()
    BROKEN.add(name)
    started = await live.http.post(
        "/api/orgs/default/task-executions", json={"kind": "brittle", "input": name}
    )
    task_id = started.json()["id"]
    assert (await live.finished(task_id)).status == "FAILED"
    BROKEN.discard(name)
    reply = await live.http.post(live.path(task_id, "/retry", kind="task"))
    assert (reply.status_code, reply.json()) == (202, {"attempt": 1})
    snapshot = await live.finished(task_id)
    assert (snapshot.status, snapshot.output) == ("COMPLETED", name)
    async with live.stream(live.path(task_id, "/stream", kind="task")) as stream:
        names = _lifecycle(await stream.blocks())
    assert names == [
        "TASK_CREATED",
        "TASK_STARTED",
        "TASK_FAILED",
        "RETRY_REQUESTED",
        "TASK_STARTED",
        "TASK_COMPLETED",
    ]


async def test_a_reconnect_after_the_old_terminal_event_gets_the_retry(live: Live) -> None:
    execution_id, name, old_end = await _failed(live)
    path = live.path(execution_id, "/stream")
    headers = {"Last-Event-ID": str(old_end)}
    async with live.stream(path, headers) as before:
        assert before.status == 204  # finished, nothing left to send
    BROKEN.discard(name)
    await live.http.post(live.path(execution_id, "/retry"))
    async with live.stream(path, headers) as after:
        assert after.status == 200
        blocks = [b for b in await after.blocks(timeout=10) if b.event is not None]
    first = await live.engine.events(execution_id, after=old_end, limit=1)
    assert blocks[0].raw == encode(first[0])
    assert blocks[0].id == str(old_end + 1)
    assert orjson.loads(blocks[0].data or "")["event"] == "RETRY_REQUESTED"
    assert _lifecycle(blocks)[-1] == "WORKFLOW_COMPLETED"
    snapshot = await live.engine.get(execution_id)
    assert blocks[-1].id == str(snapshot.last_seq)
    async with live.stream(path, {"Last-Event-ID": str(snapshot.last_seq)}) as done:
        assert done.status == 204


async def test_a_live_stream_from_the_start_runs_through_the_old_terminal_event(
    live: Live,
) -> None:
    execution_id, name, _ = await _failed(live)
    BROKEN.discard(name)
    await live.http.post(live.path(execution_id, "/retry"))
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        blocks = [b for b in await stream.blocks(timeout=10) if b.event is not None]
    names = _lifecycle(blocks)
    assert names.index("WORKFLOW_FAILED") + 1 == names.index("RETRY_REQUESTED")
    assert names[-1] == "WORKFLOW_COMPLETED"
    assert [b.id for b in blocks] == [str(i) for i in range(1, len(blocks) + 1)]
    assert [b.data for b in blocks if b.event == "token"] == [f"hello {name}", f"mended {name}"]


async def test_the_consolidated_stream_has_the_retried_childs_new_events(live: Live) -> None:
    execution_id, name, _ = await _failed(live, "mended_parent")
    (child,) = (await live.engine.get(execution_id)).children
    child_end = (await live.engine.get(child.id)).last_seq
    path = live.path(execution_id, "/stream/consolidated")
    async with live.stream(path) as before:
        finished = [b for b in await before.blocks() if b.event is not None]
    BROKEN.discard(name)
    await live.http.post(live.path(execution_id, "/retry"))
    # Resumed from where it ended before the retry: only the new events of both logs.
    async with live.stream(path, {"Last-Event-ID": finished[-1].id or ""}) as resumed:
        assert resumed.status == 200
        blocks = [b for b in await resumed.blocks(timeout=10) if b.event is not None]
    envelopes = [orjson.loads(b.data or "") for b in blocks if b.event == "data"]
    retries = [e["data"]["targetId"] for e in envelopes if e["event"] == "RETRY_REQUESTED"]
    assert sorted(retries) == sorted([execution_id, child.id])
    child_events = await live.engine.events(child.id, after=child_end, limit=100)
    assert [e.type for e in child_events][-1] == "WORKFLOW_COMPLETED"
    assert [b.data for b in blocks if b.event == "token"] == [f"mended {name}"]
    completed = [e["data"]["id"] for e in envelopes if e["event"] == "WORKFLOW_COMPLETED"]
    assert sorted(completed) == sorted([execution_id, child.id])
    await until(lambda: live.streams.in_flight == 0, 2)
