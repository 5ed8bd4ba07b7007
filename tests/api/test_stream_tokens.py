"""Scoped stream tokens (SPEC §10) against a real server run with ``auth="keys"``."""

from __future__ import annotations

import asyncio
import base64
import time
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
import pytest
import pytest_asyncio

from runstream.api.tokens import SECRET_NAME
from runstream.model import new_id
from tests.conftest import sqlite_url

from .auth import bearer, executions, make_key, mint, start
from .conftest import Live, serving, until
from .sse import Block

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    store = tmp_path_factory.mktemp("tokens") / "runstream.db"
    async with serving(sqlite_url(store), auth="keys") as running:
        yield running


async def setup(live: Live, kind: str = "gated") -> tuple[str, str, str]:
    """A fresh org, its key, and a workflow of ``kind`` started there."""
    org = f"org-{new_id()[-8:]}"
    key = await make_key(live, org)
    return org, key, await start(live, key, org, kind)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


UNSIGNED = b64(orjson.dumps({"alg": "none", "typ": "JWT"}))


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def blocks_of(live: Live, path: str, headers: dict[str, str] | None = None) -> list[Block]:
    async with live.stream(path, headers) as stream:
        assert stream.status == 200, await stream.body()
        return await stream.blocks()


async def test_minted_token_reads_its_execution_as_query_or_bearer(secured: Live) -> None:
    org, key, execution_id = await setup(secured, "kinds")
    await secured.finished(execution_id)
    before = time.time()
    response = await secured.http.post(
        f"{executions(org)}/{execution_id}/stream-tokens", json={}, headers=bearer(key)
    )
    assert response.status_code == 201
    body = response.json()
    expires = datetime.fromisoformat(body["expiresAt"])
    assert body["expiresAt"].endswith("Z") and expires.tzinfo == UTC
    assert before + 3590 < expires.timestamp() <= time.time() + 3600
    token = body["token"]
    assert not token.startswith("rs_")
    base = f"{executions(org)}/{execution_id}"
    for params, headers in [({"token": token}, None), (None, bearer(token))]:
        snapshot = await secured.http.get(base, params=params, headers=headers)
        assert snapshot.status_code == 200 and snapshot.json()["id"] == execution_id
        events = await secured.http.get(f"{base}/events", params=params, headers=headers)
        assert events.status_code == 200 and events.json()["items"]
    for suffix in ("/stream", "/stream/consolidated"):
        streamed = await blocks_of(secured, f"{base}{suffix}?token={token}")
        assert orjson.loads(streamed[-1].data or "")["event"] == "WORKFLOW_COMPLETED"


