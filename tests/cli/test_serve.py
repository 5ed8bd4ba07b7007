"""``runstream serve`` as an operator meets it: refusals, warnings and a prompt SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.conftest import sqlite_url

from .conftest import HERE, command, environment, free_port, runstream, stop, wait_listening


@dataclass
class Served:
    """A ``runstream serve`` subprocess; ``stderr`` is filled in once it has stopped."""

    process: subprocess.Popen[str]
    port: int
    stderr: str = ""


@contextmanager
def serving(*args: str, port: int | None = None, **env: str) -> Iterator[Served]:
    """``runstream serve apps:app ARGS`` on a free port, stopped (SIGTERM) after the block."""
    port = free_port() if port is None else port
    process = subprocess.Popen(
        command("serve", "apps:app", "--port", str(port), *args),
        env=environment(**env),
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(process, port)
    try:
        if port:
            wait_listening(port, process)
        yield served
    finally:
        stop(process)
        assert process.stderr is not None
        with process.stderr:
            served.stderr = process.stderr.read()


@pytest.mark.parametrize("through", ["the same path", "a symlink"])
def test_a_refused_second_serve_prints_no_banner(tmp_path: Path, through: str) -> None:
    store = tmp_path / "runstream.db"
    with serving("--store", sqlite_url(store)) as first:
        if through == "a symlink":
            (tmp_path / "alias.db").symlink_to(store)
            store = tmp_path / "alias.db"
        second = runstream("serve", "apps:app", "--port", "0", "--store", sqlite_url(store))
        assert first.process.poll() is None
    assert second.code != 0
    assert "is in use by pid" in second.stderr, second.stderr
    assert "serving" not in second.stderr, second.stderr


def test_the_banner_names_the_port_actually_bound(tmp_path: Path) -> None:
    with serving("--store", sqlite_url(tmp_path / "x.db"), port=0) as served:
        assert served.process.stderr is not None
        line = served.process.stderr.readline()
        while "serving" not in line and served.process.poll() is None:
            line = served.process.stderr.readline()
    assert "on http://127.0.0.1:" in line and ":0 " not in line, line


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_serving_beyond_loopback_warns_that_auth_is_off(
    tmp_path: Path, host: str, warned: bool
) -> None:
    with serving("--host", host, "--store", sqlite_url(tmp_path / "x.db")) as served:
        pass
    warning = [line for line in served.stderr.splitlines() if "auth is off" in line]
    assert bool(warning) is warned, served.stderr
    if warned:
        # stderr is a pipe here, so runstream's log lines are JSON.
        line = orjson.loads(warning[0])
        assert line["level"] == "warning" and "0.0.0.0" in line["message"]


def test_sigterm_ends_an_idle_server_well_under_a_second(tmp_path: Path) -> None:
    store = sqlite_url(tmp_path / "x.db")
    with serving("--store", store, "--log-level", "warning") as served:
        held = []
        # A keep-alive connection between requests, one that sent nothing, and one that
        # sent half a request body: none of them may hold the shutdown up.
        for request in (
            b"GET /api/orgs/default/workflow-executions HTTP/1.1\r\nHost: x\r\n\r\n",
            b"",
            b"POST /api/orgs/default/workflow-executions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"kind":',
        ):
            sock = socket.create_connection(("127.0.0.1", served.port))
            sock.sendall(request)
            held.append(sock)
        time.sleep(0.5)
        began = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(10)
        took = time.monotonic() - began
        for sock in held:
            sock.close()
    assert served.process.returncode == 0, served.stderr
    # Typically 0.3–0.6 s here, interpreter exit included; the margin is for a loaded machine
    # (a body left half-sent used to hold the shutdown for the whole 5 s grace period).
    assert took < 2.0, f"SIGTERM took {took:.2f} s"
