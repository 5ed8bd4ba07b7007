"""The event sequences of SPEC §3 for each workflow step kind."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import pytest

import runstream as rs
from runstream.store.log.store import LogStore
from tests.engine.conftest import OpenEngine, lifecycle, run_to_end, types, wait_for_event

app = rs.App("workflows")


@app.task()
async def echo(ctx: rs.TaskContext, value: Any) -> Any:
    ctx.progress(0.5, "halfway")
    ctx.token("Hel")
    ctx.token("lo")
    ctx.data({"value": value})
    ctx.error("not fatal", code="NOTE")
    return value


@app.workflow()
async def one_task(ctx: rs.WorkflowContext, value: Any) -> Any:
    return await ctx.task(echo, value)


async def test_one_task_workflow_exact_sequence(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(one_task, {"x": 1})
        events = await run_to_end(h)
        assert await h.result() == {"x": 1}
    assert types(events) == [
        "WORKFLOW_CREATED",
        "WORKFLOW_STARTED",
        "TASK_CREATED",
        "WORKFLOW_SUSPENDED",
        "TASK_STARTED",
        "progress",
        "token",
        "token",
        "data",
        "error",
        "TASK_COMPLETED",
        "WORKFLOW_RESUMED",
        "WORKFLOW_COMPLETED",
    ]
    assert [ev.seq for ev in events] == list(range(1, 14))
    by_type = {ev.type: ev for ev in events}
    created = by_type["TASK_CREATED"].data
    assert created["kind"] == "echo" and created["status"] == "PENDING"
    assert created["executionCount"] == 0 and created["maxRetries"] == 0
    assert by_type["WORKFLOW_SUSPENDED"].data["suspendType"] == "task"
    assert by_type["progress"].data == {"progress": 0.5, "details": "halfway"}
    assert by_type["error"].data == {"message": "not fatal", "code": "NOTE"}
    task_events = [ev for ev in events if ev.task_id is not None]
    assert {ev.task_id for ev in task_events} == {created["id"]}
    assert all(ev.attempt == 1 for ev in task_events if ev.type != "TASK_CREATED")
    assert events[-1].is_terminal and events[-1].data["output"] == {"x": 1}


async def test_workflows_started_at_once_respect_the_activation_limit(
    open_engine: OpenEngine,
) -> None:
    """A start leases its workflow to this process's worker only into a free slot; the
    others wait for a claim."""
    async with open_engine(app, concurrency=2) as engine:
        runner = engine._runner
        assert runner is not None
        free: list[int] = []

        async def start(i: int) -> rs.ExecutionHandle:
            handle = await engine.start(one_task, i)
            free.append(runner.free_slots)  # right after a possible adopt
            return handle

        handles = await asyncio.gather(*(start(i) for i in range(6)))
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 20)
    assert results == list(range(6))
    assert min(free) >= 0, free


@app.task(retries=2, retry_policy=rs.RetryPolicy(initial_interval=0.05, jitter=0))
async def flaky(ctx: rs.TaskContext, fail_times: int) -> int:
    if ctx.attempt <= fail_times:
        raise rs.TaskError(f"attempt {ctx.attempt} failed")
    return ctx.attempt


@app.task(retries=5)
async def fatal(ctx: rs.TaskContext) -> None:
    raise rs.TaskError("no point retrying", retryable=False)


@app.workflow()
async def retrying(ctx: rs.WorkflowContext, fail_times: int) -> Any:
    try:
        return await ctx.task(flaky, fail_times)
    except rs.TaskFailed as err:
        return {"failed": err.error}


async def test_retries_carry_execution_count_and_will_retry(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(retrying, 2)
        events = await run_to_end(h)
        assert await h.result() == 3
    started = [ev.data["executionCount"] for ev in events if ev.type == "TASK_STARTED"]
    assert started == [1, 2, 3]
    failed = [ev for ev in events if ev.type == "TASK_FAILED"]
    assert [ev.data["willRetry"] for ev in failed] == [True, True]
    assert [ev.attempt for ev in failed] == [1, 2]
    assert failed[0].data["error"] == "attempt 1 failed"


async def test_retries_exhausted_raise_task_failed(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(retrying, 5)
        events = await run_to_end(h)
        assert await h.result() == {"failed": "attempt 3 failed"}
    assert [ev.data["willRetry"] for ev in events if ev.type == "TASK_FAILED"] == [
        True,
        True,
        False,
    ]


@app.workflow(name="calls_fatal")
async def calls_fatal(ctx: rs.WorkflowContext) -> None:
    await ctx.task(fatal)


async def test_non_retryable_error_skips_retries(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(calls_fatal)
        events = await run_to_end(h)
        with pytest.raises(rs.ExecutionFailed, match="no point retrying"):
            await h.result()
    assert types(events).count("TASK_STARTED") == 1
    assert events[-1].type == "WORKFLOW_FAILED"
    assert "TaskFailed" in events[-1].data["error"]


@app.workflow()
async def sleeper(ctx: rs.WorkflowContext, seconds: float) -> str:
    await ctx.sleep(seconds)
    return "awake"


async def test_timer_reports_fire_at_and_fires_after_it(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        before = time.time() * 1000
        h = await engine.start(sleeper, 0.3)
        events = await run_to_end(h)
    started = next(ev for ev in events if ev.type == "TIMER_STARTED")
    fired = next(ev for ev in events if ev.type == "TIMER_FIRED")
    assert started.data["fireAtMs"] >= before + 300
    assert fired.data == {"timerId": started.data["timerId"]}
    assert fired.ts >= started.data["fireAtMs"]
    assert fired.ts - started.data["fireAtMs"] < 500
    assert lifecycle(events)[-3:] == ["TIMER_FIRED", "WORKFLOW_RESUMED", "WORKFLOW_COMPLETED"]


@app.workflow()
async def approval(ctx: rs.WorkflowContext, timeout: float | None) -> Any:
    try:
        return await ctx.promise("approval", timeout=timeout)
    except rs.PromiseRejected as err:
        return {"rejected": err.error}
    except TimeoutError:
        return "timed out"


async def test_promise_resolved_after_the_await(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(approval, None)
        await wait_for_event(h, "PROMISE_CREATED")
        await engine.resolve_promise(h.id, "approval", {"ok": True})
        assert await h.result(timeout=5) == {"ok": True}
        events = await run_to_end(h)
    resolved = next(ev for ev in events if ev.type == "PROMISE_RESOLVED")
    assert resolved.data == {"promiseId": "approval", "result": {"ok": True}}


async def test_promise_resolved_before_the_await(open_engine: OpenEngine) -> None:
    async with open_engine(app, worker=True) as engine:
        h = await engine.start(approval, None)
        await engine.resolve_promise(h.id, "approval", 42)
        assert await h.result(timeout=5) == 42
        events = await run_to_end(h)
    assert types(events).count("PROMISE_CREATED") == 1
    assert types(events).count("PROMISE_RESOLVED") == 1


async def test_promise_first_write_wins(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(approval, None)
        await engine.resolve_promise(h.id, "approval", "first")
        await engine.resolve_promise(h.id, "approval", "first")  # same value: idempotent
        with pytest.raises(rs.InvalidState):
            await engine.resolve_promise(h.id, "approval", "second")
        with pytest.raises(rs.InvalidState):
            await engine.reject_promise(h.id, "approval", "nope")
        assert await h.result(timeout=5) == "first"


async def test_promise_rejected_and_timed_out(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        rejected = await engine.start(approval, None)
        await engine.reject_promise(rejected.id, "approval", "denied")
        timed_out = await engine.start(approval, 0.2)
        assert await rejected.result(timeout=5) == {"rejected": "denied"}
        assert await timed_out.result(timeout=5) == "timed out"
        # the timeout resolved the wait: a late resolve changes nothing in the workflow
        with pytest.raises(rs.InvalidState):
            await engine.resolve_promise(timed_out.id, "approval", 1)


@app.workflow()
async def inbox(ctx: rs.WorkflowContext, count: int) -> list[Any]:
    return [await ctx.receive(timeout=10) for _ in range(count)]


async def test_messages_delivered_once_in_order(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(inbox, 4)
        ids = [await engine.send_message(h.id, {"n": 0}), await engine.send_message(h.id, {"n": 1})]
        await wait_for_event(h, "MESSAGE_CONSUMED")
        ids += [await engine.send_message(h.id, {"n": n}) for n in (2, 3)]
        assert await h.result(timeout=5) == [{"n": n} for n in range(4)]
        events = await run_to_end(h)
        with pytest.raises(rs.InvalidState):
            await engine.send_message(h.id, {"n": 4})
    consumed = [ev.data["messageId"] for ev in events if ev.type == "MESSAGE_CONSUMED"]
    received = [ev.data["messageId"] for ev in events if ev.type == "MESSAGE_RECEIVED"]
    assert consumed == received == ids


@app.workflow()
async def doubler(ctx: rs.WorkflowContext, x: int) -> int:
    if x < 0:
        raise ValueError("negative")
    return await ctx.task(echo, x * 2)


@app.workflow()
async def parent(ctx: rs.WorkflowContext, x: int) -> Any:
    try:
        return await ctx.child(doubler, x)
    except rs.ChildWorkflowFailed as err:
        return {"child": err.status, "error": err.error}


async def test_child_workflow_events_in_both_logs(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(parent, 21)
        events = await run_to_end(h)
        assert await h.result() == 42
        initiated = next(ev for ev in events if ev.type == "CHILD_WORKFLOW_INITIATED")
        child_id = initiated.data["childWorkflowId"]
        child_events = await run_to_end(engine.handle(child_id))
        snap = await engine.get(h.id)
    assert lifecycle(events)[2:6] == [
        "CHILD_WORKFLOW_INITIATED",
        "WORKFLOW_SUSPENDED",
        "CHILD_WORKFLOW_STARTED",
        "CHILD_WORKFLOW_COMPLETED",
    ]
    assert initiated.data == {
        "childWorkflowId": child_id,
        "kind": "doubler",
        "status": "PENDING",
        "error": None,
    }
    assert child_events[0].data["parentWorkflowExecutionId"] == h.id
    assert "TASK_COMPLETED" in types(child_events)
    assert "TASK_COMPLETED" not in types(events)
    assert [c.id for c in snap.children] == [child_id]


async def test_child_failure_surfaces_in_parent(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(parent, -1)
        result = await h.result(timeout=5)
        events = await run_to_end(h)
    assert result == {"child": "FAILED", "error": "ValueError: negative"}
    failed = next(ev for ev in events if ev.type == "CHILD_WORKFLOW_FAILED")
    assert failed.data["error"] == "ValueError: negative"


@app.workflow()
async def stateful(ctx: rs.WorkflowContext) -> Any:
    ctx.set_state("phase", "fetching")
    ctx.set_state("count", 1)
    seen = ctx.get_state("phase")
    await ctx.sleep(0)
    ctx.clear_state("phase")
    return seen


async def test_state_set_and_cleared(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        h = await engine.start(stateful)
        assert await h.result(timeout=5) == "fetching"
        events = await run_to_end(h)
        snap = await engine.get(h.id)
    state_events = [(ev.type, ev.data) for ev in events if ev.type.startswith("STATE_")]
    assert state_events == [
        ("STATE_SET", {"key": "phase", "value": "fetching"}),
        ("STATE_SET", {"key": "count", "value": 1}),
        ("STATE_CLEARED", {"key": "phase"}),
    ]
    assert snap.state == {"count": 1}


CALLS: list[str] = []


def record_call() -> str:
    CALLS.append("called")
    return f"call-{len(CALLS)}"


async def async_call() -> str:
    await asyncio.sleep(0.01)
    return record_call()


@app.workflow()
async def with_operation(ctx: rs.WorkflowContext) -> Any:
    first = await ctx.operation("stamp", record_call)
    await ctx.sleep(0.05)  # forces an unload and a replay from history
    second = await ctx.operation("later", async_call)
    return [first, second]


async def test_operation_recorded_once_and_replayed(open_engine: OpenEngine) -> None:
    CALLS.clear()
    async with open_engine(app) as engine:
        engine_runner_cache_off(engine)
        h = await engine.start(with_operation)
        assert await h.result(timeout=5) == ["call-1", "call-2"]
        events = await run_to_end(h)
    assert CALLS == ["called", "called"]
    ops = [ev.data for ev in events if ev.type == "OPERATION_COMPLETED"]
    assert ops == [
        {"operationId": "stamp", "result": "call-1", "error": None},
        {"operationId": "later", "result": "call-2", "error": None},
    ]


def engine_runner_cache_off(engine: rs.Engine) -> None:
    """Make every activation replay from history (no cached instances)."""
    runner = engine._runner
    assert runner is not None
    runner._cache_size = 0


@app.workflow()
async def fan_out(ctx: rs.WorkflowContext, n: int) -> list[Any]:
    results = await asyncio.gather(*(ctx.task(echo, i) for i in range(n)))
    await ctx.sleep(0.01)
    return list(results)


async def test_gather_is_replay_safe(open_engine: OpenEngine) -> None:
    async with open_engine(app, concurrency=3) as engine:
        engine_runner_cache_off(engine)
        h = await engine.start(fan_out, 6)
        assert await h.result(timeout=10) == list(range(6))
        events = await run_to_end(h)
    assert types(events).count("TASK_COMPLETED") == 6
    assert len({ev.seq for ev in events}) == len(events)


@app.task(timeout=0.1)
async def too_slow(ctx: rs.TaskContext) -> None:
    await asyncio.sleep(5)


@app.task()
async def raises_timeout(ctx: rs.TaskContext) -> None:
    raise TimeoutError("upstream took too long")


async def test_task_timeout_is_reported_as_such(open_engine: OpenEngine) -> None:
    async with open_engine(app) as engine:
        slow = await run_to_end(await engine.start_task(too_slow))
        own = await run_to_end(await engine.start_task(raises_timeout))
    assert slow[-1].type == "TASK_FAILED"
    assert slow[-1].data["error"] == "timed out after 0.1s"
    assert own[-1].data["error"] == "TimeoutError: upstream took too long"


SLOW_OPS: list[int] = []


async def slow_side_effect() -> int:
    SLOW_OPS.append(1)
    await asyncio.sleep(1.5)
    return len(SLOW_OPS)


@app.workflow()
async def long_operation(ctx: rs.WorkflowContext) -> Any:
    return await ctx.operation("slow", slow_side_effect)


async def test_operation_longer_than_the_lease_runs_once(open_engine: OpenEngine) -> None:
    SLOW_OPS.clear()
    async with open_engine(app, lease_timeout=0.6) as engine:
        h = await engine.start(long_operation)
        assert await h.result(timeout=10) == 1
        events = await run_to_end(h)
    assert SLOW_OPS == [1]
    assert types(events).count("OPERATION_COMPLETED") == 1
    assert types(events).count("WORKFLOW_STARTED") == 1


@app.task()
async def quiet(ctx: rs.TaskContext, value: int) -> int:
    return value


@app.workflow()
async def sequential(ctx: rs.WorkflowContext, n: int) -> int:
    for i in range(n):
        await ctx.task(quiet, i)
    return n


async def test_local_work_is_dispatched_in_the_same_commit(open_engine: OpenEngine) -> None:
    """A task created by an activation starts in that commit, and its completion resumes the
    workflow in its own: two commits per sequential step instead of four."""
    async with open_engine(app) as engine:
        store = engine.store
        assert isinstance(store, LogStore)
        h = await engine.start(sequential, 20)
        before, began = store.commits, time.monotonic()
        events = await run_to_end(h)
        commits = store.commits - before
        # A store shared with other processes also looks for due timers every poll (0.2 s).
        polls = int((time.monotonic() - began) / 0.2) + 1 if store.shared else 0
    assert events[-1].data["output"] == 20
    assert commits <= 2 * 20 + 4 + polls, f"{commits} commits for 20 sequential steps"
    created = [ev.seq for ev in events if ev.type == "TASK_CREATED"]
    started = [ev.seq for ev in events if ev.type == "TASK_STARTED"]
    assert all(
        s == c + 2 for c, s in zip(created, started, strict=True)
    )  # CREATED, SUSPENDED, STARTED


async def test_a_lease_taken_while_still_activating_is_not_dropped(
    open_engine: OpenEngine,
) -> None:
    """A claim can land (in the same group commit) before the previous activation's
    done-callback runs; the runner must activate again, not sit on the lease."""
    async with open_engine(app, lease_timeout=30.0) as engine:
        h = await engine.start(approval, None)
        await wait_for_event(h, "WORKFLOW_SUSPENDED")
        runner = engine._runner
        assert runner is not None
        previous = asyncio.create_task(asyncio.sleep(0.3))  # stands in for the old activation
        runner._active[h.id] = previous
        previous.add_done_callback(functools.partial(runner._done, h.id))
        await engine.resolve_promise(h.id, "approval", "go")
        assert await h.result(timeout=5) == "go"  # not 30 s later, when the lease expires
