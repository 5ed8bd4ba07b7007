"""What a red-team pass sent (issue 9): valid-looking JSON the store cannot keep, ids beyond
64 bits, made-up cursors, malformed JSON, half-sent bodies, wrong methods. Each one is a
JSON 4xx naming what is wrong, never a 500 and never silently changed data."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from .conftest import Live, serving

pytestmark = pytest.mark.asyncio(loop_scope="module")

BASE = "/api/orgs/default/workflow-executions"

UNSTORABLE = [
    pytest.param(
        b"18446744073709551616", "integer 18446744073709551616 is beyond 64 bits", id="2**64"
    ),
    pytest.param(b"-9223372036854775809", "beyond 64 bits", id="-2**63-1"),
    pytest.param(b"1" * 5000, "integer of 5000 digits is beyond 64 bits", id="5000-digits"),
    pytest.param(b'"\\ud800"', "lone surrogate", id="lone-surrogate"),
    pytest.param(b"NaN", "NaN is not a JSON number", id="NaN"),
    pytest.param(b"-Infinity", "-Infinity is not a JSON number", id="-Infinity"),
    pytest.param(b"1e400", "1e400 is beyond the range of a float", id="1e400"),
]


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, str] = response.json()["error"]
    return error


async def _post(live: Live, path: str, body: bytes) -> httpx.Response:
    return await live.http.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("value", "reason"), UNSTORABLE)
async def test_unstorable_json_is_400_naming_the_field(
    shared: Live, value: bytes, reason: str
) -> None:
    waiting = await shared.start("gated")
    inbox = await shared.start("inbox")
    await shared.waiting(waiting)
    cases = [
        (BASE, b'{"kind": "gated", "input": {"items": [1, %s]}}', "input.items[1]"),
        (f"{BASE}/{inbox}/messages", b'{"message": %s}', "message"),
        (f"{BASE}/{waiting}/promises/go/resolve", b'{"value": [%s]}', "value[0]"),
    ]
    if value.startswith(b'"'):
        cases.append((f"{BASE}/{waiting}/cancel", b'{"reason": %s}', "reason"))
        cases.append((f"{BASE}/{waiting}/promises/go/reject", b'{"error": %s}', "error"))
    for path, template, param in cases:
        error = _error(await _post(shared, path, template % value), 400)
        assert error["code"] == "invalid_parameter"
        assert error["param"] == param, error
        assert reason in error["message"], error
    # Nothing was stored: the workflow still waits, its promise unsettled.
    snapshot = (await shared.http.get(f"{BASE}/{waiting}")).json()
    assert snapshot["status"] == "WAITING" and not snapshot["cancelRequested"]


async def test_the_edges_of_64_bits_are_stored_exactly(shared: Live) -> None:
    edges = b"[18446744073709551615, -9223372036854775808, 1.5e308, 0.1]"
    response = await _post(shared, BASE, b'{"kind": "gated", "input": %s}' % edges)
    assert response.status_code == 201, response.text
    stored = (await shared.http.get(f"{BASE}/{response.json()['id']}")).json()["input"]
    assert stored == [2**64 - 1, -(2**63), 1.5e308, 0.1]


async def test_an_after_beyond_64_bits_is_400_as_on_the_stream(shared: Live) -> None:
    execution_id = await shared.start("gated")
    for after in ("9223372036854775808", "1" + "0" * 18):
        response = await shared.http.get(f"{BASE}/{execution_id}/events", params={"after": after})
        assert _error(response, 400)["param"] == "after"
    response = await shared.http.get(
        f"{BASE}/{execution_id}/stream", headers={"Last-Event-ID": "9223372036854775808"}
    )
    assert _error(response, 400)["param"] == "Last-Event-ID"
    ok = await shared.http.get(f"{BASE}/{execution_id}/events", params={"after": "9" * 18})
    assert ok.status_code == 200 and ok.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"kind": "gated", "input": }', "line 1, column 28"),
        (b'{"kind": "gated",\n "input": [1,]}', "line 2, column 14"),
        (b"{", "line 1, column 2"),
    ],
)
async def test_malformed_json_names_the_body_and_the_position(
    shared: Live, body: bytes, where: str
) -> None:
    error = _error(await _post(shared, BASE, body), 400)
    assert error["param"] == "body"
    assert error["message"].startswith(f"body: malformed JSON at {where}: "), error


async def test_a_body_that_is_not_utf8_is_400(shared: Live) -> None:
    error = _error(await _post(shared, BASE, b'{"kind": "\xff"}'), 400)
    assert error["param"] == "body" and "UTF-8" in error["message"]


async def test_wrong_method_is_405_with_allow(shared: Live) -> None:
    execution_id = await shared.start("gated")
    for method, path, allowed in [
        ("DELETE", BASE, {"GET", "POST"}),
        ("PUT", f"{BASE}/{execution_id}", {"GET"}),
        ("GET", f"{BASE}/{execution_id}/cancel", {"POST"}),
        ("POST", f"{BASE}/{execution_id}/stream", {"GET"}),
    ]:
        response = await shared.http.request(method, path)
        assert _error(response, 405)["code"] == "method_not_allowed"
        assert set(response.headers["allow"].replace(" ", "").split(",")) == allowed


async def test_an_empty_cursor_is_the_first_page(shared: Live) -> None:
    await shared.start("gated")
    first = await shared.http.get(BASE, params={"limit": 1})
    empty = await shared.http.get(BASE, params={"limit": 1, "cursor": ""})
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"][0]["id"] == first.json()["items"][0]["id"]
    assert _error(await shared.http.get(BASE, params={"cursor": "??"}), 400)["param"] == "cursor"


async def test_list_pages_are_summaries(shared: Live) -> None:
    big = "x" * 200_000
    response = await shared.http.post(BASE, json={"kind": "gated", "input": {"text": big}})
    execution_id = response.json()["id"]
    page = await shared.http.get(BASE, params={"limit": 5})
    assert len(page.content) < 10_000
    item = next(i for i in page.json()["items"] if i["id"] == execution_id)
    assert "input" not in item and "output" not in item and "tasks" not in item
    assert item["status"] in ("PENDING", "RUNNING", "WAITING") and item["kind"] == "gated"
    full = (await shared.http.get(f"{BASE}/{execution_id}")).json()
    assert full["input"] == {"text": big}


async def test_made_up_consolidated_cursors_are_400(shared: Live) -> None:
    execution_id = await shared.start("family")
    await shared.waiting(execution_id)
    resolved = await shared.http.post(f"{BASE}/{execution_id}/promises/spawn/resolve")
    assert resolved.status_code == 200
    await shared.finished(execution_id)
    path = f"{BASE}/{execution_id}/stream/consolidated"
    for cursor, says in [
        ("0:1,0.7:3", "0 has no child 7"),
        ("0:1,0.0:1,0.0.0:1", "0.0 has no child 0"),
        ("0:1,0:2", "names 0 twice"),
        ("0.0:1", "but not 0"),
        ("0:1,0.0.0:1", "but not 0.0"),
        ("0:99999999999999999999", "malformed"),
        ("0:1,0.01:1", "malformed"),
    ]:
        response = await shared.http.get(path, headers={"Last-Event-ID": cursor})
        error = _error(response, 400)
        assert error["param"] == "Last-Event-ID" and says in error["message"], (cursor, error)
    # A real cursor still resumes; positions beyond the logs are fine (nothing is left).
    async with shared.stream(path, {"Last-Event-ID": "0:1"}) as stream:
        assert stream.status == 200
        assert [b for b in await stream.blocks() if b.event is not None]
    async with shared.stream(path, {"Last-Event-ID": "0:999,0.0:999"}) as stream:
        assert stream.status == 204


async def _raw(port: int, request: bytes, wait: float) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        async with asyncio.timeout(wait):
            return await reader.read()  # to EOF: the server closes the connection
    finally:
        writer.close()


async def test_a_half_sent_body_gets_408_and_the_connection_is_closed(store_url: str) -> None:
    async with serving(store_url, body_timeout_seconds=0.5) as live:
        head = (
            b"POST /api/orgs/default/workflow-executions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        answer = await _raw(live.server.port, head + b'{"kind": "ga', wait=5)
        status, _, rest = answer.partition(b"\r\n")
        assert status == b"HTTP/1.1 408 Request Timeout", answer
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"connection: close" in headers.lower()
        error = orjson.loads(body)["error"]
        assert error["code"] == "request_timeout" and error["param"] == "body"
        # A body that keeps arriving, slowly, is fine.
        reader, writer = await asyncio.open_connection("127.0.0.1", live.server.port)
        payload = b'{"kind": "gated", "input": "slow but steady"}'
        writer.write(head.replace(b"100", str(len(payload)).encode()))
        for i in range(0, len(payload), 10):
            await asyncio.sleep(0.2)
            writer.write(payload[i : i + 10])
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        assert line.startswith(b"HTTP/1.1 201"), line


async def test_the_v0_api_parses_bodies_under_the_same_rules(shared: Live) -> None:
    path = "/api/v0/workflows/gated/executions"
    error = _error(await _post(shared, path, b'{"input": {"n": 18446744073709551616}}'), 400)
    assert error["param"] == "input.n" and "beyond 64 bits" in error["message"]
    assert (await _post(shared, path, b'{"input": {"n": 1}}')).status_code == 202
