"""The store contract on SQLite: leases, fencing, claims, closed logs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from runstream.errors import LeaseLost
from runstream.model import Event, ExecutionType, NewEvent, RetryPolicy, new_id
from runstream.store import open_store
from runstream.store.base import NewExecution, Store, Wake


class Recorder:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.wakes: list[frozenset[Wake]] = []

    def on_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def on_wake(self, what: frozenset[Wake]) -> None:
        self.wakes.append(what)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Store, Recorder]]:
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    recorder = Recorder()
    await s.open(recorder)
    yield s, recorder
    await s.close()


async def new_task(store: Store, retries: int = 1) -> str:
    task_id = new_id()
    await store.create_execution(
        NewExecution(
            task_id,
            "default",
            "work",
            ExecutionType.TASK,
            {"n": 1},
            max_retries=retries,
            retry_policy=RetryPolicy(initial_interval=0, jitter=0),
        )
    )
    return task_id


async def test_late_completion_from_expired_lease_is_rejected(
    store: tuple[Store, Recorder],
) -> None:
    s, recorder = store
    task_id = await new_task(s)
    claims, _ = await s.claim_tasks("old", 10, lease=0.05)
    assert [c.id for c in claims] == [task_id] and claims[0].attempt == 1
    await asyncio.sleep(0.1)
    await s.expire_leases()
    assert await s.heartbeat_tasks("old", {task_id: 1}, lease=5) == {task_id}
    claims, _ = await s.claim_tasks("new", 10, lease=5)
    assert claims[0].attempt == 2
    with pytest.raises(LeaseLost):
        await s.finish_task(task_id, 1, "old", output="late")
    await s.finish_task(task_id, 2, "new", output="on time")
    snap = await s.get_snapshot(task_id)
    assert snap.output == "on time" and snap.tasks[0].execution_count == 2
    kinds = [ev.type for ev in recorder.events if ev.execution_id == task_id]
    assert kinds == [
        "TASK_CREATED",
        "TASK_STARTED",
        "TASK_FAILED",
        "TASK_STARTED",
        "TASK_COMPLETED",
    ]


async def test_concurrent_claims_never_share_a_task(store: tuple[Store, Recorder]) -> None:
    s, _ = store
    ids = {await new_task(s) for _ in range(30)}
    batches = await asyncio.gather(*(s.claim_tasks(f"w{i}", 7, lease=5) for i in range(6)))
    claimed = [c.id for claims, _ in batches for c in claims]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == ids


async def test_closed_log_takes_no_more_events(store: tuple[Store, Recorder]) -> None:
    s, _ = store
    task_id = await new_task(s, retries=0)
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 1, "w", output=1)
    await s.append_events([NewEvent(task_id, "token", "too late", task_id, 1)])
    events = await s.read_events(task_id, 0, 100)
    assert events[-1].type == "TASK_COMPLETED" and events[-1].is_terminal


async def test_failed_operation_rolls_back_alone(store: tuple[Store, Recorder]) -> None:
    s, _ = store
    task_id = await new_task(s)
    results = await asyncio.gather(
        s.settle_promise(task_id, "p", value=1),  # a task has no promises: InvalidState
        s.append_events([NewEvent(task_id, "data", {"kept": True})]),
        return_exceptions=True,
    )
    assert type(results[0]).__name__ == "InvalidState" and results[1] is None
    events = await s.read_events(task_id, 0, 100)
    assert [ev.type for ev in events] == ["TASK_CREATED", "data"]


async def test_a_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    first = open_store(url)
    await first.open(Recorder())
    code = (
        "import asyncio, sys\n"
        "from runstream.store import open_store\n"
        "from runstream.errors import StoreError\n"
        "class L:\n"
        "    def on_events(self, e): pass\n"
        "    def on_wake(self, w): pass\n"
        "try:\n"
        f"    asyncio.run(open_store({url!r}).open(L()))\n"
        "except StoreError as err:\n"
        "    print(err); sys.exit(3)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    await first.close()
    assert proc.returncode == 3
    assert f"is in use by pid {os.getpid()}" in out.decode()
    again = open_store(url)
    await again.open(Recorder())  # free again once the first store closed
    await again.close()
