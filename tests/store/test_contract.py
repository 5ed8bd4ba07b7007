"""The store contract (``store/base.py``), method by method, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from runstream.errors import ExecutionNotFound, InvalidState, LeaseLost
from runstream.model import ExecutionType, NewEvent, RetryPolicy, Status, new_id
from runstream.store.base import Store
from runstream.store.records import Activation, Command, Leased, NewExecution, Outcome
from tests.store.conftest import Recorder, ids_of, new_task, new_workflow

Fixture = tuple[Store, Recorder]


# -- executions ------------------------------------------------------------------------------


async def test_create_workflow_logs_created_and_wakes_activations(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    assert rec.types(wf) == ["WORKFLOW_CREATED"]
    assert "workflows" in rec.woken
    snap = await s.get_snapshot(wf)
    assert (snap.kind, snap.type, snap.status, snap.input) == (
        "flow",
        ExecutionType.WORKFLOW,
        Status.PENDING,
        {"x": 1},
    )
    assert snap.last_seq == 1


async def test_create_task_logs_created_in_its_own_log(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s)
    assert rec.types(task_id) == ["TASK_CREATED"]
    assert "tasks" in rec.woken
    snap = await s.get_snapshot(task_id)
    assert snap.type == ExecutionType.TASK and [t.id for t in snap.tasks] == [task_id]


@pytest.mark.parametrize("type", [ExecutionType.WORKFLOW, ExecutionType.TASK])
async def test_create_answers_with_the_snapshot_a_read_would_give(
    store: Fixture, type: ExecutionType
) -> None:
    s, _ = store
    new = NewExecution(new_id(), "acme", "flow", type, {"x": [1, 2]}, max_retries=3)
    created = await s.create_execution(new)
    assert created.snapshot == await s.get_snapshot(new.id)
    assert created.leased is None


async def test_a_workflow_created_leased_needs_no_claim(store: Fixture) -> None:
    """The starting process's worker gets the new workflow in the creating transaction."""
    s, rec = store
    new = NewExecution(new_id(), "acme", "flow", ExecutionType.WORKFLOW, {"x": 1})
    created = await s.create_execution(new, lease_to="here", lease=5)
    assert created.snapshot.status == Status.PENDING  # as created, before its lease
    assert created.leased == Leased(new.id, await s.load_history(new.id))
    assert rec.types(new.id) == ["WORKFLOW_CREATED", "WORKFLOW_STARTED"]
    assert rec.events[-1].data["workerId"] == "here"
    assert "workflows" not in rec.woken  # nobody else needs to look
    assert await s.claim_workflows("other", 10, lease=5) == []
    snap = await s.get_snapshot(new.id)
    assert (snap.status, snap.last_seq) == (Status.RUNNING, 2)


async def test_unknown_execution_is_not_found(store: Fixture) -> None:
    s, _ = store
    for read in (s.get_snapshot, s.log_position):
        with pytest.raises(ExecutionNotFound):
            await read(new_id())
    assert await s.read_events(new_id(), 0, 10) == []


