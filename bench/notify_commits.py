"""Why the PostgreSQL writer announces a commit after it: commits per second of several
connections committing at once, with the ``NOTIFY`` inside each transaction and after it.

A ``NOTIFY`` inside a transaction takes PostgreSQL's cluster-wide notification lock at
commit and holds it until the commit is flushed to disk, so every notifying commit of every
process waits for the others' WAL flushes. ``PostgresBackend.commit`` sends the ``COMMIT``
and then the ``NOTIFY`` as a transaction of its own, in the same round trip. Each process
here is one runstream process's writer: pipelined groups (``BEGIN``, the database clock,
one insert) committed through ``PostgresBackend``, announced either way. Prints JSON::

    .venv/bin/python bench/notify_commits.py [--processes 4] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cluster import fresh_database
from runstream.store.hints import CHANNEL
from runstream.store.postgres import PostgresBackend

PAYLOAD = "1 origin t " + " ".join(f"execution{i:04d}:{i}" for i in range(20))


def commit_inside(backend: PostgresBackend, conn: Any) -> None:
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, PAYLOAD))
    conn.execute("COMMIT")


def commit_after(backend: PostgresBackend, conn: Any) -> None:
    backend.commit(conn, [], {"tasks"})


def writer(url: str, inside: bool, seconds: float, counts: Any, k: int) -> None:
    commit = commit_inside if inside else commit_after
    backend = PostgresBackend(url)
    backend.origin = "origin"
    conn = backend.connect()
    try:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            with backend.pipeline(conn):
                backend.open_transaction(conn)
                conn.execute("INSERT INTO scratch (x) VALUES (1)")
                commit(backend, conn)
            counts[k] += 1
    finally:
        conn.close()


def rate(url: str, inside: bool, processes: int, seconds: float) -> float:
    counts = multiprocessing.Array("l", processes)
    workers = [
        multiprocessing.Process(target=writer, args=(url, inside, seconds, counts, k))
        for k in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return round(sum(counts) / seconds, 1)


def measure(processes: int = 4, seconds: float = 5.0) -> dict[str, Any]:
    with fresh_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE scratch (x integer)")
            listener = psycopg.connect(url, autocommit=True)  # a NOTIFY with no listener
            listener.execute(f"LISTEN {CHANNEL}")  # costs nothing: make it count
        try:
            inside = rate(url, True, processes, seconds)
            after = rate(url, False, processes, seconds)
        finally:
            listener.close()
    return {
        "processes": processes,
        "seconds": seconds,
        "commits_per_s": {"notify_inside": inside, "notify_after": after},
        "after_over_inside": round(after / inside, 2) if inside else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.processes, args.seconds), indent=2))


if __name__ == "__main__":
    main()
