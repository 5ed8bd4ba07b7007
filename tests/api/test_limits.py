"""SPEC §10 limits against a real server: sizes (413), open streams (429), ``limit`` (400)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import orjson

from .auth import bearer, executions, make_key, start
from .conftest import Live, until

Serve = Callable[..., AbstractAsyncContextManager[Live]]


def assert_json_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


async def test_bodies_over_the_limit_are_413_declared_or_chunked(serve: Serve) -> None:
    async with serve(max_body_bytes=2000) as live:
        path = executions("default")
        fits = await live.http.post(path, json={"kind": "gated", "input": "x" * 1500})
        assert fits.status_code == 201
        declared = await live.http.post(path, json={"kind": "gated", "input": "x" * 3000})
        assert_json_error(declared, 413, "body_too_large")
        assert declared.json()["error"]["param"] == "body"

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"kind": "gated", "input": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        # No Content-Length: the body arrives chunked and is counted as it comes.
        chunked = await live.http.post(
            path, content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in chunked.request.headers
        assert_json_error(chunked, 413, "body_too_large")
        # Even where no handler reads a body, a declared oversized one is refused.
        get = await live.http.request("GET", path, content=b"x" * 3000)
        assert_json_error(get, 413, "body_too_large")
        # The server is fine afterwards.
        assert (await live.http.get(path)).status_code == 200


async def test_messages_over_the_limit_are_413(serve: Serve) -> None:
    async with serve(max_message_bytes=1000) as live:
        execution_id = await live.start("inbox")
        path = live.path(execution_id, "/messages")
        too_big = await live.http.post(path, json={"message": {"text": "x" * 1000}})
        assert_json_error(too_big, 413, "message_too_large")
        assert too_big.json()["error"]["param"] == "message"
        assert "1000" in too_big.json()["error"]["message"]
        fits = await live.http.post(path, json={"message": {"text": "x" * 900}})
        assert fits.status_code == 202
        assert (await live.finished(execution_id)).output == {"text": "x" * 900}


async def test_limit_above_1000_is_400(live: Live) -> None:
    execution_id = await live.start("gated")
    for path in (executions("default"), live.path(execution_id, "/events")):
        assert (await live.http.get(path, params={"limit": 1000})).status_code == 200
        response = await live.http.get(path, params={"limit": 1001})
        assert_json_error(response, 400, "invalid_parameter")
        assert response.json()["error"]["param"] == "limit"


async def test_streams_per_process_are_limited_and_released_however_they_end(
    serve: Serve,
) -> None:
    async with serve(max_streams=2, idle_timeout_seconds=0.5) as live:
        waiting = await live.start("gated")
        stream = live.path(waiting, "/stream")
        consolidated = live.path(waiting, "/stream/consolidated")
        async with live.stream(stream) as first, live.stream(consolidated) as second:
            assert first.status == second.status == 200
            for path in (stream, consolidated):
                async with live.stream(path) as refused:
                    assert refused.status == 429
                    assert refused.headers["retry-after"] == "1"
                    body = orjson.loads(await refused.body())
                    assert body["error"]["code"] == "too_many_streams"
            # Ending 1: the client goes away (an abrupt reset).
            first.reset()
            await until(lambda: live.streams.in_flight == 1, 2)
            # Ending 2: the idle timeout.
            await second.blocks(timeout=3)
        await live.no_streams()
        # Ending 3: the execution completes.
        async with live.stream(stream) as ending, live.stream(consolidated) as also:
            resolved = await live.http.post(live.path(waiting, "/promises/go/resolve"), json={})
            assert resolved.status_code == 200
            await ending.blocks()
            await also.blocks()
        await live.no_streams()
        # Streams that never start give their slot back: 204, 404, 400.
        finished = (await live.engine.get(waiting)).last_seq
        async with live.stream(stream, {"Last-Event-ID": str(finished)}) as empty:
            assert empty.status == 204
        for path in (live.path("01900000-0000-7000-8000-000000000000", "/stream"), stream):
            async with live.stream(path, {"Last-Event-ID": "x"}) as bad:
                assert bad.status in (400, 404)
        assert live.streams.in_flight == 0
        # Ending 4: the server shuts down, with both slots taken.
        other = await live.start("gated")
        async with live.stream(live.path(other, "/stream")) as a, live.stream(stream) as b:
            assert a.status == b.status == 200
            await until(lambda: live.streams.in_flight == 2, 2)
            live.streams.close_all()
            await a.blocks()
        await live.no_streams()


async def test_streams_per_org_are_limited_by_the_paths_org_without_auth(serve: Serve) -> None:
    async with serve(max_streams_per_org=1) as live:
        ids = {}
        for org in ("acme", "globex"):
            response = await live.http.post(executions(org), json={"kind": "gated"})
            ids[org] = response.json()["id"]
        acme = f"{executions('acme')}/{ids['acme']}/stream"
        async with live.stream(acme) as held:
            assert held.status == 200
            async with live.stream(acme) as refused:
                assert refused.status == 429 and "retry-after" in refused.headers
                message = orjson.loads(await refused.body())["error"]["message"]
                assert "acme" in message
            async with live.stream(f"{executions('globex')}/{ids['globex']}/stream") as other:
                assert other.status == 200
        await live.no_streams()
        async with live.stream(acme) as again:
            assert again.status == 200


async def test_streams_per_org_count_the_keys_org_with_auth(serve: Serve) -> None:
    async with serve(auth="keys", max_streams_per_org=2) as live:
        key = await make_key(live, "acme")
        other_key = await make_key(live, "globex")
        mine = await start(live, key, "acme", "gated")
        theirs = await start(live, other_key, "globex", "gated")
        token = (
            await live.http.post(
                f"{executions('acme')}/{mine}/stream-tokens", json={}, headers=bearer(key)
            )
        ).json()["token"]
        path = f"{executions('acme')}/{mine}/stream"
        async with (
            live.stream(path, bearer(key)) as by_key,
            live.stream(f"{path}?token={token}") as by_token,
        ):
            assert by_key.status == by_token.status == 200
            async with live.stream(path, bearer(key)) as third:
                assert third.status == 429
            async with live.stream(
                f"{executions('globex')}/{theirs}/stream", bearer(other_key)
            ) as b:
                assert b.status == 200
        await live.no_streams()


async def test_a_500_shows_no_stack_trace(serve: Serve) -> None:
    async with serve() as live:
        execution_id = await live.start("gated")
        # A closed store fails the way no handler expects: the one way to get a 500 here.
        await live.engine.store.close()
        response = await live.http.get(live.path(execution_id))
        assert_json_error(response, 500, "internal")
        assert response.json()["error"]["message"] == "internal error"
        assert "Traceback" not in response.text and ".py" not in response.text
