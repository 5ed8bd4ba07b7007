"""The JSON calls of ``Client`` against a real server: values in, model values out, typed errors."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import runstream as rs
from runstream.client import ApiError, Client, ServerUnavailable

from .conftest import Served


async def test_start_get_result_and_list(client: Client) -> None:
    run = await client.start("echo", {"n": 1})
    assert run.kind == "echo"
    assert run.type is rs.ExecutionType.WORKFLOW
    assert await client.result(run.id) == {"n": 1}
    snapshot = await client.get(run.id)
    assert snapshot.status is rs.Status.COMPLETED
    assert snapshot.output == {"n": 1}
    assert snapshot.input == {"n": 1}
    page = await client.list_executions(kind="echo", status="completed")
    assert [s.id for s in page.items] == [run.id]
    assert (await client.list_executions(kind="echo", status=rs.Status.FAILED)).items == []


async def test_pages_of_executions(client: Client) -> None:
    ids = {(await client.start("echo", i)).id for i in range(3)}
    first = await client.list_executions(kind="echo", limit=2)
    assert len(first.items) == 2 and first.next_cursor is not None
    rest = await client.list_executions(kind="echo", limit=2, cursor=first.next_cursor)
    assert {s.id for s in first.items + rest.items} == ids


async def test_a_task_execution_is_found_without_being_told_its_type(served: Served) -> None:
    async with Client(served.url) as starter:
        run = await starter.start_task("shout", "hi")
    async with Client(served.url) as fresh:
        assert await fresh.result(run.id) == "HI"
        snapshot = await fresh.get(run.id)
        assert snapshot.type is rs.ExecutionType.TASK
        assert [t.status for t in snapshot.tasks] == [rs.Status.COMPLETED]
        assert [s.id for s in (await fresh.list_executions(task=True)).items] == [run.id]


async def test_events_page_holds_every_field(client: Client) -> None:
    run = await client.start("kinds")
    await client.result(run.id)
    page = await client.events(run.id, limit=1000)
    assert not page.has_more
    assert [e.seq for e in page.items] == list(range(1, len(page.items) + 1))
    progress = next(e for e in page.items if e.type == "progress")
    assert progress.data == {"progress": 0.75, "details": "three quarters"}
    assert progress.task_id is not None and progress.attempt == 1
    second = await client.events(run.id, after=page.items[2].seq, limit=2)
    assert second.items == page.items[3:5] and second.has_more
    assert second.next_after == page.items[4].seq


async def test_promises_messages_and_state(client: Client) -> None:
    gated = await client.start("gated")
    inbox = await client.start("inbox")
    resolved = await client.resolve_promise(gated.id, "go", {"ok": True})
    assert resolved.id == gated.id
    message_id = await client.send_message(inbox.id, {"text": "hi"})
    assert message_id
    assert await client.result(gated.id) == {"ok": True}
    assert await client.result(inbox.id) == {"text": "hi"}
    kinds = await client.start("kinds")
    await client.result(kinds.id)
    assert (await client.get(kinds.id)).state == {"phase": "reported"}


async def test_a_rejected_promise_fails_the_workflow(client: Client) -> None:
    run = await client.start("gated")
    await client.reject_promise(run.id, "go", "nope")
    with pytest.raises(rs.ExecutionFailed) as failed:
        await client.result(run.id)
    assert failed.value.status == "FAILED"
    assert "nope" in str(failed.value.error)


async def test_cancel(client: Client) -> None:
    run = await client.start("sleeper")
    await client.cancel(run.id, reason="test")
    await client.cancel(run.id)
    with pytest.raises(rs.ExecutionFailed) as failed:
        await client.result(run.id)
    assert failed.value.status == "CANCELLED"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.get("01a1fdda-7028-7221-8631-13855d8b9c8e"), rs.ExecutionNotFound),
        (lambda c: c.cancel("01a1fdda-7028-7221-8631-13855d8b9c8e"), rs.ExecutionNotFound),
        (lambda c: c.send_message("01a1fdda-7028-7221-8631-13855d8b9c8e", 1), rs.ExecutionNotFound),
        (lambda c: c.start("no-such-kind"), rs.UnknownKind),
        (lambda c: c.start_task("echo"), rs.UnknownKind),
    ],
)
async def test_typed_errors(client: Client, call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        await call(client)


async def test_bad_parameters_are_api_errors(client: Client) -> None:
    with pytest.raises(ApiError) as bad_id:
        await client.get("not-a-uuid")
    assert (bad_id.value.status, bad_id.value.code, bad_id.value.param) == (
        400,
        "invalid_parameter",
        "id",
    )
    with pytest.raises(ApiError) as bad_status:
        await client.list_executions(status="sleepy")
    assert bad_status.value.status == 400


async def test_finished_workflows_refuse_messages(client: Client) -> None:
    run = await client.start("echo", 1)
    await client.result(run.id)
    with pytest.raises(rs.InvalidState):
        await client.send_message(run.id, "late")
    with pytest.raises(rs.InvalidState):
        await client.resolve_promise(run.id, "go", 1)


async def test_other_orgs_do_not_see_the_execution(served: Served, client: Client) -> None:
    run = await client.start("echo", 1)
    async with Client(served.url, org="elsewhere") as other:
        with pytest.raises(rs.ExecutionNotFound):
            await other.get(run.id)


async def test_an_unreachable_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ServerUnavailable) as unreachable:
            await client.start("echo")
    assert f"127.0.0.1:{port}" in str(unreachable.value)
