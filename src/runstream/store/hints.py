"""What a commit tells other processes: per log its newest seq, and the work it made.

A hint is a wake-up, never data: the receiver reads the events from the store. Hints are
text so that PostgreSQL's ``NOTIFY`` and Redis pub/sub carry them alike, and a commit
touching many logs is split into several payloads, each under PostgreSQL's 8000-byte limit::

    1 <origin> <wakes> <execution id>:<seq> <execution id>:<seq> …

``wakes`` is a subset of ``t`` (tasks), ``w`` (workflows), ``m`` (timers), or ``-``.

When a commit's events fit in the same payload (a few tokens or data events, the common
case of a live stream), they follow on a second line as JSON, so a receiver can hand them
to its subscribers without reading them back: the same events, with the same seqs, as the
log holds. Receivers that miss some, or get none, read the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from runstream.model import Event
from runstream.store.base import Wake

CHANNEL = "runstream"
"""The PostgreSQL ``NOTIFY`` channel."""
MAX_PAYLOAD = 7900
"""Bytes per payload; PostgreSQL refuses 8000 and more."""
MAX_EVENTS = 64
"""More events than this are not worth encoding: they would not fit anyway."""
_LETTERS: dict[Wake, str] = {"tasks": "t", "workflows": "w", "timers": "m"}
_WAKES: dict[str, Wake] = {letter: wake for wake, letter in _LETTERS.items()}


@dataclass(frozen=True, slots=True)
class Hints:
    """One decoded payload."""

    origin: str
    """The store instance whose commit this was (a process ignores its own)."""
    positions: dict[str, int]
    """Newest committed seq per execution id."""
    wakes: frozenset[Wake]
    """Work the commit made available."""
    events: list[Event] = field(default_factory=list)
    """The commit's events when they fitted in the payload (else empty: read the log)."""


def encode_hints(
    origin: str,
    positions: Mapping[str, int],
    wakes: Iterable[Wake],
    events: Sequence[Event] = (),
) -> list[str]:
    """Payloads for one commit (wake-ups ride in the first), each under ``MAX_PAYLOAD``;
    the ``events`` too when everything fits in one."""
    letters = "".join(sorted(_LETTERS[w] for w in wakes)) or "-"
    payloads: list[str] = []
    head = f"1 {origin} {letters}"
    current = head
    for execution_id, seq in positions.items():
        item = f" {execution_id}:{seq}"
        if len(current) + len(item) > MAX_PAYLOAD and current != head:
            payloads.append(current)
            head = f"1 {origin} -"
            current = head
        current += item
    if events and len(events) <= MAX_EVENTS and not payloads:
        rows = [[e.execution_id, e.seq, e.type, e.ts, e.data, e.task_id, e.attempt] for e in events]
        body = orjson.dumps(rows).decode()
        if len(current.encode()) + 1 + len(body.encode()) <= MAX_PAYLOAD:
            current += "\n" + body
    payloads.append(current)
    return payloads


def decode_hints(payload: str) -> Hints:
    """The hints of one payload; raises ``ValueError`` for anything else."""
    payload, _, body = payload.partition("\n")
    parts = payload.split(" ")
    if len(parts) < 3 or parts[0] != "1":
        raise ValueError(f"not a runstream hint: {payload[:80]!r}")
    try:
        wakes = frozenset() if parts[2] == "-" else frozenset(_WAKES[c] for c in parts[2])
    except KeyError:
        raise ValueError(f"unknown wake-up in {parts[2]!r}") from None
    positions: dict[str, int] = {}
    for item in parts[3:]:
        execution_id, _, seq = item.rpartition(":")
        positions[execution_id] = int(seq)
    events: list[Event] = []
    if body:
        try:
            events = [Event(*row) for row in orjson.loads(body)]
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"malformed events in a hint: {exc}") from None
    return Hints(parts[1], positions, wakes, events)
