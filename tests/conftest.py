"""Fixtures every test folder shares: one store URL per test, for every backend.

PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) run on every
development machine and in CI: a test that needs them fails when they are missing, it
never skips. Each PostgreSQL test gets a fresh database cloned from a template migrated
once per schema version, and dropped afterwards.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from runstream.model import new_id
from runstream.store.postgres import PostgresBackend

BACKENDS = ["sqlite", "postgresql"]
"""Backends the behavioural suite runs on; each test using ``store_url`` runs once per entry
(see ``pytest_generate_tests``)."""

PG_ADMIN = os.environ.get(
    "RUNSTREAM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
"""A database to connect to for creating and dropping the per-test ones."""
REDIS_URL = os.environ.get("RUNSTREAM_TEST_REDIS", "redis://127.0.0.1:6379/0")


def sqlite_url(path: Path) -> str:
    """The store URL of a SQLite file."""
    return f"sqlite:///{path}"


def pg_url(database: str) -> str:
    """The URL of a database on the test server."""
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests and unreachable at {PG_ADMIN}: {exc}")


_template: str | None = None


def pg_template() -> str:
    """The migrated template database of this schema (created once, kept across runs)."""
    global _template
    if _template is not None:
        return _template
    schema = resources.files("runstream.store.postgres").joinpath("schema.sql").read_bytes()
    name = "runstream_tpl_" + hashlib.sha256(schema).hexdigest()[:12]
    with _admin() as admin:
        admin.execute("SELECT pg_advisory_lock(424242)")  # other test runs may be here too
        try:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                building = f"{name}_build_{os.getpid()}"
                admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
                admin.execute(f'CREATE DATABASE "{building}"')
                backend = PostgresBackend(pg_url(building))
                conn = backend.connect()
                try:
                    backend.migrate(conn)
                finally:
                    conn.close()
                admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            admin.execute("SELECT pg_advisory_unlock(424242)")
    _template = name
    return name


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new database cloned from the migrated template, dropped at the end; its URL."""
    template = pg_template()
    name = f"rs_test_{new_id().replace('-', '')}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        # Tests need no durability across a power cut: commits skip the WAL flush (~4 ms each
        # on this disk), which makes the PostgreSQL half of the suite several times faster.
        yield pg_url(name) + "?options=-c%20synchronous_commit%3Doff"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test; its URL."""
    with fresh_pg_database() as url:
        yield url


HTTP_EDGE = ("tests/api/", "tests/cli/", "tests/docs/", "tests/dashboard/")
"""Where tests check the HTTP edge (auth, limits, frames, wire formats, fuzzing): the same
on every backend, so they run on SQLite only to keep the suite within its time budget.
The API modules that read and write through the store run on both (``BOTH``)."""
BOTH = (
    "tests/api/test_executions.py",
    "tests/api/test_resume.py",
    "tests/api/test_consolidated.py",
    "tests/api/test_stream_lifecycle.py",
    "tests/api/test_retry.py",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``store_url`` runs once per backend, but HTTP-edge tests (see
    ``HTTP_EDGE``) on SQLite only."""
    if "store_url" not in metafunc.fixturenames:
        return
    path = Path(str(metafunc.definition.fspath)).relative_to(Path(__file__).parent.parent)
    where = path.as_posix()
    edge = where.startswith(HTTP_EDGE) and not where.startswith(BOTH)
    metafunc.parametrize("store_url", ["sqlite"] if edge else BACKENDS, indirect=True)


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store for this test."""
    backend: str = request.param
    if backend == "sqlite":
        return sqlite_url(tmp_path / "runstream.db")
    if backend == "postgresql":
        url: str = request.getfixturevalue("pg_database")
        return url
    raise AssertionError(f"unknown backend {backend}")
