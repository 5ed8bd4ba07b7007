"""The runs API with ``auth="keys"``: a run belongs to its key's organisation (SPEC §10)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import sqlite_url

from ..auth import bearer, make_key
from ..conftest import serving
from .helpers import RUNS


async def test_runs_act_in_the_keys_org_and_need_a_key(tmp_path: Path) -> None:
    async with serving(sqlite_url(tmp_path / "runstream.db"), auth="keys") as live:
        acme, other = await make_key(live, "acme"), await make_key(live, "other")
        start = f"{RUNS}/claude-code/run/chat"
        anonymous = await live.http.post(start, json={"message": "hi"})
        assert anonymous.status_code == 401
        started = await live.http.post(start, json={"message": "hi"}, headers=bearer(acme))
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        assert (await live.engine.get(run_id)).org == "acme"

        status = f"{RUNS}/claude-code/run/{run_id}/status"
        assert (await live.http.get(status, headers=bearer(acme))).status_code == 200
        assert (await live.http.get(status, headers=bearer(other))).status_code == 404
        foreign = await live.http.post(
            f"{RUNS}/{run_id}/messages", json={"message": "x"}, headers=bearer(other)
        )
        assert foreign.status_code == 404
        assert (await live.http.get(f"{RUNS}/{run_id}/stream")).status_code == 401

        url = f"ws://127.0.0.1:{live.server.port}{RUNS}/{run_id}/ws"
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            async with connect(url) as socket:
                await asyncio.wait_for(socket.recv(), 5)
        async with connect(url, additional_headers=bearer(other)) as socket:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
            assert socket.close_code == 4404
        async with connect(url, additional_headers=bearer(acme)) as socket:
            first = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
            assert first["type"] == "system"
        await live.finished(run_id)
