"""Statuses as clients spell them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from runstream.model import Status


def test_status_accepts_any_case_at_the_edge() -> None:
    assert Status("completed") is Status.COMPLETED
    assert TypeAdapter(Status).validate_python("Waiting") is Status.WAITING
    with pytest.raises(ValueError):
        Status("done")
