"""Helpers for tests of a server run with ``auth="keys"``: keys, headers, paths."""

from __future__ import annotations

from typing import Any

from runstream.model.keys import key_hash, new_key

from .conftest import Live


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def make_key(live: Live, org: str, name: str | None = None) -> str:
    """A new API key of ``org``, written to the server's store as ``keys create`` does."""
    key_id, key = new_key()
    await live.engine.store.create_key(key_id, org, name, key_hash(key))
    return key


def executions(org: str, kind: str = "workflow") -> str:
    return f"/api/orgs/{org}/{kind}-executions"


async def start(live: Live, key: str, org: str, kind: str, input: Any = None) -> str:
    """Start a workflow in ``org`` with ``key``; its id."""
    response = await live.http.post(
        executions(org), json={"kind": kind, "input": input}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    execution_id: str = response.json()["id"]
    return execution_id


async def mint(
    live: Live, key: str, org: str, execution_id: str, kind: str = "workflow", **body: Any
) -> str:
    """A stream token for one execution."""
    response = await live.http.post(
        f"{executions(org, kind)}/{execution_id}/stream-tokens", json=body, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token
