"""Replay from history: nothing re-run, nothing re-emitted, divergence detected."""

from __future__ import annotations

from typing import Any

import runstream as rs
from tests.engine.conftest import OpenEngine, run_to_end, types, wait_for_event

RUNS: list[str] = []


def make_app(changed: bool) -> rs.App:
    app = rs.App("replay")

    @app.task()
    async def step(ctx: rs.TaskContext, name: str) -> str:
        RUNS.append(name)
        ctx.token(name)
        return name

    @app.workflow()
    async def flow(ctx: rs.WorkflowContext) -> Any:
        ctx.progress(0.1, "begin")
        first = await ctx.task(step, "first")
        ctx.data({"after": first})
        if changed:
            await ctx.sleep(0)
        await ctx.promise("go")
        second = await ctx.task(step, "second")
        return [first, second]

    return app


async def test_restart_resumes_without_rerunning_or_reemitting(open_engine: OpenEngine) -> None:
    RUNS.clear()
    async with open_engine(make_app(False)) as engine:
        h = await engine.start("flow")
        await wait_for_event(h, "PROMISE_CREATED")
    async with open_engine(make_app(False)) as engine:  # a new process would look the same
        await engine.resolve_promise(h.id, "go", True)
        handle = engine.handle(h.id)
        assert await handle.result(timeout=5) == ["first", "second"]
        events = await run_to_end(handle)
    assert RUNS == ["first", "second"]
    assert types(events).count("progress") == 1
    assert types(events).count("data") == 1
    assert types(events).count("TASK_CREATED") == 2
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))


async def test_changed_workflow_fails_with_non_determinism(open_engine: OpenEngine) -> None:
    async with open_engine(make_app(False)) as engine:
        h = await engine.start("flow")
        await wait_for_event(h, "PROMISE_CREATED")
    async with open_engine(make_app(True)) as engine:
        await engine.resolve_promise(h.id, "go", True)
        events = await run_to_end(engine.handle(h.id))
    assert events[-1].type == "WORKFLOW_FAILED"
    error = events[-1].data["error"]
    assert "non-deterministic workflow at step 2" in error
    assert "history has promise 'go', the code asked for sleep 'sleep'" in error
