"""The ``runstream`` command as real subprocesses, and a ``runstream serve`` to talk to."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from runstream.client import Client
from tests.conftest import sqlite_url

HERE = Path(__file__).parent
T = TypeVar("T")


@dataclass
class Result:
    """How a command ended."""

    code: int
    stdout: str
    stderr: str

    def lines(self) -> list[dict[str, Any]]:
        """Stdout as JSON lines."""
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


def environment(**extra: str) -> dict[str, str]:
    """The parent's environment without RUNSTREAM_* variables, this directory importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env | extra


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "runstream.cli.main", *args]


def runstream(*args: str, timeout: float = 30, **env: str) -> Result:
    """Run ``runstream ARGS`` to its end (killed after ``timeout`` seconds)."""
    done = subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(**env),
        cwd=HERE,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[str], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it does not end in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Server:
    """A ``runstream serve apps:app`` subprocess."""

    url: str
    process: subprocess.Popen[str]

    def __call__(self, *args: str, timeout: float = 30, **env: str) -> Result:
        """Run a client command against this server."""
        return runstream(*args, timeout=timeout, RUNSTREAM_URL=self.url, **env)

    def api(self, call: Callable[[Client], Awaitable[T]]) -> T:
        """Set up or check state directly through the Python client (no subprocess)."""

        async def calling() -> T:
            async with Client(self.url) as client:
                return await call(client)

        return asyncio.run(calling())

    def start(self, kind: str, input: Any = None) -> str:
        """Start a workflow; its id."""
        return self.api(lambda c: c.start(kind, input)).id


def wait_listening(port: int, process: subprocess.Popen[str], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runstream serve exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("runstream serve did not start listening")


@contextmanager
def serving(store: Path, **env: str) -> Iterator[Server]:
    """A ``runstream serve apps:app`` subprocess on the SQLite file ``store``."""
    port = free_port()
    process = subprocess.Popen(
        command("serve", "apps:app", "--port", str(port), "--log-level", "warning"),
        env=environment(RUNSTREAM_STORE=sqlite_url(store), **env),
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_listening(port, process)
        yield Server(f"http://127.0.0.1:{port}", process)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a test module; streams end every 0.3 s so every follow must resume."""
    store = tmp_path_factory.mktemp("serve") / "runstream.db"
    with serving(store, RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS="0.3") as running:
        yield running
