"""Time-ordered UUIDs (RFC 9562 version 7)."""

from __future__ import annotations

import os
import time
import uuid

_last_ms = 0
_counter = 0
_pool = b""


def _random(n: int) -> int:
    """``n`` random bytes as an int, drawn from a pool refilled 4 KiB at a time (one
    syscall per few hundred ids instead of two per id)."""
    global _pool
    if len(_pool) < n:
        _pool = os.urandom(4096)
    chunk, _pool = _pool[:n], _pool[n:]
    return int.from_bytes(chunk, "big")


def new_id() -> str:
    """Return a new UUIDv7 string; ids made in one process sort by creation order."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms = _last_ms
        _counter += 1
    else:
        _last_ms = ms
        _counter = _random(2) & 0x3FF
    rand = _random(8) & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (_counter & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand
    return str(uuid.UUID(int=value))


def is_uuid(value: str) -> bool:
    """True when ``value`` is a canonical UUID string."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
