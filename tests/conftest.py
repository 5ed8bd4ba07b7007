"""Fixtures every test folder shares: one store URL per test, for every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ["sqlite"]
"""Backends the behavioural suite runs on; each test using ``store_url`` runs once per entry."""


def sqlite_url(path: Path) -> str:
    """The store URL of a SQLite file."""
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store for this test."""
    backend: str = request.param
    if backend == "sqlite":
        return sqlite_url(tmp_path / "runstream.db")
    raise AssertionError(f"unknown backend {backend}")
