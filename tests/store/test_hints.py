"""The hint payloads that NOTIFY and Redis carry between processes."""

from __future__ import annotations

import pytest

from runstream.model import Event, new_id
from runstream.store.hints import MAX_PAYLOAD, decode_hints, encode_hints


def test_a_commit_round_trips() -> None:
    positions = {new_id(): 7, new_id(): 1}
    (payload,) = encode_hints("me", positions, {"tasks", "timers"})
    hints = decode_hints(payload)
    assert hints.origin == "me" and hints.positions == positions
    assert hints.wakes == {"tasks", "timers"}


def test_wakes_alone_and_nothing_at_all() -> None:
    assert decode_hints(encode_hints("me", {}, {"workflows"})[0]).wakes == {"workflows"}
    empty = decode_hints(encode_hints("me", {}, set())[0])
    assert empty.positions == {} and empty.wakes == frozenset()


def test_many_logs_split_under_the_notify_limit_and_lose_nothing() -> None:
    positions = {new_id(): i for i in range(1000)}
    payloads = encode_hints("me", positions, {"tasks"})
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD < 8000 for p in payloads)
    merged: dict[str, int] = {}
    for p in payloads:
        merged.update(decode_hints(p).positions)
    assert merged == positions
    assert decode_hints(payloads[0]).wakes == {"tasks"}
    assert all(decode_hints(p).wakes == frozenset() for p in payloads[1:])


@pytest.mark.parametrize("payload", ["", "hello", "2 me -", "1 me x", "1 me - id:notanumber"])
def test_anything_else_is_refused(payload: str) -> None:
    with pytest.raises(ValueError):
        decode_hints(payload)


def test_a_few_events_ride_along_and_many_do_not() -> None:
    execution_id = new_id()
    events = [Event(execution_id, i, "token", 1000 + i, f"t{i} é", None, None) for i in (1, 2)]
    (payload,) = encode_hints("me", {execution_id: 2}, set(), events)
    assert decode_hints(payload).events == events
    many = [Event(execution_id, i, "token", 1, "x" * 200, None, None) for i in range(1, 60)]
    (payload,) = encode_hints("me", {execution_id: 59}, set(), many)
    assert decode_hints(payload).events == []  # too big: the receiver reads the log
    assert len(payload.encode()) <= MAX_PAYLOAD
