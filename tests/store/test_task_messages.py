"""The store contract for messages to standalone tasks that take them (Claude Code), on
every backend."""

from __future__ import annotations

import pytest

from runstream.errors import InvalidState
from runstream.model import EventType, ExecutionType, new_id
from runstream.store.base import Store
from runstream.store.records import NewExecution
from tests.store.conftest import Recorder


async def new_session(store: Store, accepts: bool = True) -> str:
    execution_id = new_id()
    new = NewExecution(
        execution_id, "default", "chat", ExecutionType.TASK, "hi", accepts_messages=accepts
    )
    await store.create_execution(new)
    return execution_id


async def test_queue_consume_close(store: tuple[Store, Recorder]) -> None:
    s, recorder = store
    run = await new_session(s)
    first, second = new_id(), new_id()
    assert await s.post_message(run, first, "one") == 1
    assert await s.post_message(run, second, {"blocks": 2}) == 2
    assert await s.read_message(run, second) == {"blocks": 2}
    assert await s.close_input(run) is False, "two messages are not delivered yet"

    await s.consume_message(run, first, run, 1)
    await s.consume_message(run, first, run, 2)  # a later attempt delivering it again
    consumed = [e for e in recorder.events if e.type == EventType.MESSAGE_CONSUMED]
    assert [(e.data, e.task_id, e.attempt) for e in consumed] == [({"messageId": first}, run, 1)]
    assert await s.post_message(run, new_id(), "three") == 2
    assert await s.close_input(run) is False

    for message in await _unconsumed(s, run, recorder):
        await s.consume_message(run, message, run, 1)
    assert await s.close_input(run) is True
    assert await s.close_input(run) is True, "closing again is harmless"
    with pytest.raises(InvalidState, match="ended its input"):
        await s.post_message(run, new_id(), "late")


async def _unconsumed(s: Store, run: str, recorder: Recorder) -> list[str]:
    received = [e.data["messageId"] for e in recorder.events if e.type == "MESSAGE_RECEIVED"]
    consumed = {e.data["messageId"] for e in recorder.events if e.type == "MESSAGE_CONSUMED"}
    return [m for m in received if m not in consumed]


async def test_only_tasks_that_take_messages_get_them(store: tuple[Store, Recorder]) -> None:
    s, _ = store
    plain = await new_session(s, accepts=False)
    with pytest.raises(InvalidState, match="takes no messages"):
        await s.post_message(plain, new_id(), "x")
    run = await new_session(s)
    await s.request_cancel(run, "stop")
    with pytest.raises(InvalidState, match="CANCELLED"):
        await s.post_message(run, new_id(), "x")
    with pytest.raises(InvalidState):
        await s.read_message(run, new_id())


async def test_find_event(store: tuple[Store, Recorder]) -> None:
    s, _ = store
    run = await new_session(s)
    for n in range(3):
        await s.post_message(run, new_id(), n)
    second = await s.find_event(run, EventType.MESSAGE_RECEIVED, 2)
    assert second is not None and second.seq == 3 and second.type == "MESSAGE_RECEIVED"
    assert await s.find_event(run, EventType.MESSAGE_RECEIVED, 4) is None
    assert await s.find_event(run, EventType.MESSAGE_RECEIVED, 0) is None
    created = await s.find_event(run, EventType.TASK_CREATED, 1)
    assert created is not None and created.seq == 1
