"""The ``Emitter`` appends task events in batches, however they trickle in."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable

from runstream.engine.emitter import Emitter
from runstream.model import NewEvent


class Appends:
    """The batches an emitter hands to the store, and when."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[NewEvent]]] = []

    def __call__(self, events: list[NewEvent]) -> Awaitable[None]:
        # Stamped when the emitter hands the batch over, not when the store would get to
        # run it: on a loaded machine the latter drifts by loop turns.
        self.batches.append((asyncio.get_running_loop().time(), events))
        return asyncio.sleep(0)


def token(i: int) -> NewEvent:
    return NewEvent("exec", "token", f"t{i} ", "task", 1)


async def test_one_event_per_loop_turn_is_appended_in_batches_in_order() -> None:
    appends = Appends()
    emitter = Emitter(appends, interval=0.002)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for i in range(3_000):
        emitter.emit(token(i))
        await asyncio.sleep(0)  # each event in a loop turn of its own, as an LLM's deltas
    elapsed = loop.time() - began
    await asyncio.sleep(0.01)
    events = [event for _, batch in appends.batches for event in batch]
    assert [event.data for event in events] == [f"t{i} " for i in range(3_000)]
    assert len(appends.batches) <= elapsed / 0.002 + 2
    assert len(appends.batches) < 3_000 / 5
    times = [at for at, _ in appends.batches]
    assert all(b - a >= 0.0019 for a, b in itertools.pairwise(times))


async def test_the_first_event_after_a_pause_goes_out_at_once() -> None:
    appends = Appends()
    emitter = Emitter(appends, interval=0.05)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.06)
    emitted = loop.time()
    emitter.emit(token(0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(appends.batches) == 1 and appends.batches[0][0] - emitted < 0.01
    # The next one waits for the interval; flush() sends it now (before a task's end).
    emitter.emit(token(1))
    await asyncio.sleep(0)
    assert len(appends.batches) == 1
    emitter.flush()
    await asyncio.sleep(0)
    assert [batch[0].data for _, batch in appends.batches] == ["t0 ", "t1 "]
