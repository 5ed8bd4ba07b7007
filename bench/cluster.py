"""Scale-out servers: ``runstream serve --no-worker`` plus N ``runstream worker`` processes on
one fresh PostgreSQL database (``RUNSTREAM_BENCH_POSTGRES``, default the local server).

Each cluster gets its own database (created empty: the first process migrates it) and is
always torn down: every process SIGTERMed (SIGKILL after a grace period), the database
dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import psycopg

from bench.server import (
    _LAUNCHER,
    HOST,
    ROOT,
    Server,
    _environment,
    _wait_ready,
    free_port,
    stop,
)

ADMIN = os.environ.get("RUNSTREAM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
ASYNC_COMMIT = os.environ.get("RUNSTREAM_BENCH_ASYNC_COMMIT") == "1"
"""``synchronous_commit = off`` for the cluster's database: isolates the WAL flush's share."""


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.encode())


async def _spawn(directory: Path, name: str, args: list[str], env: dict[str, str]) -> Server:
    with (directory / f"{name}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LAUNCHER,
            *args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(process, 0, directory)


def _create_database() -> str:
    """A new, empty database; its URL."""
    name = f"runstream_bench_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    if ASYNC_COMMIT:
        _admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    url = _create_database()
    try:
        yield url
    finally:
        _drop_database(url)


@contextlib.asynccontextmanager
async def cluster(workers: int, env: Mapping[str, str] | None = None) -> AsyncIterator[Server]:
    """An API process (no worker) and ``workers`` worker processes on a new database; the
    API's ``Server`` (its log is ``server.log``, the workers' ``worker-N.log``)."""
    store = await asyncio.to_thread(_create_database)
    processes: list[Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="runstream-bench-") as tmp:
            directory = Path(tmp)
            settings = _environment({"RUNSTREAM_STORE": store, **(env or {})})
            port = free_port()
            api_args = ["serve", "bench.apps:app", "--no-worker", "--host", HOST]
            api = await _spawn(directory, "server", [*api_args, "--port", str(port)], settings)
            api.port = port
            processes.append(api)
            await _wait_ready(api)  # the API migrated the database; workers start after
            for n in range(workers):
                worker = await _spawn(
                    directory, f"worker-{n}", ["worker", "bench.apps:app"], settings
                )
                processes.append(worker)
            await asyncio.sleep(1.0)  # workers connected and listening
            for proc in processes:
                if proc.process.returncode is not None:
                    raise RuntimeError(f"a cluster process exited: {proc.log_tail()}")
            yield api
    finally:
        await asyncio.gather(*(stop(p) for p in processes))
        await asyncio.to_thread(_drop_database, store)
