"""Manual retry (SPEC §4): fix the cause, retry, and keep everything that succeeded."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

import runstream as rs
from tests.engine.conftest import OpenEngine, run_to_end, types, wait_for_event

app = rs.App("retry")

RUNS: Counter[str] = Counter()
"""Task runs by name, across attempts and retries."""
FAIL_UNTIL: dict[str, int] = {}
"""``fragile`` fails every attempt up to this number (per input); the tests move it."""
BUGS: set[str] = set()
"""Bugs in workflow or operation code; a test "deploys the fix" by discarding one."""

QUICK = rs.RetryPolicy(initial_interval=0.01, jitter=0)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()
    FAIL_UNTIL.clear()
    BUGS.clear()


@app.task()
async def step(ctx: rs.TaskContext, name: str) -> str:
    RUNS[name] += 1
    ctx.token(f"{name} ")
    return name


@app.task(retries=1, retry_policy=QUICK)
async def fragile(ctx: rs.TaskContext, name: str) -> str:
    RUNS[name] += 1
    if ctx.attempt <= FAIL_UNTIL.get(name, 0):
        raise rs.TaskError(f"{name} attempt {ctx.attempt} broke")
    return f"{name}@{ctx.attempt}"


@app.task()
async def slow(ctx: rs.TaskContext, name: str) -> str:
    RUNS[name] += 1
    await asyncio.sleep(0.4)
    return name


@app.workflow()
async def two_steps(ctx: rs.WorkflowContext) -> list[str]:
    first = await ctx.task(step, "first")
    ctx.data({"between": True})
    second = await ctx.task(fragile, "second")
    return [first, second]


async def failed(engine: rs.Engine, handle: rs.ExecutionHandle) -> list[rs.Event]:
    """The log once the execution has failed."""
    log = await run_to_end(handle)
    assert (await engine.get(handle.id)).status == rs.Status.FAILED, types(log)
    return log


def after_seq(log: list[rs.Event], seq: int) -> list[str]:
    return [str(ev.type) for ev in log if ev.seq > seq]


async def test_a_workflow_failing_at_its_second_task_is_retried_and_completes(
    open_engine: OpenEngine,
) -> None:
    FAIL_UNTIL["second"] = 2  # both attempts of its budget (retries=1) fail
    async with open_engine(app) as engine:
        h = await engine.start(two_steps)
        old = await failed(engine, h)
        assert (
            old[-1].type == "WORKFLOW_FAILED" and "second attempt 2 broke" in old[-1].data["error"]
        )
        FAIL_UNTIL["second"] = 3  # the fix: only one more failure, within the fresh budget
        assert await engine.retry(h.id, reason="fixed the bug") == 1
        log = await run_to_end(h)
        assert await h.result() == ["first", "second@4"]

    assert RUNS == {"first": 1, "second": 4}
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    assert log[: len(old)] == old, "the old run's events stay as they were"
    tail = after_seq(log, len(old))
    assert tail[0] == "RETRY_REQUESTED" and tail[-1] == "WORKFLOW_COMPLETED"
    # The task is due at once, so its attempts and the workflow's activation interleave.
    assert Counter(tail[1:-1]) == Counter(
        {
            "WORKFLOW_STARTED": 1,
            "WORKFLOW_SUSPENDED": 1,
            "TASK_STARTED": 2,
            "TASK_FAILED": 1,
            "TASK_COMPLETED": 1,
            "WORKFLOW_RESUMED": 1,
        }
    )
    retry = log[len(old)]
    assert retry.data == {
        "targetId": h.id,
        "targetType": "workflow",
        "attempt": 1,
        "reason": "fixed the bug",
    }
    new = log[len(old) :]
    assert [ev.data["executionCount"] for ev in new if ev.type == "TASK_STARTED"] == [3, 4]
    assert [ev.data["willRetry"] for ev in new if ev.type == "TASK_FAILED"] == [True]
    # Nothing that succeeded ran or was emitted again.
    assert types(log).count("TASK_CREATED") == 2 and types(log).count("data") == 1
    assert [ev.data for ev in log if ev.type == "token"] == ["first "]
    assert log[-1].is_terminal and log[-1].data["output"] == ["first", "second@4"]


async def test_a_second_retry_counts_up(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["second"] = 10
    async with open_engine(app) as engine:
        h = await engine.start(two_steps)
        await failed(engine, h)
        assert await engine.retry(h.id) == 1
        await wait_for_event(h, "WORKFLOW_STARTED")
        log = await run_to_end(h)
        assert types(log).count("WORKFLOW_FAILED") == 2
        assert await engine.retry(h.id) == 2
        FAIL_UNTIL["second"] = 0
        assert await h.result(timeout=10) == ["first", "second@5"]
        log = await run_to_end(h)
    retries = [ev.data["attempt"] for ev in log if ev.type == "RETRY_REQUESTED"]
    assert retries == [1, 2] and RUNS["first"] == 1


@app.workflow()
async def gated(ctx: rs.WorkflowContext) -> Any:
    return await ctx.promise("go")


async def test_retry_of_a_running_completed_or_cancelled_execution_changes_nothing(
    open_engine: OpenEngine,
) -> None:
    async with open_engine(app) as engine:
        running = await engine.start(gated)
        await wait_for_event(running, "WORKFLOW_SUSPENDED")
        done = await engine.start(two_steps)
        await done.result(timeout=10)
        cancelled = await engine.start(gated)
        await engine.cancel(cancelled.id)
        await run_to_end(cancelled)
        for h in (running, done, cancelled):
            before = await engine.get(h.id)
            with pytest.raises(rs.InvalidState, match=f"is {before.status}"):
                await engine.retry(h.id)
            after = await engine.get(h.id)
            assert (after.status, after.last_seq) == (before.status, before.last_seq)
        with pytest.raises(rs.ExecutionNotFound):
            await engine.retry("018f0000-0000-7000-8000-000000000000")
        await engine.resolve_promise(running.id, "go", 1)
        assert await running.result(timeout=5) == 1


async def test_two_concurrent_retries_one_wins(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(two_steps)
        old = await failed(engine, h)
        FAIL_UNTIL["second"] = 0
        outcomes = await asyncio.gather(
            engine.retry(h.id), engine.retry(h.id), return_exceptions=True
        )
        assert sorted(map(repr, outcomes))[0] == "1"
        assert sum(isinstance(o, rs.InvalidState) for o in outcomes) == 1
        await h.result(timeout=10)
        log = await run_to_end(h)
    assert after_seq(log, len(old)).count("RETRY_REQUESTED") == 1


@app.workflow()
async def kid(ctx: rs.WorkflowContext, name: str) -> str:
    await ctx.task(step, f"{name}-prep")
    return await ctx.task(fragile, name)


@app.workflow()
async def parent(ctx: rs.WorkflowContext) -> list[str]:
    first = await ctx.task(step, "first")
    child = await ctx.child(kid, "kid")
    return [first, child]


async def test_a_failed_child_is_retried_in_place(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["kid"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(parent)
        old = await failed(engine, h)
        assert old[-1].data["error"].startswith("ChildWorkflowFailed")
        (child_id,) = [c.id for c in (await engine.get(h.id)).children]
        child_old = await run_to_end(engine.handle(child_id))
        FAIL_UNTIL["kid"] = 0
        assert await engine.retry(h.id) == 1
        assert await h.result(timeout=10) == ["first", "kid@3"]
        log = await run_to_end(h)
        child_log = await run_to_end(engine.handle(child_id))
        snap = await engine.get(h.id)
    assert [c.id for c in snap.children] == [child_id], "retried in place, not started anew"
    assert RUNS == {"first": 1, "kid-prep": 1, "kid": 3}
    assert after_seq(log, len(old))[0] == "RETRY_REQUESTED"
    assert "CHILD_WORKFLOW_COMPLETED" in after_seq(log, len(old))
    assert types(log).count("CHILD_WORKFLOW_INITIATED") == 1
    assert [ev.seq for ev in child_log] == list(range(1, len(child_log) + 1))
    child_retry = child_log[len(child_old)]
    assert child_retry.type == "RETRY_REQUESTED"
    assert child_retry.data["targetId"] == child_id and child_retry.data["attempt"] == 1
    assert child_log[-1].type == "WORKFLOW_COMPLETED"


async def test_a_standalone_task_execution_is_retried(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["solo"] = 2
    async with open_engine(app) as engine:
        h = await engine.start_task(fragile, "solo")
        old = await failed(engine, h)
        assert old[-1].type == "TASK_FAILED" and old[-1].is_terminal
        FAIL_UNTIL["solo"] = 0
        assert await engine.retry(h.id) == 1
        assert await h.result(timeout=10) == "solo@3"
        log = await run_to_end(h)
        snap = await engine.get(h.id)
    assert after_seq(log, len(old)) == ["RETRY_REQUESTED", "TASK_STARTED", "TASK_COMPLETED"]
    assert log[len(old)].data["targetType"] == "task"
    assert snap.tasks[0].execution_count == 3 and snap.status == rs.Status.COMPLETED


async def test_a_stream_resumed_after_the_old_terminal_event_gets_the_retry(
    open_engine: OpenEngine,
) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(two_steps)
        old = await failed(engine, h)
        assert [ev async for ev in h.stream(after=len(old))] == []  # finished: nothing more
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        resumed = [ev async for ev in h.stream(after=len(old))]
        assert resumed[0].type == "RETRY_REQUESTED" and resumed[0].seq == len(old) + 1
        assert resumed[-1].type == "WORKFLOW_COMPLETED"
        # A replay from the start goes through the old terminal event to the new one.
        assert types(await run_to_end(h)).count("WORKFLOW_FAILED") == 1


@app.workflow()
async def side_by_side(ctx: rs.WorkflowContext) -> list[str]:
    """A quick task done before the failure, a slow one still running when it comes."""
    done = await ctx.task(step, "done-before")
    results = await asyncio.gather(ctx.task(slow, "slow"), ctx.task(fragile, "second"))
    return [done, *results]


async def test_what_the_failure_cancelled_runs_again(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app, lease_timeout=1.0) as engine:
        h = await engine.start(side_by_side)
        old = await failed(engine, h)
        assert "TASK_CANCELLED" in types(old)
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        assert await h.result(timeout=10) == ["done-before", "slow", "second@3"]
        log = await run_to_end(h)
    assert RUNS["done-before"] == 1
    new = [ev for ev in log if ev.seq > len(old)]
    restarted = {ev.data["kind"] for ev in new if ev.type == "TASK_STARTED"}
    assert restarted == {"slow", "fragile"}


@app.task()
async def cleanup(ctx: rs.TaskContext) -> None:
    RUNS["cleanup"] += 1


@app.workflow()
async def careful(ctx: rs.WorkflowContext) -> str:
    ctx.set_state("phase", "working")
    first = await ctx.task(step, "first")
    try:
        second = await ctx.task(fragile, "second")
    except rs.TaskFailed:
        ctx.set_state("phase", "cleaning up")
        await ctx.task(cleanup)
        raise
    return f"{first}+{second}"


async def test_what_the_code_did_after_the_failure_is_rewound(open_engine: OpenEngine) -> None:
    """The failed task is found through the re-raise; the cleanup after it is forgotten."""
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(careful)
        await failed(engine, h)
        assert (await engine.get(h.id)).state == {"phase": "cleaning up"}
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        await wait_for_event(h, "WORKFLOW_SUSPENDED")
        assert (await engine.get(h.id)).state == {"phase": "working"}
        assert await h.result(timeout=10) == "first+second@3"
    assert RUNS == {"first": 1, "second": 3, "cleanup": 1}


@app.workflow()
async def buggy(ctx: rs.WorkflowContext) -> str:
    first = await ctx.task(step, "first")
    if "workflow" in BUGS:
        raise ValueError("bug in the workflow code")
    stamp = await ctx.operation("stamp", _stamp)
    return f"{first}:{stamp}"


def _stamp() -> str:
    RUNS["stamp"] += 1
    if "operation" in BUGS:
        raise RuntimeError("bug in the operation")
    return "stamped"


@pytest.mark.parametrize("bug", ["workflow", "operation"])
async def test_fixed_workflow_or_operation_code_runs_on(open_engine: OpenEngine, bug: str) -> None:
    BUGS.add(bug)
    async with open_engine(app) as engine:
        h = await engine.start(buggy)
        old = await failed(engine, h)
        assert "bug in the" in old[-1].data["error"]
        BUGS.clear()
        await engine.retry(h.id)
        assert await h.result(timeout=10) == "first:stamped"
    assert RUNS["first"] == 1
    assert RUNS["stamp"] == (2 if bug == "operation" else 1)


@app.workflow()
async def sleeps_meanwhile(ctx: rs.WorkflowContext) -> list[Any]:
    """A timer still running when the task fails: cancelled with the workflow, armed again."""
    return list(await asyncio.gather(ctx.sleep(0.3), ctx.task(fragile, "second")))


async def test_a_timer_cancelled_by_the_failure_is_armed_again(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(sleeps_meanwhile)
        old = await failed(engine, h)
        assert "TIMER_CANCELLED" in types(old)
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        assert await h.result(timeout=10) == [None, "second@3"]
        log = await run_to_end(h)
    started = next(ev for ev in log if ev.type == "TIMER_STARTED")
    fired = [ev for ev in log if ev.type == "TIMER_FIRED"]
    assert len(fired) == 1 and fired[0].ts >= started.data["fireAtMs"]


@app.workflow()
async def asks_for_help(ctx: rs.WorkflowContext) -> Any:
    try:
        await ctx.task(fragile, "second")
    except rs.TaskFailed:
        ctx.set_state("help", await ctx.receive())  # the handler consumes a message
        raise
    return await ctx.receive()


async def test_a_message_consumed_after_the_failure_is_delivered_again(
    open_engine: OpenEngine,
) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(asks_for_help)
        await wait_for_event(h, "TASK_FAILED")
        await engine.send_message(h.id, {"note": "try again"})
        await failed(engine, h)
        assert (await engine.get(h.id)).state == {"help": {"note": "try again"}}
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        assert await h.result(timeout=10) == {"note": "try again"}
        assert (await engine.get(h.id)).state == {}


@app.workflow()
async def napper(ctx: rs.WorkflowContext) -> str:
    await ctx.task(step, "nap-prep")
    await ctx.sleep(1.5)  # still asleep when the sibling has failed twice, on any backend
    return "rested"


@app.workflow()
async def fan_out(ctx: rs.WorkflowContext) -> list[Any]:
    """A child still running when a sibling task fails: the failure cancels it."""
    return list(await asyncio.gather(ctx.child(napper), ctx.task(fragile, "second")))


async def test_a_child_the_failure_cancelled_is_retried_in_place(open_engine: OpenEngine) -> None:
    FAIL_UNTIL["second"] = 2
    async with open_engine(app) as engine:
        h = await engine.start(fan_out)
        await failed(engine, h)
        (child_id,) = [c.id for c in (await engine.get(h.id)).children]
        child_old = await run_to_end(engine.handle(child_id))
        assert child_old[-1].type == "WORKFLOW_CANCELLED"
        FAIL_UNTIL["second"] = 0
        await engine.retry(h.id)
        assert await h.result(timeout=10) == ["rested", "second@3"]
        child_log = await run_to_end(engine.handle(child_id))
    assert RUNS["nap-prep"] == 1
    tail = after_seq(child_log, len(child_old))
    assert tail[0] == "RETRY_REQUESTED" and tail[-1] == "WORKFLOW_COMPLETED"
    assert "TIMER_FIRED" in tail
