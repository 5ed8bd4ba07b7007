"""The OpenAPI document describes the v0 routes, streams included."""

from __future__ import annotations

import pytest

from ..conftest import Live

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAMILIES = ("workflows", "agents", "tasks")


async def test_the_three_streams_are_text_event_stream_with_their_parameters(
    shared: Live,
) -> None:
    schema = (await shared.http.get("/openapi.json")).json()
    for family in FAMILIES:
        operation = schema["paths"][f"/api/v0/executions/{family}/{{exec_id}}/stream"]["get"]
        ok = operation["responses"]["200"]
        assert list(ok["content"]) == ["text/event-stream"]
        assert "event: " in ok["content"]["text/event-stream"]["example"]
        assert {"204", "400", "404"} <= set(operation["responses"])
        params = {(p["in"], p["name"]): p for p in operation["parameters"]}
        assert set(params) == {
            ("path", "exec_id"),
            ("query", "poll_ms"),
            ("query", "events"),
            ("header", "Last-Event-ID"),
            ("query", "lastEventId"),
        }
        poll = params[("query", "poll_ms")]["schema"]["anyOf"][0]
        assert (poll["type"], poll["minimum"], poll["maximum"]) == ("integer", 250, 2000)
        assert "llm_chunk" in params[("query", "events")]["description"]


async def test_start_and_status_are_documented(shared: Live) -> None:
    schema = (await shared.http.get("/openapi.json")).json()
    for family in FAMILIES:
        start = schema["paths"][f"/api/v0/{family}/{{name}}/executions"]["post"]
        assert start["responses"]["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/StartAccepted"
        }
        status = schema["paths"][f"/api/v0/executions/{family}/{{exec_id}}"]["get"]
        assert status["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/StatusOut"
        }