async def test_log_position_is_status_and_newest_seq(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    await s.append_events([NewEvent(wf, "token", "a"), NewEvent(wf, "token", "b")])
    assert await s.log_position(wf) == (Status.PENDING, 3)


async def test_log_positions_reads_many_logs_at_once(store: Fixture) -> None:
    s, _ = store
    a, b = await new_workflow(s), await new_task(s)
    await s.append_events([NewEvent(a, "token", "x")])
    assert await s.log_positions([a, b, new_id()]) == {a: 2, b: 1}
    assert await s.log_positions([]) == {}


async def test_list_executions_filters_pages_and_rejects_bad_cursors(store: Fixture) -> None:
    s, _ = store
    flows = [await new_workflow(s, kind="a" if i % 2 else "b") for i in range(5)]
    await new_workflow(s, org="other")
    await new_task(s)
    page, cursor = await s.list_executions(
        org="default", type=ExecutionType.WORKFLOW, status=None, kind=None, limit=3, cursor=None
    )
    assert [p.id for p in page] == flows[::-1][:3] and cursor == page[-1].id
    rest, end = await s.list_executions(
        org="default", type=ExecutionType.WORKFLOW, status=None, kind=None, limit=3, cursor=cursor
    )
    assert [p.id for p in rest] == flows[::-1][3:] and end is None
    only_a, _ = await s.list_executions(
        org="default", type=ExecutionType.WORKFLOW, status=Status.PENDING, kind="a", limit=10,
        cursor=None,
    )  # fmt: skip
    assert {p.id for p in only_a} == {flows[1], flows[3]}
    done, _ = await s.list_executions(
        org="default", type=ExecutionType.WORKFLOW, status=Status.COMPLETED, kind=None,
        limit=10, cursor=None,
    )  # fmt: skip
    assert done == []


async def test_read_events_pages_after_a_seq(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    await s.append_events([NewEvent(wf, "token", str(i)) for i in range(10)])
    page = await s.read_events(wf, 3, 4)
    assert [e.seq for e in page] == [4, 5, 6, 7]
    assert [e.data for e in page] == ["2", "3", "4", "5"]
    assert all(e.ts > 0 and e.execution_id == wf for e in page)


async def test_read_events_pages_can_be_bounded_in_bytes(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    await s.append_events([NewEvent(wf, "data", "x" * 1000) for _ in range(10)])
    assert len(await s.read_events(wf, 0, 100)) == 11
    bounded = await s.read_events(wf, 1, 100, max_bytes=3500)
    assert [e.seq for e in bounded] == [2, 3, 4]
    # At least one event, however large, so a reader always moves on.
    assert [e.seq for e in await s.read_events(wf, 1, 100, max_bytes=10)] == [2]
    assert len(await s.read_events(wf, 1, 5, max_bytes=1 << 20)) == 5


async def test_list_pages_are_summaries(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    page, _ = await s.list_executions(
        org="default", type=ExecutionType.WORKFLOW, status=None, kind=None, limit=5, cursor=None
    )
    assert [p.id for p in page] == [wf]
    assert page[0].input is None and page[0].output is None
    assert (await s.get_snapshot(wf)).input is not None


async def test_append_events_keeps_order_and_tags(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await asyncio.gather(
        *(s.append_events([NewEvent(wf, "token", f"{i}", "t1", 2)]) for i in range(50))
    )
    events = await s.read_events(wf, 1, 100)
    assert [e.data for e in events] == [str(i) for i in range(50)]
    assert [e.seq for e in events] == list(range(2, 52))
    assert {(e.task_id, e.attempt) for e in events} == {("t1", 2)}
    assert [e.seq for e in rec.events if e.execution_id == wf] == list(range(1, 52))


async def test_closed_log_takes_no_more_events(store: Fixture) -> None:
    s, _ = store
    task_id = await new_task(s, retries=0)
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 1, "w", output=1)
    await s.append_events([NewEvent(task_id, "token", "too late", task_id, 1)])
    events = await s.read_events(task_id, 0, 100)
    assert events[-1].type == "TASK_COMPLETED" and events[-1].is_terminal


async def test_failed_operation_rolls_back_alone(store: Fixture) -> None:
    s, _ = store
    task_id = await new_task(s)
    results = await asyncio.gather(
        s.settle_promise(task_id, "p", value=1),  # a task has no promises: InvalidState
        s.append_events([NewEvent(task_id, "data", {"kept": True})]),
        return_exceptions=True,
    )
    assert isinstance(results[0], InvalidState) and results[1] is None
    events = await s.read_events(task_id, 0, 100)
    assert [ev.type for ev in events] == ["TASK_CREATED", "data"]


# -- requests from outside -------------------------------------------------------------------


async def test_cancel_of_a_pending_task_ends_it_at_once(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s)
    await s.request_cancel(task_id, "no longer needed")
    await s.request_cancel(task_id, "again")  # idempotent
    assert rec.types(task_id) == ["TASK_CREATED", "CANCELLATION_REQUESTED", "TASK_CANCELLED"]
    snap = await s.get_snapshot(task_id)
    assert snap.status == Status.CANCELLED and snap.error == "no longer needed"
    claims, _ = await s.claim_tasks("w", 10, lease=5)
    assert claims == []


async def test_cancel_of_an_unstarted_workflow_ends_it(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.request_cancel(wf, "stop")
    assert rec.types(wf)[-2:] == ["CANCELLATION_REQUESTED", "WORKFLOW_CANCELLED"]
    assert await s.claim_workflows("w", 10, lease=5) == []
    with pytest.raises(ExecutionNotFound):
        await s.request_cancel(new_id(), None)


async def test_messages_queue_for_workflows_only(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.post_message(wf, "m1", {"text": "hi"})
    assert rec.types(wf)[-1] == "MESSAGE_RECEIVED"
    assert rec.events[-1].data == {"messageId": "m1"}
    task_id = await new_task(s)
    with pytest.raises(InvalidState):
        await s.post_message(task_id, "m2", "x")
    await s.request_cancel(wf, None)
    with pytest.raises(InvalidState):
        await s.post_message(wf, "m3", "late")


async def test_promises_are_first_write_wins(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.settle_promise(wf, "approval", value={"ok": True})  # before the workflow awaits
    await s.settle_promise(wf, "approval", value={"ok": True})  # the same write again: no-op
    with pytest.raises(InvalidState):
        await s.settle_promise(wf, "approval", error="too late")
    assert rec.types(wf)[1:] == ["PROMISE_CREATED", "PROMISE_RESOLVED"]
    snap = await s.get_snapshot(wf)
    assert [(p.name, p.status, p.value) for p in snap.promises] == [
        ("approval", "RESOLVED", {"ok": True})
    ]


# -- workflow activations --------------------------------------------------------------------


async def test_an_activation_round_trip(store: Fixture) -> None:
    """claim → history → commit a task → the task completes → claim again → complete."""
    s, rec = store
    wf = await new_workflow(s)
    [leased] = await s.claim_workflows("w", 10, lease=5)
    assert await s.claim_workflows("other", 10, lease=5) == []  # leased
    await s.heartbeat_workflows("w", [wf], lease=5)
    history = await s.load_history(wf)
    assert (history.kind, history.input, history.last_batch, history.steps) == (
        "flow",
        {"x": 1},
        -1,
        [],
    )
    assert leased == Leased(wf, history)  # it never ran: the claim knows its whole history
    task_id = new_id()
    committed = await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=0,
            commands=[
                Command("task", 1, "work", {"n": 2}, task_id, retry_policy=RetryPolicy()),
                Command("state", 2, "phase", "working"),
            ],
            suspend_type="task",
        )
    )
    assert committed.ready == [] and committed.claims == []
    assert (await s.get_snapshot(wf)).status == Status.WAITING
    claims, _ = await s.claim_tasks("w", 10, lease=5)
    assert [(c.id, c.execution_id, c.workflow_id, c.input) for c in claims] == [
        (task_id, wf, wf, {"n": 2})
    ]
    resumed = await s.finish_task(task_id, 1, "w", output="done", resume_for="w")
    history = await s.load_history(wf)
    assert [(st.step, st.kind, st.status, st.result) for st in history.steps] == [
        (1, "task", "done", "done"),
        (2, "state", "done", "working"),  # a state step keeps its value
    ]
    # The lease brings what is new since batch 0: the step a read shows resolved, unfed.
    assert resumed is not None and resumed.execution_id == wf and resumed.history is not None
    assert not resumed.history.complete and resumed.history.last_batch == 0
    assert resumed.history.steps == [st for st in history.steps if st.batch is None]
    with pytest.raises(LeaseLost):
        await s.commit_activation(Activation(wf, "intruder", batch=1, fed=[1]))
    await s.commit_activation(
        Activation(wf, "w", batch=1, fed=[1], outcome=Outcome(Status.COMPLETED, output=42))
    )
    snap = await s.get_snapshot(wf)
    assert (snap.status, snap.output, snap.state) == (Status.COMPLETED, 42, {"phase": "working"})
    assert rec.types(wf) == [
        "WORKFLOW_CREATED",
        "WORKFLOW_STARTED",
        "TASK_CREATED",
        "STATE_SET",
        "WORKFLOW_SUSPENDED",
        "TASK_STARTED",
        "TASK_COMPLETED",
        "WORKFLOW_RESUMED",
        "WORKFLOW_COMPLETED",
    ]


async def test_commit_hands_ready_steps_back_and_keeps_the_lease(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    await s.settle_promise(wf, "go", value="now")
    await s.claim_workflows("w", 1, lease=5)
    committed = await s.commit_activation(
        Activation(wf, "w", batch=0, commands=[Command("promise", 1, "go")])
    )
    assert [(st.step, st.status, st.result) for st in committed.ready] == [(1, "done", "now")]
    assert (await s.get_snapshot(wf)).status == Status.RUNNING  # still leased


async def test_commit_can_start_the_new_tasks_on_its_worker(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    ids = [new_id() for _ in range(3)]
    committed = await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=0,
            commands=[Command("task", i + 1, "work", None, ref) for i, ref in enumerate(ids)],
            claim_tasks=2,
        )
    )
    assert [c.id for c in committed.claims] == ids[:2]
    assert [c.attempt for c in committed.claims] == [1, 1]
    claims, _ = await s.claim_tasks("other", 10, lease=5)
    assert [c.id for c in claims] == ids[2:]
    created = [e.data for e in rec.events if e.type == "TASK_CREATED"]
    assert [(d["status"], d["executionCount"], d["workerId"]) for d in created] == [
        ("PENDING", 0, None)
    ] * 3
    started = [(e.task_id, e.data["workerId"]) for e in rec.events if e.type == "TASK_STARTED"]
    assert started == [(ids[0], "w"), (ids[1], "w"), (ids[2], "other")]


async def test_a_completion_for_a_workflow_leased_meanwhile_makes_it_ready(
    store: Fixture,
) -> None:
    """Two parallel tasks: the first completion leases the workflow; the second finds it
    leased, so it makes it ready, and the activation holding the lease is handed its step
    when it commits (it would otherwise release the workflow and never see the step)."""
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    first, second = new_id(), new_id()
    committed = await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=0,
            commands=[
                Command("task", 1, "work", None, first),
                Command("task", 2, "work", None, second),
            ],
            suspend_type="task",
            claim_tasks=2,
        )
    )
    assert [c.id for c in committed.claims] == [first, second]
    resumed = await s.finish_task(first, 1, "w", output="one", resume_for="w")
    assert resumed is not None and resumed.history is not None
    assert [st.step for st in resumed.history.steps] == [1]
    rec.wakes.clear()
    assert await s.finish_task(second, 1, "w", output="two", resume_for="w") is None
    assert "workflows" in rec.woken
    committed = await s.commit_activation(Activation(wf, "w", batch=1, fed=[1]))
    assert [(st.step, st.result) for st in committed.ready] == [(2, "two")]
    assert (await s.get_snapshot(wf)).status == Status.RUNNING  # the lease was kept


async def test_expired_workflow_lease_is_claimable_again(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    await s.claim_workflows("dead", 1, lease=0.05)
    await asyncio.sleep(0.1)
    await s.expire_leases()
    assert ids_of(await s.claim_workflows("alive", 1, lease=5)) == [wf]


# -- tasks -----------------------------------------------------------------------------------


async def test_claims_report_when_the_next_task_is_due(store: Fixture) -> None:
    s, _ = store
    task_id = await new_task(s)
    claims, next_due = await s.claim_tasks("w", 1, lease=5)
    assert [c.id for c in claims] == [task_id] and next_due is None
    await s.finish_task(task_id, 1, "w", error="boom")  # retried at once (interval 0)
    claims, _ = await s.claim_tasks("w", 1, lease=5)
    assert claims[0].attempt == 2


async def test_failures_retry_then_fail_for_good(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s, retries=1)
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 1, "w", error="first")
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 2, "w", error="second")
    failed = [e for e in rec.events if e.type == "TASK_FAILED"]
    assert [(e.attempt, e.data["willRetry"]) for e in failed] == [(1, True), (2, False)]
    snap = await s.get_snapshot(task_id)
    assert (snap.status, snap.error) == (Status.FAILED, "second")


async def test_non_retryable_failure_skips_remaining_retries(store: Fixture) -> None:
    s, _ = store
    task_id = await new_task(s, retries=5)
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 1, "w", error="bad input", retryable=False)
    assert (await s.get_snapshot(task_id)).status == Status.FAILED


async def test_finish_appends_the_buffered_events_first(store: Fixture) -> None:
    s, _ = store
    task_id = await new_task(s)
    await s.claim_tasks("w", 1, lease=5)
    tokens = [NewEvent(task_id, "token", t, task_id, 1) for t in ("a", "b")]
    await s.finish_task(task_id, 1, "w", output="ab", events=tokens)
    events = await s.read_events(task_id, 0, 10)
    assert [e.type for e in events][-3:] == ["token", "token", "TASK_COMPLETED"]


async def test_heartbeats_report_the_leases_a_worker_lost(store: Fixture) -> None:
    s, _ = store
    kept, cancelled = await new_task(s), await new_task(s)
    await s.claim_tasks("w", 2, lease=5)
    await s.request_cancel(cancelled, None)
    assert await s.heartbeat_tasks("w", {kept: 1, cancelled: 1}, lease=5) == {cancelled}
    assert await s.heartbeat_tasks("someone-else", {kept: 1}, lease=5) == {kept}


async def test_late_completion_from_expired_lease_is_rejected(store: Fixture) -> None:
    s, rec = store
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
    assert rec.types(task_id) == [
        "TASK_CREATED",
        "TASK_STARTED",
        "TASK_FAILED",
        "TASK_STARTED",
        "TASK_COMPLETED",
    ]


async def test_a_lost_worker_spends_no_retry(store: Fixture) -> None:
    """SPEC §4: a lease expiry is not the task's fault; a ``retries=0`` task runs again."""
    s, rec = store
    task_id = await new_task(s, retries=0)
    await s.claim_tasks("lost", 1, lease=0.05)
    await asyncio.sleep(0.1)
    await s.expire_leases()
    claims, _ = await s.claim_tasks("alive", 1, lease=5)
    assert [(c.id, c.attempt) for c in claims] == [(task_id, 2)]
    failed = next(e for e in rec.events if e.type == "TASK_FAILED")
    assert failed.data["willRetry"] is True and failed.data["workerLost"] is True
    assert "lease expired" in failed.data["error"]
    # The retry budget is intact: an ordinary failure of attempt 2 ends it (retries=0).
    await s.finish_task(task_id, 2, "alive", error="boom")
    assert (await s.get_snapshot(task_id)).status == Status.FAILED


async def test_a_task_that_keeps_losing_workers_fails_at_the_recovery_limit(
    store: Fixture,
) -> None:
    s, rec = store
    task_id = await new_task(s, retries=5)
    for _ in range(3):
        claims, _ = await s.claim_tasks("lost", 1, lease=0.01)
        assert [c.id for c in claims] == [task_id]
        await asyncio.sleep(0.03)
        await s.expire_leases(recovery_limit=2)
    snap = await s.get_snapshot(task_id)
    assert snap.status == Status.FAILED and snap.error is not None
    assert snap.error.startswith("worker lost")
    assert rec.types(task_id).count("TASK_STARTED") == 3
    assert rec.types(task_id)[-1] == "TASK_FAILED"
    assert (await s.claim_tasks("w", 1, lease=5))[0] == []


async def test_a_task_may_refuse_to_start_over_after_losing_its_worker(store: Fixture) -> None:
    """``recoveries=0`` (Claude Code sessions): a lost worker ends the task."""
    s, _ = store
    task_id = new_id()
    await s.create_execution(
        NewExecution(task_id, "default", "work", ExecutionType.TASK, None, max_recoveries=0)
    )
    await s.claim_tasks("lost", 1, lease=0.01)
    await asyncio.sleep(0.03)
    await s.expire_leases()
    snap = await s.get_snapshot(task_id)
    assert snap.status == Status.FAILED and snap.error is not None
    assert snap.error.startswith("worker lost: lease expired")


async def test_a_stopping_worker_hands_back_its_leases_at_once(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s, retries=0)
    wf = await new_workflow(s)
    await s.claim_tasks("stopping", 1, lease=300)
    assert ids_of(await s.claim_workflows("stopping", 1, lease=300)) == [wf]
    await s.release_leases("someone-else", {task_id: 1}, [wf])  # holds nothing: no-op
    assert (await s.claim_tasks("next", 1, lease=5))[0] == []
    await s.release_leases("stopping", {task_id: 1}, [wf])
    claims, _ = await s.claim_tasks("next", 1, lease=5)
    assert [(c.id, c.attempt) for c in claims] == [(task_id, 2)]
    assert ids_of(await s.claim_workflows("next", 1, lease=5)) == [wf]
    failed = next(e for e in rec.events if e.type == "TASK_FAILED")
    assert failed.data["willRetry"] and "stopped" in failed.data["error"]


async def test_concurrent_claims_never_share_a_task(store: Fixture) -> None:
    s, _ = store
    ids = {await new_task(s) for _ in range(30)}
    batches = await asyncio.gather(*(s.claim_tasks(f"w{i}", 7, lease=5) for i in range(6)))
    claimed = [c.id for claims, _ in batches for c in claims]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == ids


# -- manual retry ----------------------------------------------------------------------------


async def test_retry_reopens_a_failed_task_with_a_fresh_budget(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s, retries=1)
    for attempt in (1, 2):
        await s.claim_tasks("w", 1, lease=5)
        await s.finish_task(task_id, attempt, "w", error=f"broke {attempt}")
    assert (await s.get_snapshot(task_id)).status == Status.FAILED
    assert await s.retry_execution(task_id, "fixed") == 1
    assert rec.types(task_id)[-2:] == ["TASK_FAILED", "RETRY_REQUESTED"]
    assert rec.events[-1].data == {
        "targetId": task_id,
        "targetType": "task",
        "attempt": 1,
        "reason": "fixed",
    }
    snap = await s.get_snapshot(task_id)
    assert (snap.status, snap.error, snap.last_seq) == (Status.PENDING, None, 6)
    claims, _ = await s.claim_tasks("w", 1, lease=5)
    assert claims[0].attempt == 3
    await s.finish_task(task_id, 3, "w", error="once more")  # within the fresh budget
    assert rec.events[-1].data["willRetry"] is True
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 4, "w", output="ok")
    events = await s.read_events(task_id, 0, 100)
    assert [e.seq for e in events] == list(range(1, 11))
    assert events[-1].type == "TASK_COMPLETED" and events[-1].is_terminal


