"""Clients that never read cost a bounded amount and give it back (``bench/stalled.py``).

Twenty sockets request the stream of a ~9 MB log and never read a byte. Before the fix
each held about its whole log (RSS +125 MiB, kept after they were dropped, and one
"ASGI callable returned without completing response" per drop).
"""

from __future__ import annotations

import pytest

from bench.stalled import measure


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_stalled_clients_hold_little_and_release_it() -> None:
    figures = await measure(clients=20, events=300, size=30_000, send_timeout=2.0)
    rss = figures["rss_mib"]
    # Generous: ~1 MiB of buffers per stalled client, and what the allocator keeps.
    assert rss["stalled_peak"] - rss["baseline"] < 48, figures
    assert rss["after_drop"] - rss["baseline"] < 32, figures
    # Dropped (at the send timeout, plus slack for a loaded machine); responsive meanwhile.
    assert figures["dropped_within_s"] < 15, figures
    assert figures["snapshot_during_stall_ms"] < 2000, figures
    assert figures["incomplete_response_log_lines"] == 0, figures
