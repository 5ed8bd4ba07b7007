"""Every refusal of the v0 API is a JSON error naming the parameter, never a stream."""

from __future__ import annotations

import pytest
import pytest_asyncio

from ..conftest import Live
from .conftest import start, stream_path

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNKNOWN = "0190f5c8-0000-7000-8000-00000000dead"


async def refused(
    shared: Live,
    path: str,
    status: int,
    param: str | None,
    *,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: object = None,
    content: bytes | None = None,
) -> str:
    """Request ``path``, check the JSON error, return its message."""
    if content is not None:
        headers = {"content-type": "application/json", **(headers or {})}
        response = await shared.http.request(method, path, headers=headers, content=content)
    else:
        response = await shared.http.request(method, path, headers=headers, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error.get("param") == param
    message: str = error["message"]
    return message


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def done(shared: Live) -> str:
    """A finished task execution."""
    exec_id = await start(shared, "tasks", "compose", ["x"])
    await shared.finished(exec_id)
    return exec_id


@pytest.mark.parametrize("value", ["249", "2001", "0", "-500", "abc", "500.5", "1e3"])
async def test_poll_ms_must_be_an_integer_within_250_2000(
    shared: Live, done: str, value: str
) -> None:
    message = await refused(shared, stream_path("tasks", done, f"poll_ms={value}"), 400, "poll_ms")
    assert message.startswith("poll_ms: ")


@pytest.mark.parametrize("value", ["250", "2000", "500"])
async def test_poll_ms_within_bounds_is_accepted(shared: Live, done: str, value: str) -> None:
    async with shared.stream(stream_path("tasks", done, f"poll_ms={value}")) as stream:
        assert stream.status == 200


@pytest.mark.parametrize("value", ["token", "llm_chunk,bogus", "workflow"])
async def test_unknown_event_names_are_refused(shared: Live, done: str, value: str) -> None:
    message = await refused(shared, stream_path("tasks", done, f"events={value}"), 400, "events")
    assert "unknown event" in message and "llm_chunk" in message


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "7 8", "0x10"])
async def test_last_event_id_must_be_an_integer(shared: Live, done: str, value: str) -> None:
    path = stream_path("tasks", done)
    await refused(shared, path, 400, "Last-Event-ID", headers={"Last-Event-ID": value})
    await refused(shared, f"{path}?lastEventId={value.replace(' ', '%20')}", 400, "lastEventId")


async def test_malformed_and_unknown_execution_ids(shared: Live) -> None:
    for family in ("workflows", "agents", "tasks"):
        await refused(shared, stream_path(family, "not-a-uuid"), 400, "exec_id")
        await refused(shared, f"/api/v0/executions/{family}/not-a-uuid", 400, "exec_id")
        await refused(shared, stream_path(family, UNKNOWN), 404, None)
        await refused(shared, f"/api/v0/executions/{family}/{UNKNOWN}", 404, None)


async def test_an_execution_of_another_family_is_unknown(shared: Live) -> None:
    ids = {
        "workflows": await start(shared, "workflows", "waiting"),
        "agents": await start(shared, "agents", "writer", "x"),
        "tasks": await start(shared, "tasks", "compose", ["x"]),
    }
    for family, exec_id in ids.items():
        for other in ids:
            if other != family:
                await refused(shared, stream_path(other, exec_id), 404, None)
                await refused(shared, f"/api/v0/executions/{other}/{exec_id}", 404, None)


@pytest.mark.parametrize(
    ("family", "name", "status", "words"),
    [
        ("workflows", "nope", 404, "no workflow named 'nope'"),
        ("agents", "nope", 404, "no agent named 'nope'"),
        ("tasks", "nope", 404, "no task named 'nope'"),
        ("workflows", "compose", 400, "'compose' is a task, not a workflow"),
        ("workflows", "writer", 400, "'writer' is an agent, not a workflow"),
        ("agents", "compose", 400, "'compose' is a task, not an agent"),
        ("agents", "pipeline", 400, "'pipeline' is a workflow, not an agent"),
        ("tasks", "writer", 400, "POST /api/v0/agents/writer/executions"),
        ("tasks", "pipeline", 400, "'pipeline' is a workflow, not a task"),
    ],
)
async def test_start_names_must_be_of_the_family(
    shared: Live, family: str, name: str, status: int, words: str
) -> None:
    param = {"workflows": "workflow_id", "agents": "agent_id", "tasks": "task_id"}[family]
    path = f"/api/v0/{family}/{name}/executions"
    message = await refused(shared, path, status, param, method="POST", body={"input": 1})
    assert words in message


async def test_start_body_is_checked(shared: Live) -> None:
    path = "/api/v0/tasks/compose/executions"
    await refused(shared, path, 400, "inptu", method="POST", body={"inptu": 1})
    await refused(shared, path, 400, "body", method="POST", content=b"{not json")
