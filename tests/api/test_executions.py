"""The JSON endpoints: start, list, read, events, cancel, messages, promises; the OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from runstream.api.native.schemas import EventPage, ExecutionPage, SnapshotOut

from .conftest import Live

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "/api/orgs/default/workflow-executions"


async def test_start_and_get_return_the_snapshot(shared: Live) -> None:
    response = await shared.http.post(BASE, json={"kind": "inbox", "input": {"a": [1]}})
    assert response.status_code == 201
    started = SnapshotOut.model_validate(response.json())
    assert (started.kind, started.org, started.type, started.input) == (
        "inbox",
        "default",
        "workflow",
        {"a": [1]},
    )
    await shared.waiting(started.id)
    got = SnapshotOut.model_validate((await shared.http.get(f"{BASE}/{started.id}")).json())
    assert (got.id, got.status) == (started.id, "WAITING")
    upper = await shared.http.get(f"{BASE}/{started.id.upper()}")
    assert upper.json()["id"] == started.id


async def test_list_filters_and_pages(shared: Live) -> None:
    org = "/api/orgs/lister/workflow-executions"
    ids = []
    for kind in ("gated", "gated", "gated", "kinds"):
        ids.append((await shared.http.post(org, json={"kind": kind})).json()["id"])
    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "kind": "gated"}
        if cursor:
            params["cursor"] = cursor
        page = ExecutionPage.model_validate((await shared.http.get(org, params=params)).json())
        pages += [s.id for s in page.items]
        if (cursor := page.nextCursor) is None:
            break
    assert pages == ids[2::-1]
    await shared.finished(ids[3])
    done = (await shared.http.get(org, params={"status": "COMPLETED"})).json()["items"]
    assert [s["id"] for s in done] == [ids[3]]
    tasks = (await shared.http.get("/api/orgs/lister/task-executions")).json()
    assert tasks == {"items": [], "nextCursor": None}


async def test_events_page_through_the_log(shared: Live) -> None:
    execution_id = await shared.start("kinds")
    snapshot = await shared.finished(execution_id)
    seqs: list[int] = []
    after = 0
    while True:
        response = await shared.http.get(
            f"{BASE}/{execution_id}/events", params={"after": after, "limit": 5}
        )
        page = EventPage.model_validate(response.json())
        seqs += [e.seq for e in page.items]
        after = page.nextAfter
        if not page.hasMore:
            break
    assert seqs == list(range(1, snapshot.last_seq + 1))
    first = (await shared.http.get(f"{BASE}/{execution_id}/events?limit=1")).json()["items"][0]
    assert first["type"] == "WORKFLOW_CREATED" and first["executionId"] == execution_id


async def test_cancel_is_idempotent(shared: Live) -> None:
    execution_id = await shared.start("gated")
    await shared.waiting(execution_id)
    for _ in range(2):
        response = await shared.http.post(f"{BASE}/{execution_id}/cancel", json={"reason": "r"})
        assert response.status_code == 202
        assert response.json()["id"] == execution_id
    assert (await shared.finished(execution_id)).status == "CANCELLED"
    assert (await shared.http.post(f"{BASE}/{execution_id}/cancel")).status_code == 202


async def test_message_reaches_the_workflow(shared: Live) -> None:
    execution_id = await shared.start("inbox")
    response = await shared.http.post(f"{BASE}/{execution_id}/messages", json={"message": "hi"})
    assert response.status_code == 202
    assert set(response.json()) == {"messageId"}
    assert (await shared.finished(execution_id)).output == "hi"


@pytest.mark.parametrize(
    ("action", "body", "status", "output"),
    [
        ("resolve", {"value": {"ok": True}}, "COMPLETED", {"ok": True}),
        ("reject", {"error": "denied"}, "FAILED", None),
    ],
)
async def test_promises(
    shared: Live, action: str, body: dict[str, Any], status: str, output: Any
) -> None:
    execution_id = await shared.start("gated")
    response = await shared.http.post(f"{BASE}/{execution_id}/promises/go/{action}", json=body)
    assert response.status_code == 200
    SnapshotOut.model_validate(response.json())
    snapshot = await shared.finished(execution_id)
    assert (snapshot.status, snapshot.output) == (status, output)
    if action == "reject":
        assert "denied" in (snapshot.error or "")


async def test_task_executions(shared: Live) -> None:
    response = await shared.http.post(
        "/api/orgs/default/task-executions", json={"kind": "hello", "input": "ada"}
    )
    assert response.status_code == 201
    task = SnapshotOut.model_validate(response.json())
    assert task.type == "task"
    snapshot = await shared.finished(task.id)
    got = await shared.http.get(f"/api/orgs/default/task-executions/{task.id}")
    assert got.json()["output"] == snapshot.output == "ada"
    unknown = await shared.http.post("/api/orgs/default/task-executions", json={"kind": "gated"})
    assert unknown.status_code == 400


async def test_openapi_documents_the_streams(shared: Live) -> None:
    schema = (await shared.http.get("/openapi.json")).json()
    stream_paths = [
        p
        for p in schema["paths"]
        if p.startswith("/api/orgs/") and p.endswith(("/stream", "/consolidated"))
    ]
    assert len(stream_paths) == 3
    for path in stream_paths:
        operation = schema["paths"][path]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
        assert "204" in operation["responses"]
        params = {(p["in"], p["name"]) for p in operation["parameters"]}
        assert {("header", "Last-Event-ID"), ("query", "lastEventId"), ("query", "types")} <= params
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
    start = schema["paths"]["/api/orgs/{org}/workflow-executions"]["post"]["responses"]["201"]
    assert start["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SnapshotOut"
    }
    docs = await shared.http.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


async def test_cors_is_off_by_default_and_configurable(
    shared: Live, serve: Callable[..., AbstractAsyncContextManager[Live]]
) -> None:
    origin = {"Origin": "http://app.example"}
    plain = await shared.http.get(f"{BASE}?limit=1", headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    async with serve(cors_origins=("http://app.example",)) as live:
        execution_id = await live.start("kinds")
        await live.finished(execution_id)
        async with live.stream(live.path(execution_id, "/stream"), origin) as stream:
            assert stream.headers["access-control-allow-origin"] == "http://app.example"
        preflight = await live.http.options(
            live.path(execution_id, "/stream"),
            headers=origin
            | {
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "last-event-id",
            },
        )
        assert preflight.status_code == 200
