"""The shared writer: operations queued together commit in one transaction, and one that
fails rolls back alone, whether the database or the transition refused it. On PostgreSQL
the group is pipelined, so a refused statement is only noticed later; the group then runs
again statement by statement to find out whose it was."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from runstream.errors import StoreError
from runstream.model import EventType
from runstream.store.base import Store
from runstream.store.log.database import Database
from runstream.store.log.store import LogStore
from runstream.store.log.tx import Tx
from tests.store.conftest import Recorder, new_workflow


def database(store: Store) -> Database:
    assert isinstance(store, LogStore)
    return store._db


def hold_writer(tx: Tx, seconds: float) -> None:
    time.sleep(seconds)  # everything queued meanwhile becomes the next group


def note(tx: Tx, execution_id: str, text: str) -> str:
    tx.emit(execution_id, EventType.DATA, {"text": text})
    return text


def insert_twice(tx: Tx, execution_id: str) -> None:
    """Sends an insert the database refuses (a duplicate id) without reading its result."""
    tx.emit(execution_id, EventType.DATA, {"text": "rolled back"})
    row = tx.one("get_execution", id=execution_id)
    assert row is not None
    params = {k: row[k] for k in ("id", "org", "kind", "type", "input", "parent_id", "trace")}
    tx.run("insert_execution", **params, parent_step=None, now=tx.now, ready_at=None)


def refuse(tx: Tx, execution_id: str) -> None:
    tx.emit(execution_id, EventType.DATA, {"text": "rolled back"})
    raise ValueError("the transition refused")


async def in_one_group(db: Database, *writes: tuple[Any, ...]) -> list[Any]:
    held = db.write(hold_writer, 0.2)
    await asyncio.sleep(0.05)  # the writer is asleep in hold_writer
    futures = [db.write(*w) for w in writes]
    commits = db.commits
    await held
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert db.commits - commits <= 3  # the held group, then one (a re-run does not commit)
    return results


@pytest.mark.parametrize("failing", [insert_twice, refuse])
async def test_a_failing_operation_rolls_back_alone(
    store: tuple[Store, Recorder], failing: Any
) -> None:
    s, recorder = store
    a, b = await new_workflow(s), await new_workflow(s)
    db = database(s)

    results = await in_one_group(db, (note, a, "one"), (failing, b), (note, a, "two"))

    assert results[0] == "one" and results[2] == "two"
    assert isinstance(results[1], StoreError if failing is insert_twice else ValueError)
    texts = [ev.data["text"] for ev in await s.read_events(a, 0, 100) if ev.type == EventType.DATA]
    assert texts == ["one", "two"]
    assert [ev.type for ev in await s.read_events(b, 0, 100)] == [EventType.WORKFLOW_CREATED]
    seqs = [ev.seq for ev in await s.read_events(a, 0, 100)]
    assert seqs == list(range(1, len(seqs) + 1))
    told = [ev for ev in recorder.events if ev.execution_id == b]
    assert [ev.type for ev in told] == [EventType.WORKFLOW_CREATED]  # nothing rolled back


def close(tx: Tx, execution_id: str) -> None:
    tx.run("set_status", id=execution_id, status="COMPLETED", now=tx.now)


async def test_events_for_a_log_closed_earlier_in_the_group_are_dropped(
    store: tuple[Store, Recorder],
) -> None:
    s, recorder = store
    a = await new_workflow(s)

    results = await in_one_group(
        database(s), (note, a, "kept"), (close, a), (note, a, "after the close")
    )

    assert results == ["kept", None, "after the close"]
    texts = [ev.data["text"] for ev in await s.read_events(a, 0, 100) if ev.type == EventType.DATA]
    assert texts == ["kept"]
    assert [ev.data.get("text") for ev in recorder.events if ev.execution_id == a][-1] == "kept"


async def test_an_unexpected_error_fails_its_group_and_the_writer_goes_on(
    store: tuple[Store, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = store
    db = database(s)
    a = await new_workflow(s)

    def broken_settle(self: Tx) -> None:
        raise RuntimeError("a bug")

    # A bug outside any one operation (here: settling the transaction) must not stop the
    # writer thread, or every later caller would wait for ever.
    with monkeypatch.context() as patch:
        for cls in Tx.__subclasses__():
            patch.setattr(cls, "settle", broken_settle)
        with pytest.raises(StoreError, match="a bug"):
            await asyncio.wait_for(db.write(note, a, "lost"), 5)
    assert await asyncio.wait_for(db.write(note, a, "kept"), 5) == "kept"
