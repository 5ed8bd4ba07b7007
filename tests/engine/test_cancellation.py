"""Cancelling a workflow wherever it waits: tasks, timers, promises, children."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import runstream as rs
from tests.engine.conftest import OpenEngine, run_to_end, types, wait_for_event

app = rs.App("cancellation")


@app.task()
async def slow(ctx: rs.TaskContext) -> None:
    await asyncio.sleep(30)


@app.workflow()
async def waits_on_task(ctx: rs.WorkflowContext) -> None:
    await ctx.task(slow)


@app.workflow()
async def waits_on_timer(ctx: rs.WorkflowContext) -> None:
    await ctx.sleep(60)


@app.workflow()
async def waits_on_promise(ctx: rs.WorkflowContext) -> None:
    await ctx.promise("never")


@app.workflow()
async def waits_on_child(ctx: rs.WorkflowContext) -> None:
    await ctx.child(waits_on_timer)


CASES = {
    waits_on_task: ("TASK_STARTED", "TASK_CANCELLED"),
    waits_on_timer: ("TIMER_STARTED", "TIMER_CANCELLED"),
    waits_on_promise: ("PROMISE_CREATED", None),
    waits_on_child: ("CHILD_WORKFLOW_STARTED", "CHILD_WORKFLOW_CANCELLATION_REQUESTED"),
}


@pytest.mark.parametrize("workflow", list(CASES), ids=lambda f: f.__name__)
async def test_cancel_where_it_waits(open_engine: OpenEngine, workflow: Any) -> None:
    waiting_on, cancelled_event = CASES[workflow]
    async with open_engine(app, lease_timeout=3.0) as engine:
        h = await engine.start(workflow)
        await wait_for_event(h, waiting_on)
        await engine.cancel(h.id, reason="user")
        await engine.cancel(h.id, reason="again")  # idempotent
        events = await run_to_end(h)
        with pytest.raises(rs.ExecutionFailed) as failure:
            await h.result()
        snap = await engine.get(h.id)
        for child in snap.children:  # a child ends its own cancellation, in its own log
            child_events = await run_to_end(engine.handle(child.id))
            assert child_events[-1].type == "WORKFLOW_CANCELLED"
        children = [await engine.get(c.id) for c in snap.children]
    assert failure.value.status == "CANCELLED"
    assert types(events).count("CANCELLATION_REQUESTED") == 1
    requested = next(ev for ev in events if ev.type == "CANCELLATION_REQUESTED")
    assert requested.data == {"workflowExecutionId": h.id, "reason": "user"}
    assert events[-1].type == "WORKFLOW_CANCELLED"
    if cancelled_event:
        assert cancelled_event in types(events)
    assert all(t.status == rs.Status.CANCELLED for t in snap.tasks)
    assert all(c.status == rs.Status.CANCELLED for c in children)


async def test_cancel_before_start_and_after_end(open_engine: OpenEngine) -> None:
    async with open_engine(app, worker=False) as engine:
        h = await engine.start(waits_on_timer)
        await engine.cancel(h.id)
        events = await run_to_end(h)
        assert types(events) == ["WORKFLOW_CREATED", "CANCELLATION_REQUESTED", "WORKFLOW_CANCELLED"]
        await engine.cancel(h.id)  # no-op on a finished execution
        assert len(await engine.events(h.id)) == 3
        with pytest.raises(rs.ExecutionNotFound):
            await engine.cancel("00000000-0000-7000-8000-000000000000")


CLEANED: list[str] = []


@app.task()
async def cleanup(ctx: rs.TaskContext, what: str) -> str:
    CLEANED.append(what)
    return what


@app.workflow()
async def with_cleanup(ctx: rs.WorkflowContext) -> None:
    try:
        await ctx.sleep(60)
    except Exception:  # proves cancellation is not an Exception
        CLEANED.append("swallowed")
    except rs.CancelledError:
        await ctx.task(cleanup, "tidy")
        raise


async def test_cancelled_error_escapes_except_exception(open_engine: OpenEngine) -> None:
    CLEANED.clear()
    async with open_engine(app) as engine:
        h = await engine.start(with_cleanup)
        await wait_for_event(h, "TIMER_STARTED")
        await engine.cancel(h.id)
        events = await run_to_end(h)
    assert CLEANED == ["tidy"]
    assert types(events)[-1] == "WORKFLOW_CANCELLED"
    assert "TIMER_CANCELLED" in types(events)
    assert "TASK_COMPLETED" in types(events)


async def test_cancel_standalone_task(open_engine: OpenEngine) -> None:
    async with open_engine(app, lease_timeout=0.6) as engine:
        h = await engine.start_task(slow)
        await wait_for_event(h, "TASK_STARTED")
        await engine.cancel(h.id)
        events = await run_to_end(h)
        assert events[-1].type == "TASK_CANCELLED"
        await asyncio.sleep(0.5)  # the worker notices at its next heartbeat
        assert engine._worker is not None and engine._worker.running == 0
