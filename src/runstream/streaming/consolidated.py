"""One stream over a workflow and all its descendants, with a resumable composite cursor.

Each log gets a path: ``0`` for the root, ``0.2`` for the root's third child, and so on, in
the order children were created (the order of ``CHILD_WORKFLOW_INITIATED`` in the parent's
log), so the same path names the same child on every connection. The cursor lists the last
seq delivered per path, e.g. ``0:14,0.0:6``; resuming from it starts every log right after
what was delivered, so nothing is skipped or repeated.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from runstream.model import Event, EventType
from runstream.store.base import Store
from runstream.streaming.hub import Hub

_ENTRY = re.compile(r"^0(\.(0|[1-9]\d{0,8}))*:\d{1,18}$")
_QUEUE = 256


def decode_cursor(cursor: str) -> dict[str, int]:
    """Positions by path; raises ``ValueError`` for anything that is not a cursor: a
    malformed part, a path given twice, or a path without its parent (a child's events
    always come after its parent's ``CHILD_WORKFLOW_INITIATED``)."""
    positions: dict[str, int] = {}
    for entry in cursor.split(","):
        if not _ENTRY.match(entry):
            raise ValueError(f"malformed consolidated cursor {cursor!r}")
        path, seq = entry.rsplit(":", 1)
        if path in positions:
            raise ValueError(f"consolidated cursor {cursor!r} names {path} twice")
        positions[path] = int(seq)
    for path in positions:
        parent = path.rpartition(".")[0]
        if path != "0" and parent not in positions:
            raise ValueError(f"consolidated cursor {cursor!r} has {path} but not {parent or 0}")
    if "0" not in positions:
        raise ValueError(f"consolidated cursor {cursor!r} has no position for the root (0)")
    return positions


async def check_cursor(store: Store, root_id: str, cursor: str) -> None:
    """Check a cursor against the real tree of ``root_id``: every path names an existing
    workflow. A position beyond a log is fine, as ``Last-Event-ID`` beyond a single log is.

    Raises:
        ValueError: The cursor is malformed or names a workflow that does not exist.
    """
    ids = {"0": root_id}
    paths = sorted(decode_cursor(cursor), key=lambda path: path.count("."))
    for path in paths[1:]:  # "0" comes first: the root
        parent, _, index = path.rpartition(".")
        children = await store.children_of(ids[parent])
        if int(index) >= len(children):
            raise ValueError(f"consolidated cursor {cursor!r}: {parent} has no child {index}")
        ids[path] = children[int(index)]


def encode_cursor(positions: dict[str, int]) -> str:
    return ",".join(f"{path}:{seq}" for path, seq in positions.items())


def consolidated(
    hub: Hub, store: Store, root_id: str, cursor: str | None = None
) -> AsyncIterator[tuple[str, Event]]:
    """Events of ``root_id`` and its descendants as they come, each with the cursor that
    resumes right after it; ends when every log has ended. A malformed cursor raises
    ``ValueError`` here, before anything is streamed."""
    return _merge(hub, store, root_id, decode_cursor(cursor) if cursor else {"0": 0})


async def _merge(
    hub: Hub, store: Store, root_id: str, positions: dict[str, int]
) -> AsyncIterator[tuple[str, Event]]:
    queue: asyncio.Queue[tuple[str, Event | BaseException | None]] = asyncio.Queue(_QUEUE)
    pumps: dict[str, asyncio.Task[None]] = {}

    def start(path: str, execution_id: str) -> None:
        if path not in pumps:
            pumps[path] = asyncio.create_task(pump(path, execution_id), name=f"pump:{path}")

    async def pump(path: str, execution_id: str) -> None:
        try:
            known: dict[str, int] = {}
            for child_id in await store.children_of(execution_id):
                known[child_id] = len(known)
                start(f"{path}.{known[child_id]}", child_id)
            async for event in hub.subscribe(execution_id, positions.get(path, 0)):
                if event.type == EventType.CHILD_WORKFLOW_INITIATED:
                    child_id = event.data["childWorkflowId"]
                    if child_id not in known:
                        known[child_id] = len(known)
                        start(f"{path}.{known[child_id]}", child_id)
                await queue.put((path, event))
            await queue.put((path, None))
        except Exception as exc:
            await queue.put((path, exc))

    start("0", root_id)
    finished = 0
    try:
        while finished < len(pumps):
            path, item = await queue.get()
            if item is None:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                positions[path] = item.seq
                yield encode_cursor(positions), item
    finally:
        for task in pumps.values():
            task.cancel()
        await asyncio.gather(*pumps.values(), return_exceptions=True)