async def test_retry_is_refused_unless_failed(store: Fixture) -> None:
    s, rec = store
    pending = await new_task(s)
    wf = await new_workflow(s)
    done = await new_task(s, retries=0)
    await s.claim_tasks("w", 10, lease=5)
    await s.finish_task(done, 1, "w", output=1)
    for execution_id in (pending, wf, done):
        before = await s.get_snapshot(execution_id)
        with pytest.raises(InvalidState, match="only a FAILED execution"):
            await s.retry_execution(execution_id, None)
        after = await s.get_snapshot(execution_id)
        assert (after.status, after.last_seq) == (before.status, before.last_seq)
    with pytest.raises(ExecutionNotFound):
        await s.retry_execution(new_id(), None)
    assert "RETRY_REQUESTED" not in {e.type for e in rec.events}


async def test_of_two_concurrent_retries_one_wins(store: Fixture) -> None:
    s, rec = store
    task_id = await new_task(s, retries=0)
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(task_id, 1, "w", error="broke")
    outcomes = await asyncio.gather(
        *(s.retry_execution(task_id, None) for _ in range(2)), return_exceptions=True
    )
    assert 1 in outcomes and sum(isinstance(o, InvalidState) for o in outcomes) == 1
    assert rec.types(task_id).count("RETRY_REQUESTED") == 1


