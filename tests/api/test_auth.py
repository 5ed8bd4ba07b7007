"""SPEC §10 against a real server run with ``auth="keys"``: 401, 403, 404, keys, isolation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI

import runstream as rs
from runstream.api.auth import ActingOrg
from runstream.api.server import server
from runstream.model import new_id
from runstream.model.keys import key_hash, new_key
from tests.conftest import sqlite_url

from .auth import bearer, executions, make_key, start
from .conftest import FAST, Live, serving, until
from .flows import app

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHALLENGE = 'Bearer realm="runstream"'


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """One server with ``auth="keys"`` for the module."""
    store = tmp_path_factory.mktemp("auth") / "runstream.db"
    async with serving(sqlite_url(store), auth="keys") as running:
        yield running


def org() -> str:
    """A fresh organisation: orgs exist implicitly, so every test has its own."""
    return f"org-{new_id()[-8:]}"


def assert_unauthorized(response: httpx.Response, invalid: bool = True) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith(CHALLENGE)
    assert ('error="invalid_token"' in response.headers["www-authenticate"]) is invalid
    assert response.json()["error"]["code"] == "unauthorized"


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


async def test_no_credential_is_401_on_every_family_of_route(secured: Live) -> None:
    acme = org()
    key = await make_key(secured, acme)
    execution_id = await start(secured, key, acme, "gated")
    base = f"{executions(acme)}/{execution_id}"
    for method, path in [
        ("GET", executions(acme)),
        ("POST", executions(acme)),
        ("GET", base),
        ("GET", f"{base}/events"),
        ("GET", f"{base}/stream"),
        ("GET", f"{base}/stream/consolidated"),
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/stream-tokens"),
        ("GET", f"{executions(acme, 'task')}/{execution_id}"),
    ]:
        assert_unauthorized(await secured.http.request(method, path), invalid=False)
    # The schema and its docs page stay public.
    assert (await secured.http.get("/openapi.json")).status_code == 200
    assert (await secured.http.get("/docs")).status_code == 200


async def test_garbage_unknown_and_misplaced_credentials_are_401(secured: Live) -> None:
    acme = org()
    key = await make_key(secured, acme)
    _, unknown = new_key()
    path = executions(acme)
    for headers in [
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": key},
        bearer("rs_0123456789abcdef_short"),
        bearer(unknown),
        bearer(key[:-1] + ("A" if key[-1] != "A" else "B")),
    ]:
        assert_unauthorized(await secured.http.get(path, headers=headers))
    assert_unauthorized(await secured.http.get(path, params={"token": "garbage"}))
    # A key in a URL would end up in logs and browser history: refused even though valid.
    in_url = await secured.http.get(path, params={"token": key})
    assert_unauthorized(in_url)
    assert "Authorization header" in in_url.json()["error"]["message"]
    assert (await secured.http.get(path, headers=bearer(key))).status_code == 200


async def test_a_revoked_key_is_refused_within_two_seconds(secured: Live) -> None:
    acme = org()
    key = await make_key(secured, acme)
    path = executions(acme)
    assert (await secured.http.get(path, headers=bearer(key))).status_code == 200
    key_id = key.split("_")[1]
    revoked = await secured.engine.store.revoke_key(key_id)
    assert revoked is not None and revoked.revoked_at is not None
    began = time.monotonic()

    async def refused() -> bool:
        return (await secured.http.get(path, headers=bearer(key))).status_code == 401

    await until(refused, 5)
    assert time.monotonic() - began < 2.0
    assert_unauthorized(await secured.http.get(path, headers=bearer(key)))


async def test_a_key_created_while_serving_works_within_two_seconds(secured: Live) -> None:
    acme = org()
    key_id, key = new_key()
    path = executions(acme)
    # Unknown ids are cached too; creating the key must still take effect promptly.
    assert_unauthorized(await secured.http.get(path, headers=bearer(key)))
    await secured.engine.store.create_key(key_id, acme, "late", key_hash(key))
    began = time.monotonic()

    async def accepted() -> bool:
        return (await secured.http.get(path, headers=bearer(key))).status_code == 200

    await until(accepted, 5)
    assert time.monotonic() - began < 2.0


async def test_another_orgs_path_is_403(secured: Live) -> None:
    acme, globex = org(), org()
    acme_key, globex_key = await make_key(secured, acme), await make_key(secured, globex)
    theirs = await start(secured, globex_key, globex, "gated")
    base = f"{executions(globex)}/{theirs}"
    for method, path in [
        ("GET", executions(globex)),
        ("POST", executions(globex)),
        ("GET", base),
        ("GET", f"{base}/events"),
        ("GET", f"{base}/stream"),
        ("GET", f"{base}/stream/consolidated"),
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/messages"),
        ("POST", f"{base}/promises/go/resolve"),
        ("POST", f"{base}/stream-tokens"),
    ]:
        json: dict[str, str] | None = {} if method == "POST" else None
        response = await secured.http.request(method, path, json=json, headers=bearer(acme_key))
        assert_forbidden(response)
    assert (await secured.engine.get(theirs)).status.value == "WAITING"


async def test_another_orgs_execution_under_ones_own_path_is_404(secured: Live) -> None:
    acme, globex = org(), org()
    acme_key, globex_key = await make_key(secured, acme), await make_key(secured, globex)
    theirs = await start(secured, globex_key, globex, "gated")
    for execution_id in (theirs, new_id()):
        base = f"{executions(acme)}/{execution_id}"
        answers = []
        for method, path in [
            ("GET", base),
            ("GET", f"{base}/events"),
            ("GET", f"{base}/stream"),
            ("GET", f"{base}/stream/consolidated"),
            ("POST", f"{base}/cancel"),
            ("POST", f"{base}/promises/go/resolve"),
            ("POST", f"{base}/stream-tokens"),
        ]:
            json: dict[str, str] | None = {} if method == "POST" else None
            response = await secured.http.request(method, path, json=json, headers=bearer(acme_key))
            assert response.status_code == 404, (path, response.text)
            answers.append(response.json()["error"]["code"])
        assert set(answers) == {"not_found"}
    # Same answer as an id that does not exist: the body names only the id asked for.
    assert (await secured.engine.get(theirs)).status.value == "WAITING"


async def test_listing_shows_only_the_keys_org(secured: Live) -> None:
    acme, globex = org(), org()
    acme_key, globex_key = await make_key(secured, acme), await make_key(secured, globex)
    mine = {await start(secured, acme_key, acme, "gated") for _ in range(2)}
    theirs = {await start(secured, globex_key, globex, "gated") for _ in range(3)}
    listed = await secured.http.get(executions(acme), headers=bearer(acme_key))
    ids = {item["id"] for item in listed.json()["items"]}
    assert ids == mine and not ids & theirs
    assert {item["org"] for item in listed.json()["items"]} == {acme}


async def test_auth_off_ignores_credentials_and_acts_in_the_paths_org(
    serve: Callable[..., AbstractAsyncContextManager[Live]],
) -> None:
    async with serve() as live:
        response = await live.http.post(executions("anyone"), json={"kind": "gated"})
        assert response.status_code == 201
        execution_id = response.json()["id"]
        assert response.json()["org"] == "anyone"
        noisy = await live.http.get(
            f"{executions('anyone')}/{execution_id}", headers=bearer("garbage")
        )
        assert noisy.status_code == 200
        # Tokens can be minted (a page written for --auth keys works unchanged).
        minted = await live.http.post(f"{executions('anyone')}/{execution_id}/stream-tokens")
        assert minted.status_code == 201
        schema = (await live.http.get("/openapi.json")).json()
        assert "security" not in schema


async def test_openapi_declares_the_credentials(secured: Live) -> None:
    schema = (await secured.http.get("/openapi.json")).json()
    assert set(schema["components"]["securitySchemes"]) == {"apiKey", "streamToken"}
    assert schema["components"]["securitySchemes"]["streamToken"]["name"] == "token"
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert {"401", "403"} <= set(operation["responses"])


async def test_keys_are_stored_hashed(secured: Live) -> None:
    acme = org()
    key = await make_key(secured, acme, "hashed")
    assert (await secured.http.get(executions(acme), headers=bearer(key))).status_code == 200
    found = await secured.engine.store.find_key(key.split("_")[1])
    assert found is not None
    record, stored = found
    assert stored == key_hash(key) and key.encode() not in stored
    assert record.org == acme and record.name == "hashed"

    async def used() -> bool:
        keys = await secured.engine.store.list_keys(acme)
        return keys[0].last_used_at is not None

    await until(used, 2)


@pytest.mark.parametrize(
    ("host", "auth", "warned"),
    [
        ("0.0.0.0", "none", True),
        ("::", "none", True),
        ("192.0.2.7", "none", True),
        ("example.internal", "none", True),
        ("0.0.0.0", "keys", False),
        ("127.0.0.1", "none", False),
        ("127.0.0.2", "none", False),
        ("::1", "none", False),
        ("localhost", "none", False),
    ],
)
async def test_serving_other_machines_without_auth_logs_a_warning(
    host: str, auth: str, warned: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The warning is logged when the server is made, before it binds: nothing listens here.
    engine = rs.Engine(app, store=sqlite_url(tmp_path / "runstream.db"))
    logger = logging.getLogger("runstream.api.server")
    logger.addHandler(caplog.handler)  # runstream's loggers may not propagate (streamlog)
    try:
        server(engine, replace(FAST, host=host, auth=auth))  # type: ignore[arg-type]
    finally:
        logger.removeHandler(caplog.handler)
    # The same record may reach the capture twice (directly and through propagation).
    lines = list({id(r): r for r in caplog.records if "auth is off" in r.getMessage()}.values())
    assert len(lines) == int(warned)
    assert all(r.levelno == logging.WARNING and host in r.getMessage() for r in lines)


async def test_a_router_included_later_is_guarded_and_acts_in_the_keys_org(
    tmp_path: Path,
) -> None:
    # What the v0 and runs APIs get by being included: the same checks, and the key's org.
    extra = APIRouter(prefix="/api/v0")

    @extra.get("/whoami")
    async def whoami(org: ActingOrg) -> dict[str, str]:
        return {"org": org}

    settings = replace(FAST, auth="keys", store_url=sqlite_url(tmp_path / "runstream.db"))
    async with rs.Engine(app, store=settings.store_url) as engine:
        running = server(engine, settings, log_level="warning", access_log=False)
        api = running.config.app
        assert isinstance(api, FastAPI)
        api.include_router(extra)
        task = asyncio.create_task(running.serve())
        try:
            await until(lambda: running.started, 5)
            key_id, key = new_key()
            await engine.store.create_key(key_id, "acme", None, key_hash(key))
            execution_id = await engine.start("gated", org="acme")
            url = f"http://127.0.0.1:{running.port}/api/v0/whoami"
            async with httpx.AsyncClient() as http:
                assert_unauthorized(await http.get(url), invalid=False)
                mine = await http.get(url, headers=bearer(key))
                assert mine.status_code == 200 and mine.json() == {"org": "acme"}
                base = f"http://127.0.0.1:{running.port}{executions('acme')}/{execution_id.id}"
                token = (await http.post(f"{base}/stream-tokens", headers=bearer(key))).json()
                assert_forbidden(await http.get(url, params={"token": token["token"]}))
        finally:
            running.should_exit = True
            await asyncio.wait_for(task, 10)
