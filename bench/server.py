"""Start and stop ``runstream serve bench.apps:app`` as a subprocess on 127.0.0.1.

Every server gets a fresh temporary directory (SQLite file and log) and a free port.
It is always stopped: SIGTERM, then SIGKILL after a grace period; on Linux it also
dies with the harness (``PR_SET_PDEATHSIG``). Call ``running`` from the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.rawhttp import HttpClient

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: the server's working directory, so ``bench.apps`` imports."""
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
QUIET = {"RUNSTREAM_LOG_LEVEL": "warning"}


@dataclass
class Server:
    """A running server."""

    process: asyncio.subprocess.Process
    port: int
    directory: Path
    """Holds ``bench.db`` and ``server.log``."""
    api_key: str | None = None
    """The key clients send when the server runs with ``--auth keys``."""

    @property
    def headers(self) -> dict[str, str]:
        """What every request to this server carries (its credential, if any)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        """Resident set size of the server process in bytes."""
        return int(psutil.Process(self.pid).memory_info().rss)

    def connections(self) -> int:
        """TCP connections the server process holds on its port (established or closing)."""
        held = psutil.Process(self.pid).net_connections(kind="tcp")
        return sum(1 for c in held if c.laddr and c.laddr.port == self.port and c.raddr)

    def log_tail(self, chars: int = 3000) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# Runs ``runstream.cli.main`` after asking Linux to SIGKILL it when the harness's main
# thread ends (PR_SET_PDEATHSIG), so not even a killed harness leaves a server behind.
_LAUNCHER = """
import ctypes, runpy, signal, sys
try:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)
except (OSError, AttributeError):
    pass
sys.argv[0] = "runstream"
runpy.run_module("runstream.cli.main", run_name="__main__", alter_sys=True)
"""


def _command(directory: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        _LAUNCHER,
        "serve",
        "bench.apps:app",
        "--store",
        f"sqlite:///{directory / 'bench.db'}",
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def _environment(overrides: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) if not path else f"{ROOT}{os.pathsep}{path}"
    env.update(QUIET)
    env.update(overrides)
    return env


async def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    client = HttpClient(HOST, server.port, size=1, headers=server.headers)
    try:
        while True:
            if server.process.returncode is not None:
                raise RuntimeError(
                    f"runstream serve exited with code {server.process.returncode}:\n"
                    + server.log_tail()
                )
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                status, _ = await client.request(
                    "GET", "/api/orgs/default/workflow-executions?limit=1"
                )
                if status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"runstream serve did not answer within {START_TIMEOUT_S:.0f} s:\n"
                    + server.log_tail()
                )
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def stop(server: Server) -> int:
    """SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``; returns the exit code.

    Shielded: a cancelled scenario still waits for its server to be gone.
    """
    process = server.process

    async def terminate() -> int:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
        return await process.wait()

    ending = asyncio.ensure_future(terminate())
    try:
        return await asyncio.shield(ending)
    except asyncio.CancelledError:
        await ending
        raise


async def _create_key(directory: Path) -> str:
    """``runstream keys create`` on the server's store, before it starts; the new key."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runstream.cli.main",
        "keys",
        "create",
        "--org",
        "default",
        "--name",
        "bench",
        "--store",
        f"sqlite:///{directory / 'bench.db'}",
        cwd=ROOT,
        env=_environment({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"runstream keys create failed: {err.decode()[-1000:]}")
    return out.decode().strip()


@contextlib.asynccontextmanager
async def running(
    env: Mapping[str, str] | None = None, *, auth: str = "none"
) -> AsyncIterator[Server]:
    """A fresh server (new SQLite file, free port) for the duration of the block.

    Args:
        env: ``RUNSTREAM_*`` settings for the server, e.g. the heartbeat interval.
        auth: ``keys`` runs it with ``--auth keys`` and a key for org ``default``, which
            the drivers send with every request (``Server.headers``).
    """
    with tempfile.TemporaryDirectory(prefix="runstream-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        api_key = await _create_key(directory) if auth == "keys" else None
        env = {**(env or {}), "RUNSTREAM_AUTH": auth}
        with (directory / "server.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *_command(directory, port),
                cwd=ROOT,
                env=_environment(env or {}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, port, directory, api_key)
        try:
            await _wait_ready(server)
            yield server
        finally:
            await stop(server)
