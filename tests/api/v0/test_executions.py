"""Starting v0 executions and reading their status."""

from __future__ import annotations

import pytest

from runstream.model import new_id
from runstream.streaming.wire.v0 import rfc3339

from ..conftest import Live, until
from .conftest import start
from .flows import USAGE, gate

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def status(live: Live, family: str, exec_id: str) -> dict[str, object]:
    response = await live.http.get(f"/api/v0/executions/{family}/{exec_id}")
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


@pytest.mark.parametrize(
    ("family", "name", "input"),
    [("workflows", "waiting", None), ("agents", "writer", "x"), ("tasks", "compose", ["x"])],
)
async def test_start_answers_202_with_the_id_and_its_url(
    shared: Live, family: str, name: str, input: object
) -> None:
    response = await shared.http.post(f"/api/v0/{family}/{name}/executions", json={"input": input})
    assert response.status_code == 202
    body = response.json()
    exec_id = body["data"]["exec_id"]
    assert body == {
        "data": {"exec_id": exec_id, "exec_url": f"/api/v0/executions/{family}/{exec_id}"},
        "message": f"{family[:-1]} execution started",
    }
    followed = await shared.http.get(body["data"]["exec_url"])
    assert followed.json()["data"]["input"] == input
    if family == "workflows":
        await shared.engine.resolve_promise(exec_id, "go", None)


async def test_the_body_is_optional(shared: Live) -> None:
    response = await shared.http.post("/api/v0/workflows/waiting/executions")
    assert response.status_code == 202
    exec_id = response.json()["data"]["exec_id"]
    assert (await status(shared, "workflows", exec_id))["input"] is None
    await shared.engine.resolve_promise(exec_id, "go", None)


async def test_status_of_a_successful_agent(shared: Live) -> None:
    exec_id = await start(shared, "agents", "writer", "x")
    snapshot = await shared.finished(exec_id)
    assert await status(shared, "agents", exec_id) == {
        "exec_id": exec_id,
        "status": "SUCCESS",
        "input": "x",
        "output": snapshot.output,
        "error": None,
        "usage": {k: sum(u[k] for u in USAGE) for k in USAGE[0]},
        "created_at": rfc3339(snapshot.created_at),
        "updated_at": rfc3339(snapshot.updated_at),
    }


async def test_status_of_a_failed_task_and_a_plain_task_has_no_usage(shared: Live) -> None:
    exec_id = await start(shared, "tasks", "boom", "no luck")
    await shared.finished(exec_id)
    found = await status(shared, "tasks", exec_id)
    assert (found["status"], found["error"], found["usage"]) == ("FAILED", "no luck", None)


async def test_status_while_running_and_after_cancel(shared: Live) -> None:
    key = f"status-running-{new_id()}"  # a fresh gate per run (and per backend)
    exec_id = await start(shared, "tasks", "held", {"key": key})

    async def running() -> bool:
        return (await status(shared, "tasks", exec_id))["status"] == "RUNNING"

    await until(running, 5)
    gate(key).set()
    await shared.finished(exec_id)
    assert (await status(shared, "tasks", exec_id))["status"] == "SUCCESS"

    waiting = await start(shared, "workflows", "waiting")
    await shared.waiting(waiting)
    assert (await status(shared, "workflows", waiting))["status"] == "RUNNING"
    await shared.engine.cancel(waiting)
    await shared.finished(waiting)
    assert (await status(shared, "workflows", waiting))["status"] == "CANCELED"


async def test_usage_is_summed_as_the_log_grows(shared: Live) -> None:
    """The tally reads each event once; a longer log adds to what it had."""
    exec_id = await start(shared, "workflows", "pipeline", "x")

    async def asked() -> bool:
        return bool((await shared.engine.get(exec_id)).promises)

    await until(asked, 10)
    middle = await status(shared, "workflows", exec_id)
    assert middle["usage"] == {k: sum(u[k] for u in USAGE) for k in USAGE[0]}
    await shared.engine.resolve_promise(exec_id, "approve", False)
    await shared.finished(exec_id)
    end = await status(shared, "workflows", exec_id)
    assert (end["status"], end["usage"]) == ("SUCCESS", middle["usage"])