async def test_retry_rewinds_a_workflow_to_before_its_failure(store: Fixture) -> None:
    """Task 1 succeeded; task 2 failed for good; the code then set state and failed. The
    retry keeps task 1, makes step 2 pending with its task due again, and forgets what the
    code did after the failure (step 3, and the state it set)."""
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    first, second = new_id(), new_id()
    await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=0,
            commands=[Command("task", 1, "work", None, first), Command("state", 2, "k", "v0")],
            suspend_type="task",
        )
    )
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(first, 1, "w", output="one", resume_for="w")
    await s.commit_activation(
        Activation(wf, "w", batch=1, fed=[1], commands=[Command("task", 3, "work", None, second)])
    )
    await s.claim_tasks("w", 1, lease=5)
    await s.finish_task(second, 1, "w", error="broke", resume_for="w")
    await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=2,
            fed=[3],
            commands=[Command("state", 4, "k", "failed")],
            outcome=Outcome(Status.FAILED, error="TaskFailed", step=3),
        )
    )
    assert (await s.get_snapshot(wf)).state == {"k": "failed"}
    failed_at = (await s.log_position(wf))[1]

    assert await s.retry_execution(wf, None) == 1
    assert rec.types(wf)[-2:] == ["WORKFLOW_FAILED", "RETRY_REQUESTED"]
    history = await s.load_history(wf)
    assert (history.last_batch, history.retries) == (1, 1)
    assert [(st.step, st.status, st.batch, st.result) for st in history.steps] == [
        (1, "done", 1, "one"),
        (2, "done", 0, "v0"),
        (3, "pending", None, None),
    ]
    snap = await s.get_snapshot(wf)
    assert (snap.status, snap.error, snap.state) == (Status.PENDING, None, {"k": "v0"})
    claims, _ = await s.claim_tasks("w", 10, lease=5)
    assert [(c.id, c.attempt) for c in claims] == [(second, 2)]
    assert ids_of(await s.claim_workflows("w", 1, lease=5)) == [wf]
    events = await s.read_events(wf, failed_at, 10)
    assert [e.type for e in events] == ["RETRY_REQUESTED", "TASK_STARTED", "WORKFLOW_STARTED"]
    assert [e.seq for e in events] == [failed_at + 1, failed_at + 2, failed_at + 3]
    with pytest.raises(InvalidState):
        await s.retry_execution(wf, None)  # running again


