"""The mapping from runstream errors to HTTP statuses."""

from __future__ import annotations

from runstream.api.errors import STATUS, status_of
from runstream.errors import (
    ExecutionNotFound,
    InvalidState,
    RunstreamError,
    StoreError,
    TaskFailed,
    UnknownKind,
)


def test_status_table_covers_subclasses_and_defaults_to_500() -> None:
    class Gone(ExecutionNotFound):
        pass

    assert status_of(Gone("x")) == (404, "not_found")
    assert status_of(UnknownKind("k")) == (400, "unknown_kind")
    assert status_of(InvalidState("x", "finished")) == (409, "invalid_state")
    assert status_of(StoreError("db down")) == (503, "store_unavailable")
    assert status_of(TaskFailed("k", "t", "boom")) == (500, "internal")
    assert all(issubclass(cls, RunstreamError) for cls in STATUS)
