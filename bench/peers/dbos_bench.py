"""DBOS peer benchmark: DBOS Transact in this process, SQLite system database in a temp dir,
or (``--postgres``) a fresh PostgreSQL database on ``RUNSTREAM_BENCH_POSTGRES`` (default
the local server), dropped afterwards.

Run with the peers virtualenv: ``.venv-peers/bin/python bench/peers/dbos_bench.py``.
Prints one JSON report on stdout; logs go to stderr. See README.md in this folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import sqlalchemy as sa
from common import (
    Figures,
    Sizes,
    emit_report,
    exit_on_signal,
    latency_summary,
    log,
    parse_args,
    sizes_for,
    throughput_figures,
    versions,
)
from dbos import DBOS, DBOSConfig

STREAM_KEY = "events"
# Tuned profile: a reader re-checks the stream every 10 ms. SQLite has no LISTEN/NOTIFY, so
# DBOS polls; its documented default is notification_listener_polling_interval_sec = 1.0.
TUNED_STREAM_POLL_S = 0.010
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")
T = TypeVar("T")


@DBOS.step()
def echo(value: int) -> int:
    return value


@DBOS.workflow()
def one_task(value: int) -> int:
    return echo(value)


@DBOS.workflow()
def sequential(tasks: int) -> int:
    return sum(echo(i) for i in range(tasks))


@DBOS.step()
def emit_events(duration_s: float, interval_s: float) -> int:
    """Write the send time (``time.time()``) to the workflow's stream every ``interval_s``."""
    start = next_at = time.monotonic()
    sent = 0
    while time.monotonic() - start < duration_s:
        DBOS.write_stream(STREAM_KEY, time.time())
        sent += 1
        # Keep the cadence, but never send a burst to catch up after a slow write.
        next_at = max(next_at + interval_s, time.monotonic())
        time.sleep(max(0.0, next_at - time.monotonic()))
    DBOS.close_stream(STREAM_KEY)
    return sent


@DBOS.workflow()
def event_stream(duration_s: float, interval_s: float) -> int:
    return emit_events(duration_s, interval_s)


class ScenarioTimeout(Exception):
    pass


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise ScenarioTimeout(f"scenario exceeded its time limit (signal {signum})")


def bounded(scenario: Callable[[Sizes], T], sizes: Sizes) -> T:
    """Run a scenario under SIGALRM so a hang becomes an error instead of a stuck script."""
    signal.setitimer(signal.ITIMER_REAL, sizes.scenario_timeout_s)
    try:
        return scenario(sizes)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def throughput(sizes: Sizes) -> Figures:
    count = sizes.throughput_workflows
    started = time.perf_counter()
    handles = [DBOS.start_workflow(one_task, i) for i in range(count)]
    results = [handle.get_result() for handle in handles]
    elapsed = time.perf_counter() - started
    if results != list(range(count)):
        raise RuntimeError("throughput workflows returned wrong results")
    return throughput_figures(count, elapsed)


def sequential20(sizes: Sizes) -> Figures:
    tasks = sizes.sequential_tasks
    started = time.perf_counter()
    DBOS.start_workflow(sequential, tasks).get_result()
    return {"tasks": tasks, "seconds": round(time.perf_counter() - started, 4)}


def start_to_result(sizes: Sizes) -> Figures:
    latencies_ms: list[float] = []
    for i in range(sizes.start_to_result_samples):
        started = time.perf_counter()
        DBOS.start_workflow(one_task, i).get_result()
        latencies_ms.append((time.perf_counter() - started) * 1000)
    return {"tasks_per_workflow": 1, **latency_summary(latencies_ms)}


def event_latency(sizes: Sizes, poll_s: float | None) -> Figures:
    handle = DBOS.start_workflow(event_stream, sizes.event_duration_s, sizes.event_interval_s)
    latencies_ms: list[float] = []
    for sent in DBOS.read_stream(
        handle.get_workflow_id(), STREAM_KEY, polling_interval_sec=poll_s, timeout_seconds=30
    ):
        latencies_ms.append((time.time() - sent) * 1000)
    sent_count = handle.get_result()
    if len(latencies_ms) != sent_count:
        raise RuntimeError(f"stream reader saw {len(latencies_ms)} of {sent_count} events")
    poll = "default (notification_listener_polling_interval_sec)" if poll_s is None else poll_s
    summary = latency_summary(latencies_ms, p99=True)
    return {"mode": "read_stream", "polling_interval_s": poll, **summary}


def one_run(sizes: Sizes, stream_poll_s: float | None) -> dict[str, Figures]:
    figures = {
        "throughput": bounded(throughput, sizes),
        "sequential20": bounded(sequential20, sizes),
        "start_to_result": bounded(start_to_result, sizes),
        "event_latency": bounded(lambda s: event_latency(s, stream_poll_s), sizes),
    }
    log(f"run: {figures}")
    return figures


def set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(f"PRAGMA {pragma}")


@contextmanager
def launched(config: DBOSConfig) -> Iterator[None]:
    DBOS(config=config)
    try:
        DBOS.launch()
        yield
    finally:
        log("shutting DBOS down")
        DBOS.destroy(workflow_completion_timeout_sec=5)


POSTGRES_ADMIN = os.environ.get(
    "RUNSTREAM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database for DBOS's system tables; dropped at the end."""
    import psycopg

    name = f"dbos_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def main() -> None:
    postgres = "--postgres" in sys.argv
    if postgres:
        sys.argv.remove("--postgres")
    args = parse_args(__doc__ or "")
    sizes = sizes_for(args)
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.signal(signal.SIGTERM, exit_on_signal)
    if not args.defaults:
        # Every SQLAlchemy engine made from now on, DBOS's system database engine included.
        sa.event.listen(sa.engine.Engine, "connect", set_sqlite_pragmas)
    stream_poll_s = None if args.defaults else TUNED_STREAM_POLL_S
    with contextlib.ExitStack() as stack:
        if postgres:
            database_url = stack.enter_context(postgres_database())
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dbos-peer-"))
            database_url = f"sqlite:///{Path(tmp) / 'dbos_system.sqlite'}"
        config: DBOSConfig = {
            "name": "peer-bench",
            "system_database_url": database_url,
            "log_level": "WARNING",
        }
        log(f"launching DBOS with {config['system_database_url']}")
        with launched(config):
            log("warm-up")
            bounded(start_to_result, sizes)
            runs = []
            for number in range(1, args.runs + 1):
                log(f"run {number}/{args.runs}")
                runs.append(one_run(sizes, stream_poll_s))
    config_report = {
        "profile": "dbos-defaults" if args.defaults else "tuned",
        "system_database": "PostgreSQL: a fresh database on the local server (defaults)"
        if postgres
        else "SQLite file in a temp dir (DBOS sqlite:// URL); no network listener",
        "sqlite_pragmas": None
        if postgres
        else "DBOS defaults (rollback journal, synchronous=FULL)"
        if args.defaults
        else list(SQLITE_PRAGMAS),
        "max_executor_threads": "unbounded (default)",
        "workflows": "sync def workflows and steps, started with DBOS.start_workflow",
        "event_latency": "step calls DBOS.write_stream; main thread iterates DBOS.read_stream "
        f"with polling_interval_sec={stream_poll_s or 'default (1.0 s)'}",
        "sizes": sizes.__dict__,
    }
    name = "dbos-postgres" if postgres else "dbos"
    emit_report(name, versions("dbos", "SQLAlchemy"), config_report, runs)


if __name__ == "__main__":
    main()
