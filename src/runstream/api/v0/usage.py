"""What the v0 API reads from a log's prefix: usage totals and whether it has started.

Both are answered from the stored events. Usage is summed incrementally per execution
(a log only grows), so polling the status of a long token stream reads each event once.
"""

from __future__ import annotations

from collections import OrderedDict

from runstream import Engine
from runstream.model import Event, EventType
from runstream.streaming.wire.v0 import add_usage

_PAGE = 500


class UsageTally:
    """``usage`` events summed per execution, remembered for the most recent executions."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._sums: OrderedDict[str, tuple[int, dict[str, int] | None]] = OrderedDict()

    async def upto(self, engine: Engine, execution_id: str, seq: int) -> dict[str, int] | None:
        """The sum of the ``usage`` events with seq ≤ ``seq`` (None: there are none)."""
        cursor, total = self._sums.get(execution_id, (0, None))
        if cursor > seq:
            cursor, total = 0, None
        while cursor < seq:
            page = await engine.events(execution_id, after=cursor, limit=min(_PAGE, seq - cursor))
            if not page:
                break
            for event in page:
                if event.type == EventType.USAGE:
                    total = add_usage(total, event.data)
            cursor = page[-1].seq
        self._sums[execution_id] = (cursor, total)
        self._sums.move_to_end(execution_id)
        while len(self._sums) > self._size:
            self._sums.popitem(last=False)
        return total


async def started_by(engine: Engine, execution_id: str, seq: int) -> bool:
    """True when the execution's own ``*_STARTED`` event has a seq ≤ ``seq``.

    It is nearly always the second event, so this reads one short page.
    """
    cursor = 0
    while cursor < seq:
        page = await engine.events(execution_id, after=cursor, limit=min(64, seq - cursor))
        if not page:
            return False
        if any(_starts(event) for event in page):
            return True
        cursor = page[-1].seq
    return False


def _starts(event: Event) -> bool:
    if event.type == EventType.WORKFLOW_STARTED:
        return True
    return event.type == EventType.TASK_STARTED and event.task_id == event.execution_id