async def test_a_token_does_nothing_else(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    other = await start(secured, key, org, "gated")
    token = await mint(secured, key, org, execution_id)
    base = f"{executions(org)}/{execution_id}"
    for method, path in [
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/messages"),
        ("POST", f"{base}/promises/go/resolve"),
        ("POST", f"{base}/promises/go/reject"),
        ("POST", f"{base}/stream-tokens"),
        ("GET", executions(org)),
        ("POST", executions(org)),
        ("GET", f"{executions(org)}/{other}"),
        ("GET", f"{executions(org)}/{other}/stream"),
        ("GET", f"{executions(org)}/{other}/events"),
        ("GET", f"{executions(org, 'task')}/{execution_id}"),
        ("GET", f"{executions('elsewhere')}/{execution_id}"),
    ]:
        json: dict[str, str] | None = {} if method == "POST" else None
        for params, headers in [({"token": token}, None), (None, bearer(token))]:
            response = await secured.http.request(
                method, path, json=json, params=params, headers=headers
            )
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
    assert (await secured.engine.get(execution_id)).status.value == "WAITING"


async def test_descendants_only_through_the_consolidated_stream(secured: Live) -> None:
    org, key, execution_id = await setup(secured, "family")
    token = await mint(secured, key, org, execution_id)
    resolved = await secured.http.post(
        f"{executions(org)}/{execution_id}/promises/spawn/resolve", json={}, headers=bearer(key)
    )
    assert resolved.status_code == 200
    await secured.finished(execution_id)
    child = (await secured.engine.get(execution_id)).children[0].id
    base = f"{executions(org)}/{execution_id}"
    merged = await blocks_of(secured, f"{base}/stream/consolidated?token={token}")
    lifecycle = [orjson.loads(b.data or "") for b in merged if b.event == "data"]
    sources = {e["data"].get("id") for e in lifecycle if e.get("type") == "Event"}
    assert child in sources
    for suffix in ("", "/stream", "/events"):
        direct = await secured.http.get(f"{executions(org)}/{child}{suffix}?token={token}")
        assert direct.status_code == 403


async def test_expired_tampered_unsigned_and_foreign_tokens_are_401(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    base = f"{executions(org)}/{execution_id}"
    token = await mint(secured, key, org, execution_id)
    header, payload, signature = token.split(".")
    claims = claims_of(token)
    secret = await secured.engine.store.server_secret(SECRET_NAME)
    other = await start(secured, key, org, "gated")
    with warnings.catch_warnings():
        # The right secret with another algorithm: PyJWT finds the key short for SHA-384.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        hs384 = jwt.encode(claims, secret, algorithm="HS384")
    forged = [
        # Another execution in the claims, the signature left as it was.
        f"{header}.{b64(orjson.dumps(claims | {'sub': other}))}.{signature}",
        f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        # alg=none, unsigned.
        f"{UNSIGNED}.{payload}.",
        hs384,
        jwt.encode(claims, b"x" * 32, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        jwt.encode(claims | {"aud": "elsewhere"}, secret, algorithm="HS256"),
        "not.a.token",
    ]
    for bad in forged:
        for suffix in ("", "/stream"):
            response = await secured.http.get(f"{base}{suffix}", params={"token": bad})
            assert response.status_code == 401, (bad, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
    # The secret itself signs tokens that are accepted: the checks above are not vacuous.
    good = jwt.encode(claims, secret, algorithm="HS256")
    assert (await secured.http.get(base, params={"token": good})).status_code == 200
    short = await mint(secured, key, org, execution_id, ttlSeconds=1)
    assert (await secured.http.get(base, params={"token": short})).status_code == 200
    await asyncio.sleep(2.1)
    expired = await secured.http.get(base, params={"token": short})
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


async def test_type_restricted_token_delivers_the_intersection(secured: Live) -> None:
    org, key, execution_id = await setup(secured, "kinds")
    await secured.finished(execution_id)
    base = f"{executions(org)}/{execution_id}"
    token = await mint(secured, key, org, execution_id, types=["token", "progress"])
    assert claims_of(token)["types"] == ["token", "progress"]
    everything = await blocks_of(secured, f"{base}/stream?token={token}")
    assert {b.event for b in everything if b.data is not None} == {"token", "progress"}
    both = await blocks_of(secured, f"{base}/stream?token={token}&types=token,error")
    assert {b.event for b in both if b.data is not None} == {"token"}
    # The last id still reaches the client, so it resumes past what was filtered out.
    last_seq = (await secured.engine.get(execution_id)).last_seq
    assert both[-1].id == str(last_seq)
    merged = await blocks_of(secured, f"{base}/stream/consolidated?token={token}&types=progress")
    assert {b.event for b in merged if b.data is not None} == {"progress"}
    page = (await secured.http.get(f"{base}/events", params={"token": token})).json()
    assert {e["type"] for e in page["items"]} == {"token", "progress"}
    assert page["nextAfter"] == last_seq
    unrestricted = await mint(secured, key, org, execution_id)
    full = (await secured.http.get(f"{base}/events", params={"token": unrestricted})).json()
    assert len(full["items"]) > len(page["items"])


async def test_the_request_body_is_checked(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    path = f"{executions(org)}/{execution_id}/stream-tokens"
    for body, param in [
        ({"types": ["token", "sparkles"]}, "types"),
        ({"types": []}, "types"),
        ({"types": [" "]}, "types"),
        ({"ttlSeconds": 0}, "ttlSeconds"),
        ({"ttlSeconds": 86_401}, "ttlSeconds"),
        ({"ttlSeconds": "soon"}, "ttlSeconds"),
        ({"scope": "write"}, "scope"),
    ]:
        response = await secured.http.post(path, json=body, headers=bearer(key))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["param"] == param
    longest = await secured.http.post(path, json={"ttlSeconds": 86_400}, headers=bearer(key))
    assert longest.status_code == 201
    task = await secured.http.post(
        executions(org, "task"), json={"kind": "hello", "input": "ada"}, headers=bearer(key)
    )
    task_id = task.json()["id"]
    task_token = await mint(secured, key, org, task_id, kind="task")
    snapshot = await secured.http.get(f"{executions(org, 'task')}/{task_id}?token={task_token}")
    assert snapshot.status_code == 200


async def test_a_token_outlives_the_key_that_minted_it(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    token = await mint(secured, key, org, execution_id)
    await secured.engine.store.revoke_key(key.split("_")[1])
    base = f"{executions(org)}/{execution_id}"

    async def key_refused() -> bool:
        return (await secured.http.get(base, headers=bearer(key))).status_code == 401

    await until(key_refused, 5)
    assert (await secured.http.get(base, params={"token": token})).status_code == 200


async def test_revoking_a_key_ends_the_streams_it_opened(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    token = await mint(secured, key, org, execution_id)
    path = f"{executions(org)}/{execution_id}/stream"
    async with (
        secured.stream(path, bearer(key)) as by_key,
        secured.stream(f"{path}?token={token}") as by_token,
    ):
        assert by_key.status == by_token.status == 200
        await until(lambda: secured.streams.open_in(org) == 2, 2)
        began = time.monotonic()
        await secured.engine.store.revoke_key(key.split("_")[1])
        ended = await by_key.blocks(timeout=5)
        assert time.monotonic() - began < 2.5
        assert "access revoked" in ended[-1].comments
        # The token's stream goes on: a token stays valid until it expires.
        assert secured.streams.open_in(org) == 1
        assert (await by_token.block(timeout=1)) is not None


async def test_a_token_stream_ends_when_the_token_expires(secured: Live) -> None:
    org, key, execution_id = await setup(secured)
    token = await mint(secured, key, org, execution_id, ttlSeconds=2)
    expires = claims_of(token)["exp"]
    async with secured.stream(f"{executions(org)}/{execution_id}/stream?token={token}") as stream:
        assert stream.status == 200
        blocks = await stream.blocks(timeout=5)
    assert expires <= time.time() < expires + 1.5
    assert "access expired" in blocks[-1].comments
    await until(lambda: secured.streams.open_in(org) == 0, 1)
