"""Errors before a stream starts are JSON with the right status and name the bad parameter."""

from __future__ import annotations

import httpx
import pytest

from runstream.model import new_id

from .conftest import Live

UNKNOWN = new_id()
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, dict[str, str]] = response.json()
    assert list(body) == ["error"]
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize(
    "suffix", ["", "/events", "/stream", "/stream/consolidated", "/cancel", "/messages"]
)
async def test_non_uuid_id_is_400(shared: Live, suffix: str) -> None:
    bodies = {"/cancel": {"reason": "r"}, "/messages": {"message": 1}}
    method = "POST" if suffix in bodies else "GET"
    response = await shared.http.request(
        method, shared.path("not-a-uuid", suffix), json=bodies.get(suffix)
    )
    assert _error(response, 400, "invalid_parameter")["param"] == "id"


@pytest.mark.parametrize("suffix", ["", "/events", "/stream", "/stream/consolidated"])
async def test_unknown_id_is_404(shared: Live, suffix: str) -> None:
    _error(await shared.http.get(shared.path(UNKNOWN, suffix)), 404, "not_found")


async def test_other_orgs_execution_is_404(shared: Live) -> None:
    execution_id = await shared.start("gated")
    for suffix in ("", "/events", "/stream", "/stream/consolidated"):
        response = await shared.http.get(
            f"/api/orgs/acme/workflow-executions/{execution_id}{suffix}"
        )
        _error(response, 404, "not_found")
    response = await shared.http.post(f"/api/orgs/acme/workflow-executions/{execution_id}/cancel")
    _error(response, 404, "not_found")


async def test_task_execution_is_not_a_workflow_execution(shared: Live) -> None:
    response = await shared.http.post(
        "/api/orgs/default/task-executions", json={"kind": "hello", "input": "x"}
    )
    task_id = response.json()["id"]
    _error(await shared.http.get(shared.path(task_id)), 404, "not_found")
    _error(await shared.http.get(shared.path(task_id, "/stream")), 404, "not_found")


@pytest.mark.parametrize("types", ["tokens", "token,nope", "TASK_", ";"])
async def test_bad_types_is_400(shared: Live, types: str) -> None:
    execution_id = await shared.start("gated")
    response = await shared.http.get(shared.path(execution_id, "/stream"), params={"types": types})
    error = _error(response, 400, "invalid_parameter")
    assert error["param"] == "types"
    assert repr(types.split(",")[-1]) in error["message"]


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "0x10", "9" * 30, "1 2"])
async def test_garbage_last_event_id_is_400(shared: Live, bad: str) -> None:
    execution_id = await shared.start("gated")
    path = shared.path(execution_id, "/stream")
    response = await shared.http.get(path, headers={"Last-Event-ID": bad})
    assert _error(response, 400, "invalid_parameter")["param"] == "Last-Event-ID"
    response = await shared.http.get(path, params={"lastEventId": bad})
    assert _error(response, 400, "invalid_parameter")["param"] == "lastEventId"


async def test_message_to_a_finished_execution_is_409(shared: Live) -> None:
    execution_id = await shared.start("inbox")
    messages = f"{shared.path(execution_id)}/messages"
    accepted = await shared.http.post(messages, json={"message": {"text": "hi"}})
    assert accepted.status_code == 202
    assert (await shared.finished(execution_id)).output == {"text": "hi"}
    _error(await shared.http.post(messages, json={"message": "late"}), 409, "invalid_state")


async def test_settling_a_promise_of_a_finished_execution_is_409(shared: Live) -> None:
    execution_id = await shared.start("gated")
    promise = f"{shared.path(execution_id)}/promises/go"
    assert (await shared.http.post(f"{promise}/resolve", json={"value": 1})).status_code == 200
    await shared.finished(execution_id)
    _error(await shared.http.post(f"{promise}/reject", json={"error": "no"}), 409, "invalid_state")


async def test_bad_bodies_and_queries_are_400_naming_the_parameter(shared: Live) -> None:
    base = "/api/orgs/default/workflow-executions"
    cases = [
        (await shared.http.post(base, json={"kind": "nope"}), "unknown_kind", None),
        (await shared.http.post(base, json={"input": 1}), "invalid_parameter", "kind"),
        (await shared.http.post(base, json={"kind": "gated", "x": 1}), "invalid_parameter", "x"),
        (await shared.http.post(base, content=b"{"), "invalid_parameter", None),
        (await shared.http.get(base, params={"status": "DONE"}), "invalid_parameter", "status"),
        (await shared.http.get(base, params={"limit": 0}), "invalid_parameter", "limit"),
    ]
    for response, code, param in cases:
        error = _error(response, 400, code)
        if param is not None:
            assert error["param"] == param


async def test_unknown_route_and_method_are_json(shared: Live) -> None:
    _error(await shared.http.get("/api/nothing"), 404, "not_found")
    _error(
        await shared.http.delete("/api/orgs/default/workflow-executions"), 405, "method_not_allowed"
    )


async def test_bad_list_cursor_is_400(shared: Live) -> None:
    response = await shared.http.get("/api/orgs/default/workflow-executions?cursor=%3F%3F")
    assert _error(response, 400, "invalid_parameter")["param"] == "cursor"
