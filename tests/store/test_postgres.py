"""What only the PostgreSQL backend does: many processes on one database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from runstream.model import NewEvent
from runstream.store import open_store
from runstream.store.base import Store
from runstream.store.hints import CHANNEL, decode_hints
from runstream.store.postgres import SCHEMA_VERSION, PostgresBackend
from tests.conftest import pg_url
from tests.store.conftest import Recorder, new_task, new_workflow
from tests.store.test_group_commit import database, in_one_group, insert_twice, note


@pytest.fixture
async def stores(pg_database: str) -> AsyncIterator[list[Store]]:
    """Four stores on one database, as four processes would have."""
    opened = []
    for _ in range(4):
        store = open_store(pg_database)
        await store.open(Recorder())
        opened.append(store)
    yield opened
    for store in opened:
        await store.close()


def test_processes_starting_together_on_an_empty_database_migrate_once(
    pg_database: str,
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        backend = PostgresBackend(pg_database)
        conn = backend.connect()
        try:
            barrier.wait()
            backend.migrate(conn)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with psycopg.connect(pg_database) as conn:
        versions = conn.execute("SELECT version FROM runstream_schema ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))


async def test_claims_from_many_processes_never_share_a_task(stores: list[Store]) -> None:
    ids = {await new_task(stores[0]) for _ in range(40)}
    batches = await asyncio.gather(
        *(s.claim_tasks(f"w{i}", 7, lease=5) for i, s in enumerate(stores * 2))
    )
    claimed = [c.id for claims, _ in batches for c in claims]
    assert len(claimed) == len(set(claimed)) == 40
    assert set(claimed) == ids


async def test_concurrent_appenders_to_one_log_get_contiguous_seqs(stores: list[Store]) -> None:
    wf = await new_workflow(stores[0])

    async def writer(store: Store, name: str) -> None:
        for i in range(25):
            await store.append_events([NewEvent(wf, "data", {"w": name, "i": i})])

    await asyncio.gather(*(writer(s, f"p{n}") for n, s in enumerate(stores)))
    events = await stores[1].read_events(wf, 0, 1000)
    assert [e.seq for e in events] == list(range(1, 102))
    for n in range(4):
        mine = [e.data["i"] for e in events if e.type == "data" and e.data["w"] == f"p{n}"]
        assert mine == list(range(25))


async def test_each_commit_is_announced_with_notify(pg_database: str) -> None:
    listener = await psycopg.AsyncConnection.connect(pg_database, autocommit=True)
    try:
        await listener.execute(f"LISTEN {CHANNEL}")
        store = open_store(pg_database)
        await store.open(Recorder())
        try:
            wf = await new_workflow(store)
            many = list(await asyncio.gather(*(new_workflow(store) for _ in range(400))))
            # Commits touching hundreds of logs: split into payloads under 8000 bytes.
            await asyncio.gather(
                *(store.append_events([NewEvent(w, "token", "x")]) for w in [*many, wf])
            )
            seen: dict[str, int] = {}
            payloads = []
            async with asyncio.timeout(5):
                async for note in listener.notifies():
                    payloads.append(note.payload)
                    hints = decode_hints(note.payload)
                    assert hints.origin == store.origin
                    seen.update(hints.positions)
                    if seen.get(wf) == 2 and all(seen.get(w) == 2 for w in many):
                        break
        finally:
            await store.close()
    finally:
        await listener.close()
    assert decode_hints(payloads[0]).wakes == frozenset({"workflows"})
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert len(payloads) > 3  # 401 logs do not fit in one


def test_test_databases_are_fresh(pg_database: str) -> None:
    assert pg_database != pg_url("postgres")
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM executions").fetchone() == (0,)


async def test_a_quiet_store_sends_no_notify(pg_database: str) -> None:
    """With ``--bus redis://…`` the hints travel over Redis: commits skip the NOTIFY."""
    listener = await psycopg.AsyncConnection.connect(pg_database, autocommit=True)
    try:
        await listener.execute(f"LISTEN {CHANNEL}")
        loud, quiet = open_store(pg_database), open_store(pg_database)
        quiet.quiet()
        assert quiet.bus_url is None and loud.bus_url is not None
        for store in (quiet, loud):
            await store.open(Recorder())
        try:
            await new_workflow(quiet)
            marker = await new_workflow(loud)
            async with asyncio.timeout(5):
                async for note in listener.notifies():
                    hints = decode_hints(note.payload)
                    assert hints.origin == loud.origin
                    if marker in hints.positions:
                        break
        finally:
            for store in (quiet, loud):
                await store.close()
    finally:
        await listener.close()


@pytest.mark.parametrize("careful", [False, True], ids=["pipelined", "careful"])
async def test_a_commit_whose_announcement_fails_stays_committed_once(
    pg_database: str, careful: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The ``NOTIFY`` follows the ``COMMIT`` as a transaction of its own, so PostgreSQL
    refusing it (here: a payload over 8000 bytes) must neither fail nor repeat the commit.
    A careful run (after an operation failed in the optimistic one) announces the same way."""
    store = open_store(pg_database)
    await store.open(Recorder())
    try:
        wf, other = await new_workflow(store), await new_workflow(store)
        backend = store._backend  # type: ignore[attr-defined]
        backend.origin = "o" * 8100  # every payload now exceeds PostgreSQL's limit
        writes: list[tuple[Any, ...]] = [(note, wf, "one"), (note, wf, "two")]
        if careful:  # refused by the database: the group runs again, carefully
            writes.insert(1, (insert_twice, other))
        results = await in_one_group(database(store), *writes)
        backend.origin = store.origin
        await store.append_events([NewEvent(wf, "data", {"text": "three"})])
        events = await store.read_events(wf, 0, 100)
    finally:
        await store.close()
    assert [r for r in results if isinstance(r, Exception)] == ([results[1]] if careful else [])
    assert [e.data["text"] for e in events if e.type == "data"] == ["one", "two", "three"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert "a commit went unannounced" in caplog.text
