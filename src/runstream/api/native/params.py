"""Request parameters shared by the JSON and the stream endpoints, checked at the edge."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from runstream import Engine
from runstream.api.errors import bad_request
from runstream.errors import ExecutionNotFound
from runstream.model import ExecutionType, Snapshot, is_uuid

_SEQ = re.compile(r"\d{1,18}")
MAX_SEQ = 10**18 - 1
"""The largest event id a request may name (18 digits: well within 64-bit columns)."""
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

Org = Annotated[str, Path(min_length=1, max_length=200, description="Organisation slug.")]
# Declared a UUID for clients; checked here (``parse_id``) so the error names ``id``.
ExecutionId = Annotated[
    str, Path(description="Execution UUID.", json_schema_extra={"format": "uuid"})
]
Cursor = Annotated[
    str | None,
    Query(
        json_schema_extra={"pattern": f"^(|{_UUID})$"},
        description="``nextCursor`` of the previous page; empty or absent: the first page.",
    ),
]


async def get_engine(request: Request) -> Engine:
    """The engine the app was created with (``async`` so FastAPI does not run this in a
    thread pool for every request)."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def parse_id(value: str) -> str:
    """The canonical form of an execution id.

    Raises:
        HttpError: 400 when ``value`` is not a UUID.
    """
    if not is_uuid(value):
        raise bad_request("id", f"not a UUID: {value!r}")
    return value.lower()


async def load(engine: Engine, org: str, execution_id: str, type: ExecutionType) -> Snapshot:
    """The snapshot of an execution of ``type`` in ``org``.

    Raises:
        HttpError: 400 for a malformed id.
        ExecutionNotFound: No such execution, or it belongs to another org or type.
    """
    snapshot = await engine.get(parse_id(execution_id))
    if snapshot.org != org or snapshot.type != type:
        raise ExecutionNotFound(snapshot.id)
    return snapshot


def parse_seq(param: str, value: str | None) -> int:
    """A ``Last-Event-ID`` of a single-execution stream: the seq to resume after (0: start).

    Raises:
        HttpError: 400 when ``value`` is not a non-negative integer.
    """
    if value is None:
        return 0
    if not _SEQ.fullmatch(value):
        raise bad_request(param, f"expected an event id (a non-negative integer), got {value!r}")
    return int(value)


def last_event_id(header: str | None, query: str | None) -> tuple[str, str | None]:
    """The resume point and the parameter it came from; the header wins.

    ``EventSource`` sends the header on reconnect, against the URL it first opened;
    that URL's ``lastEventId`` is older than the header.
    """
    if header is not None and header.strip():
        return "Last-Event-ID", header.strip()
    if query is not None and query.strip():
        return "lastEventId", query.strip()
    return "Last-Event-ID", None
