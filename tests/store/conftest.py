"""A fresh store per test, on every backend, with a listener that records what it is told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from runstream.model import Event, ExecutionType, RetryPolicy, new_id
from runstream.store import open_store
from runstream.store.base import Store, Wake
from runstream.store.records import Leased, NewExecution


class Recorder:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.wakes: list[frozenset[Wake]] = []

    def on_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def on_wake(self, what: frozenset[Wake]) -> None:
        self.wakes.append(what)

    def types(self, execution_id: str) -> list[str]:
        return [str(ev.type) for ev in self.events if ev.execution_id == execution_id]

    @property
    def woken(self) -> set[Wake]:
        return {w for wakes in self.wakes for w in wakes}


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[tuple[Store, Recorder]]:
    s = open_store(store_url)
    recorder = Recorder()
    await s.open(recorder)
    yield s, recorder
    await s.close()


async def new_task(store: Store, retries: int = 1, org: str = "default") -> str:
    """A standalone task execution whose retries are due at once."""
    task_id = new_id()
    await store.create_execution(
        NewExecution(
            task_id,
            org,
            "work",
            ExecutionType.TASK,
            {"n": 1},
            max_retries=retries,
            retry_policy=RetryPolicy(initial_interval=0, jitter=0),
        )
    )
    return task_id


async def new_workflow(store: Store, kind: str = "flow", org: str = "default") -> str:
    workflow_id = new_id()
    await store.create_execution(
        NewExecution(workflow_id, org, kind, ExecutionType.WORKFLOW, {"x": 1})
    )
    return workflow_id


def ids_of(leased: list[Leased]) -> list[str]:
    """The ids of leased workflows."""
    return [lease.execution_id for lease in leased]
