"""What every runs endpoint shares: finding a run, its status document, its numbered lines."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from runstream import Engine
from runstream.api.errors import bad_request
from runstream.errors import ExecutionNotFound
from runstream.model import Event, EventType, ExecutionType, Snapshot, is_uuid
from runstream.sdk.claude_code import ClaudeCode
from runstream.streaming.wire.runs import status_body


def is_claude_task(engine: Engine, kind: str) -> bool:
    """True when ``kind`` names a task registered with ``app.claude_code``."""
    task = engine.app.tasks.get(kind)
    return task is not None and isinstance(task.fn, ClaudeCode)


async def load_run(engine: Engine, run_id: str, org: str) -> Snapshot:
    """The snapshot of a run: a Claude Code task execution of ``org`` (the runs API has no
    org in its paths: the caller's key's, or ``default`` without auth).

    Raises:
        HttpError: 400 when ``run_id`` is not a UUID.
        ExecutionNotFound: No such run.
    """
    if not is_uuid(run_id):
        raise bad_request("run_id", f"not a UUID: {run_id!r}")
    snapshot = await engine.get(run_id.lower())
    if (
        snapshot.org != org
        or snapshot.type is not ExecutionType.TASK
        or not is_claude_task(engine, snapshot.kind)
    ):
        raise ExecutionNotFound(snapshot.id)
    return snapshot


async def status_of(engine: Engine, snapshot: Snapshot) -> dict[str, Any]:
    """The run's status document."""
    started = await engine.find_event(snapshot.id, EventType.TASK_STARTED)
    return status_body(
        run_id=snapshot.id,
        status=snapshot.status,
        workflow_name=snapshot.kind,
        result=snapshot.output,
        error=snapshot.error,
        started_at_ms=None if started is None else started.ts,
        completed_at_ms=snapshot.updated_at,
    )


async def has_lines_after(engine: Engine, run_id: str, after: int) -> bool:
    """True when the run's log holds a line numbered above ``after``."""
    return await engine.find_event(run_id, EventType.CLAUDE, after + 1) is not None


async def numbered_lines(
    engine: Engine, run_id: str, after: int
) -> AsyncGenerator[tuple[int, Event], None]:
    """The run's lines numbered above ``after`` with their numbers, then live ones; ends
    with the run's log.

    The log is read from the event of line ``after`` on, so resuming late in a long run
    does not read it all again.
    """
    start_seq, number = 0, 0
    if after > 0 and (found := await engine.find_event(run_id, EventType.CLAUDE, after)):
        start_seq, number = found.seq, after
    events = engine.stream(run_id, start_seq)
    try:
        async for event in events:
            if event.type == EventType.CLAUDE:
                number += 1
                if number > after:
                    yield number, event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
