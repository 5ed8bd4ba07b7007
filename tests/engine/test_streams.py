"""``stream()``: replay then live, resumable at any seq, shared and batched."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import runstream as rs
from runstream.store.log.store import LogStore
from tests.engine.conftest import OpenEngine, run_to_end, wait_for_event

app = rs.App("streams")


@app.task()
async def chatter(ctx: rs.TaskContext, count: int) -> int:
    for i in range(count):
        ctx.token(f"t{i} ")
        if i % 50 == 49:
            await asyncio.sleep(0.001)
    return count


@app.workflow()
async def talk(ctx: rs.WorkflowContext, count: int) -> int:
    return await ctx.task(chatter, count)


async def test_resume_at_every_seq_of_a_finished_execution(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(talk, 40)
        log = await run_to_end(h)
        for after in range(len(log) + 1):
            rest = [ev async for ev in engine.stream(h.id, after)]
            assert rest == log[after:], f"resume after {after}"


async def test_resume_while_appending_never_gaps_or_repeats(open_engine: OpenEngine) -> None:
    rng = random.Random(7)
    async with open_engine(app) as engine:
        h = await engine.start(talk, 3000)

        async def flaky_reader() -> list[int]:
            seen: list[int] = []
            cursor = 0
            while True:
                stop_after = rng.randint(1, 120)
                ended = True
                async for ev in engine.stream(h.id, cursor):
                    seen.append(ev.seq)
                    cursor = ev.seq
                    stop_after -= 1
                    if stop_after == 0 and not ev.is_terminal:
                        ended = False
                        break
                if ended:
                    return seen

        readers = await asyncio.wait_for(asyncio.gather(*(flaky_reader() for _ in range(5))), 30)
        log = await run_to_end(h)
    expected = [ev.seq for ev in log]
    assert expected == list(range(1, len(log) + 1))
    for seen in readers:
        assert seen == expected
    assert engine.hub.subscriptions == 0 and engine.hub.topics == 0


async def test_tokens_are_batched_and_precede_completion(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        store = engine.store
        assert isinstance(store, LogStore)
        before = store.commits
        h = await engine.start_task(chatter, 10_000)
        log = await run_to_end(h)
        commits = store.commits - before
    tokens = [ev.data for ev in log if ev.type == "token"]
    assert tokens == [f"t{i} " for i in range(10_000)]
    assert log[-1].type == "TASK_COMPLETED" and log[-1].is_terminal
    assert commits < 400, f"{commits} commits for 10,000 tokens"


async def test_slow_subscriber_does_not_hold_back_others(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(talk, 5000)
        slow = engine.stream(h.id)
        first = await anext(slow)  # takes one event, then stops reading
        fast = await run_to_end(h, timeout=20)
        rest = [ev async for ev in slow]  # the slow one catches up from the store
    assert [first, *rest] == fast


@app.workflow()
async def late_child(ctx: rs.WorkflowContext) -> Any:
    await ctx.promise("go")
    return await ctx.child(talk, 5)


async def test_consolidated_includes_child_started_later(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(late_child)
        await wait_for_event(h, "PROMISE_CREATED")

        async def collect(cursor: str | None = None) -> list[tuple[str, rs.Event]]:
            return [item async for item in engine.stream_consolidated(h.id, cursor)]

        watcher = asyncio.create_task(collect())
        await asyncio.sleep(0.1)
        await engine.resolve_promise(h.id, "go")
        items = await asyncio.wait_for(watcher, 10)
        root_log = await run_to_end(h)
        child_id = (await engine.get(h.id)).children[0].id
        child_log = await run_to_end(engine.handle(child_id))
        everything = {(ev.execution_id, ev.seq) for ev in root_log + child_log}
        delivered = [(ev.execution_id, ev.seq) for _, ev in items]
        assert len(delivered) == len(set(delivered)) == len(everything)
        assert set(delivered) == everything
        for cut in (1, len(items) // 2, len(items) - 1):
            rest = await asyncio.wait_for(collect(items[cut - 1][0]), 10)
            resumed = delivered[:cut] + [(ev.execution_id, ev.seq) for _, ev in rest]
            assert sorted(resumed) == sorted(everything), f"resume at {cut}"