# -- timers ----------------------------------------------------------------------------------


async def test_timers_fire_once_at_their_deadline(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    timer = new_id()
    await s.commit_activation(
        Activation(
            wf, "w", batch=0, commands=[Command("sleep", 1, "sleep", ref=timer, seconds=0.2)]
        )
    )
    started = next(e for e in rec.events if e.type == "TIMER_STARTED")
    next_at = await s.fire_timers()
    assert next_at is not None and abs(next_at * 1000 - started.data["fireAtMs"]) < 1
    await asyncio.sleep(0.25)
    assert list(await asyncio.gather(s.fire_timers(), s.fire_timers())) == [None, None]
    assert rec.types(wf).count("TIMER_FIRED") == 1
    assert (await s.load_history(wf)).steps[0].status == "done"


async def test_wait_timeouts_resolve_the_step_without_an_event(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    await s.commit_activation(
        Activation(wf, "w", batch=0, commands=[Command("receive", 1, "message", seconds=0.05)])
    )
    await asyncio.sleep(0.1)
    await s.fire_timers()
    step = (await s.load_history(wf)).steps[0]
    assert (step.status, step.error) == ("timeout", "timed out")
    assert "TIMER_FIRED" not in rec.types(wf)


# -- children --------------------------------------------------------------------------------


async def test_children_are_listed_in_creation_order(store: Fixture) -> None:
    s, rec = store
    wf = await new_workflow(s)
    await s.claim_workflows("w", 1, lease=5)
    kids = [new_id(), new_id()]
    await s.commit_activation(
        Activation(
            wf,
            "w",
            batch=0,
            commands=[Command("child", i + 1, "kid", i, ref) for i, ref in enumerate(kids)],
        )
    )
    assert await s.children_of(wf) == kids
    assert rec.types(wf).count("CHILD_WORKFLOW_INITIATED") == 2
    child = await s.get_snapshot(kids[1])
    assert (child.parent_id, child.kind, child.input) == (wf, "kid", 1)
    assert rec.types(kids[0]) == ["WORKFLOW_CREATED"]


async def test_a_new_execution_needs_a_unique_id(store: Fixture) -> None:
    s, _ = store
    wf = await new_workflow(s)
    with pytest.raises(Exception) as caught:
        await s.create_execution(NewExecution(wf, "default", "x", ExecutionType.WORKFLOW, None))
    assert type(caught.value).__name__ == "StoreError"


# -- figures ---------------------------------------------------------------------------------


async def test_figures_count_what_waits_and_what_runs(store: Fixture) -> None:
    s, _ = store
    empty = await s.figures()
    assert (empty.executions, empty.runnable_tasks, empty.running_tasks, empty.workers) == (
        {},
        0,
        0,
        0,
    )
    await new_workflow(s)
    first = await new_task(s)
    await new_task(s)
    await new_task(s)
    await s.claim_tasks("w", 1, lease=5)
    await asyncio.sleep(0.05)
    figures = await s.figures()
    assert figures.executions == {
        ("workflow", "PENDING"): 1,
        ("task", "PENDING"): 2,
        ("task", "RUNNING"): 1,
    }
    assert (figures.runnable_tasks, figures.running_tasks, figures.workers) == (2, 1, 1)
    assert 0.04 <= figures.oldest_runnable_age < 5
    await s.finish_task(first, 1, "w", output=None)
    assert (await s.figures()).executions[("task", "PENDING")] == 2
