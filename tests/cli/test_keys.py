"""``runstream keys`` and the client commands against ``runstream serve --auth keys``; no
secret in the server's log or in the database in clear."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from runstream.model.keys import key_id_of
from tests.conftest import sqlite_url

from .conftest import HERE, command, environment, free_port, runstream, stop, wait_listening


@dataclass
class Secured:
    """A ``runstream serve --auth keys`` subprocess, its store and its log file."""

    url: str
    store: str
    log: Path
    process: subprocess.Popen[str]

    def __call__(self, *args: str, **env: str) -> tuple[int, str, str]:
        done = subprocess.run(
            command(*args),
            capture_output=True,
            text=True,
            timeout=30,
            env=environment(RUNSTREAM_URL=self.url, RUNSTREAM_STORE=self.store) | env,
            cwd=HERE,
        )
        return done.returncode, done.stdout, done.stderr

    def create_key(self, org: str, name: str = "test") -> str:
        code, out, err = self("keys", "create", "--org", org, "--name", name)
        assert code == 0, err
        return out.strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    directory = tmp_path_factory.mktemp("secured")
    store = sqlite_url(directory / "runstream.db")
    port = free_port()
    log = directory / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command("serve", "apps:app", "--port", str(port), "--auth", "keys"),
            env=environment(RUNSTREAM_STORE=store, RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS="0.3"),
            cwd=HERE,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_listening(port, process)
        yield Secured(f"http://127.0.0.1:{port}", store, log, process)
    finally:
        stop(process)


def test_create_prints_the_key_once_and_list_never_shows_it(secured: Secured) -> None:
    key = secured.create_key("acme", "deploys")
    key_id = key_id_of(key)
    assert key_id is not None and len(key) > 50
    code, out, err = secured("keys", "list", "--org", "acme", "--json")
    assert code == 0, err
    listed = [orjson.loads(line) for line in out.splitlines()]
    mine = [k for k in listed if k["id"] == key_id]
    assert mine and mine[0]["org"] == "acme" and mine[0]["name"] == "deploys"
    assert key not in out and key.split("_", 2)[2] not in out
    code, out, _ = secured("keys", "create", "--org", "acme", "--json")
    assert code == 0
    created = orjson.loads(out)
    assert created["key"].startswith("rs_") and created["id"] == key_id_of(created["key"])
    code, out, _ = secured("keys", "list", "--org", "nobody-here", "--json")
    assert (code, out) == (0, "")


def test_bad_arguments(secured: Secured) -> None:
    code, _, err = secured("keys", "create", "--org", "a/b")
    assert code == 2 and "organisation" in err
    code, _, err = secured("keys", "revoke", "0123456789abcdef")
    assert code == 4 and "no API key" in err
    refused = runstream("serve", "apps:app", "--auth", "sometimes")
    assert refused.code == 2 and "--auth" in refused.stderr


def test_run_follow_and_executions_with_an_api_key(secured: Secured) -> None:
    key = secured.create_key("acme")
    as_acme = {"RUNSTREAM_ORG": "acme", "RUNSTREAM_API_KEY": key}
    code, out, err = secured("run", "greet", "--input", '"ada"', "--follow", **as_acme)
    assert code == 0, err
    events = [orjson.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
    execution_id = events[-1]["data"]["id"]
    # Streams end every 0.3 s on this server: following resumes with the key each time.
    code, out, err = secured("follow", execution_id, **as_acme)
    assert code == 0 and orjson.loads(out.splitlines()[-1])["type"] == "WORKFLOW_COMPLETED"
    code, out, err = secured(
        "executions", "get", execution_id, "--api-key", key, RUNSTREAM_ORG="acme"
    )
    assert code == 0 and orjson.loads(out)["status"] == "COMPLETED"
    # Without a key: refused, with a hint.
    code, _, err = secured("executions", "list", RUNSTREAM_ORG="acme")
    assert code == 2 and "401" in err and "RUNSTREAM_API_KEY" in err
    # Another org's executions: 403 on its path, 404 on one's own.
    other = secured.create_key("globex")
    code, _, err = secured(
        "executions", "get", execution_id, RUNSTREAM_ORG="globex", RUNSTREAM_API_KEY=other
    )
    assert code == 4, err
    code, _, err = secured("executions", "list", RUNSTREAM_ORG="acme", RUNSTREAM_API_KEY=other)
    assert code == 2 and "403" in err


def test_revoke_takes_effect_on_the_running_server(secured: Secured) -> None:
    key = secured.create_key("initech")
    path = f"{secured.url}/api/orgs/initech/workflow-executions"
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(path, headers=headers).status_code == 200
    key_id = key_id_of(key)
    assert key_id is not None
    code, _, err = secured("keys", "revoke", key_id)
    assert code == 0 and key_id in err
    revoked_at = time.monotonic()
    while httpx.get(path, headers=headers).status_code != 401:
        assert time.monotonic() - revoked_at < 2.0
        time.sleep(0.05)
    code, out, _ = secured("keys", "list", "--org", "initech", "--json")
    listed = orjson.loads(out)
    assert listed["revokedAtMs"] is not None and listed["lastUsedAtMs"] is not None


def test_no_secret_in_the_log_or_the_database(secured: Secured) -> None:
    key = secured.create_key("hooli")
    headers = {"Authorization": f"Bearer {key}"}
    base = f"{secured.url}/api/orgs/hooli/workflow-executions"
    started = httpx.post(base, json={"kind": "greet", "input": "ada"}, headers=headers).json()
    minted = httpx.post(
        f"{base}/{started['id']}/stream-tokens", json={"ttlSeconds": 60}, headers=headers
    )
    token = minted.json()["token"]
    with httpx.stream("GET", f"{base}/{started['id']}/stream", params={"token": token}) as reply:
        assert reply.status_code == 200
        reply.read()
    assert httpx.get(f"{base}/{started['id']}", params={"token": token}).status_code == 200
    # Failures are logged too: a bad token, a key in the URL, a revoked key.
    assert httpx.get(base, params={"token": token + "x"}).status_code == 401
    assert httpx.get(base, params={"token": key}).status_code == 401
    key_id = key_id_of(key)
    assert key_id is not None
    assert secured("keys", "revoke", key_id)[0] == 0
    time.sleep(1.2)
    assert httpx.get(base, headers=headers).status_code == 401
    time.sleep(0.2)
    log = secured.log.read_text()
    assert "stream?token=[redacted]" in log, log[-2000:]
    secret = key.split("_", 2)[2]
    for text in (key, secret, token, token.split(".")[2]):
        assert text not in log
    database = Path(secured.store.removeprefix("sqlite:///"))
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert database in files
    for path in files:
        data = path.read_bytes()
        for text in (key, secret, token, token.split(".")[2]):
            assert text.encode() not in data, path
