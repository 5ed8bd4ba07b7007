"""``resume``: one client drops 1,000 times during a busy execution and resumes each time.

A task emits ``rate_per_s`` tokens/s for ``duration_s``. One client reads a random 1..40
events, resets the connection (TCP RST), reconnects with ``Last-Event-ID`` and repeats
``disconnects`` times, then reads to the end. Afterwards the whole log is fetched through
the ``/events`` JSON pages: the union of the ids received must equal the log, with no
duplicates (SPEC §9).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from bench import driver
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import Server, running
from bench.sse import Frame
from bench.stats import Figures


@dataclass(frozen=True)
class Params:
    disconnects: int = 1000
    max_read: int = 40
    rate_per_s: float = 2000.0
    duration_s: float = 12.0
    """Long enough that 1,000 reads of 1..40 events (≈ 20,500) end before the log does."""
    delay_s: float = 0.2
    seed: int | None = None
    """Seed of the random read lengths; a fresh one (recorded) when None."""


def params(quick: bool) -> Params:
    return Params(disconnects=50, duration_s=1.0) if quick else Params()


class Reader:
    """The one client: every id it received, over all its connections."""

    def __init__(self, rng: random.Random, max_read: int) -> None:
        self.ids: list[int] = []
        self._rng = rng
        self._max_read = max_read
        self._budget = 0

    def arm(self, limited: bool) -> None:
        """Read a random 1..max_read events on the next connection (or all when not limited)."""
        self._budget = self._rng.randint(1, self._max_read) if limited else -1

    def on_frame(self, frame: Frame, received: float) -> bool:
        if frame.id is not None:
            self.ids.append(int(frame.id))
        if self._budget < 0:
            return True
        self._budget -= 1
        return self._budget > 0

    @property
    def last_id(self) -> str | None:
        return str(self.ids[-1]) if self.ids else None


async def _follow(server: Server, execution_id: str, reader: Reader, p: Params) -> tuple[int, int]:
    """Disconnect ``p.disconnects`` times, then read to the end; returns (drops, 204s)."""
    drops = no_content = 0
    while True:
        reader.arm(limited=drops < p.disconnects)
        client = await driver.open_stream(
            server, execution_id, reader.on_frame, last_event_id=reader.last_id
        )
        why = await client.done
        if why == "aborted":
            drops += 1
        elif why == "status":
            if await client.opened != 204:
                raise RuntimeError(f"stream answered {await client.opened}")
            no_content += 1
            return drops, no_content
        elif why == "end":
            return drops, no_content
        else:
            raise RuntimeError(f"the server dropped the stream ({why})")


async def run(p: Params) -> Figures:
    seed = p.seed if p.seed is not None else random.randrange(2**32)
    reader = Reader(random.Random(seed), p.max_read)
    spec = {"rate": p.rate_per_s, "duration": p.duration_s, "delay": p.delay_s}
    async with running() as server:
        http = driver.client_for(server)
        try:
            execution_id = await driver.start_workflow(http, "tokens", spec)
            began = time.monotonic()
            drops, no_content = await _follow(server, execution_id, reader, p)
            elapsed = time.monotonic() - began
            log = await driver.read_log(http, execution_id)
            await http.aclose()
            await asyncio.sleep(0.5)
            lingering = server.connections()
        finally:
            await http.aclose()
    received = set(reader.ids)
    expected = set(log)
    return {
        "seed": seed,
        "disconnects": drops,
        "reconnects_per_s": round(drops / elapsed, 1),
        "ended_with_204": no_content > 0,
        "events_in_log": len(log),
        "events_received": len(reader.ids),
        "duplicates": len(reader.ids) - len(received),
        "missing": len(expected - received),
        "unexpected": len(received - expected),
        "union_equals_log": received == expected and len(log) == len(expected),
        "elapsed_s": round(elapsed, 3),
        "server_connections_after": lingering,
    }


SCENARIO = Scenario(
    name="resume",
    summary="1,000 random drops + Last-Event-ID resumes during 2,000 tokens/s; union == log",
    params=params,
    run=run,
    timeout_s=lambda p: p.duration_s + 60 + p.disconnects * 0.05,
    headlines=(
        Headline("disconnects", "disconnects"),
        Headline("events in log", "events_in_log"),
        Headline("duplicates", "duplicates"),
        Headline("missing", "missing"),
        Headline("union == log", "union_equals_log"),
        Headline("elapsed", "elapsed_s", "s"),
    ),
    floors=(
        Floor("union_equals_log", True),
        Floor("duplicates", 0),
        Floor("missing", 0),
        Floor("disconnects", 1000, higher_is_better=True),
    ),
)
