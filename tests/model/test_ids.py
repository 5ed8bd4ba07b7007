"""Execution ids: UUIDv7, unique, ordered by creation within a process."""

from __future__ import annotations

import uuid

from runstream.model import is_uuid, new_id


def test_ids_are_unique_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 and is_uuid(i) for i in ids)


def test_is_uuid_accepts_any_case_and_rejects_the_rest() -> None:
    assert is_uuid(new_id().upper())
    assert not is_uuid("not-a-uuid")
    assert not is_uuid("")
    assert not is_uuid("{" + new_id() + "}")
