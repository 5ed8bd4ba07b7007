"""JSON bodies of the native API decoded into the model's values: snapshots, events, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from runstream.model import (
    Event,
    Snapshot,
)


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    """One page of ``list_executions``, newest first."""

    items: list[Snapshot]
    """Summaries: ``input`` and ``output`` are ``None`` and there is no task, state,
    promise or child detail (``Client.get`` has it all)."""
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last one."""


@dataclass(frozen=True, slots=True)
class EventPage:
    """Stored events of one execution in ``seq`` order."""

    items: list[Event]
    next_after: int
    """Pass as ``after`` to read on."""
    has_more: bool


@dataclass(frozen=True, slots=True)
class StreamToken:
    """A read-only token for one execution's streams (``Client.stream_token``)."""

    token: str
    """Pass as ``?token=`` (e.g. to a browser's ``EventSource``) or as a Bearer credential."""
    expires_at: datetime
    """When it stops working (UTC)."""

    def stream_url(self, url: str) -> str:
        """``url`` (a stream URL) with the token as its ``token`` query parameter."""
        return f"{url}{'&' if '?' in url else '?'}token={quote(self.token, safe='')}"


def stream_token_from_json(body: dict[str, Any]) -> StreamToken:
    """A ``StreamToken`` from the API's ``{"token", "expiresAt"}``."""
    return StreamToken(body["token"], datetime.fromisoformat(body["expiresAt"]))


def event_from_json(body: dict[str, Any]) -> Event:
    """An ``Event`` from the events page's event object."""
    return Event(
        execution_id=body["executionId"],
        seq=body["seq"],
        type=body["type"],
        ts=body["ts"],
        data=body.get("data"),
        task_id=body.get("taskId"),
        attempt=body.get("attempt"),
    )


def execution_page_from_json(body: dict[str, Any]) -> ExecutionPage:
    """An ``ExecutionPage`` from the list endpoint's body."""
    return ExecutionPage(
        [Snapshot.from_json(item) for item in body["items"]], body.get("nextCursor")
    )


def event_page_from_json(body: dict[str, Any]) -> EventPage:
    """An ``EventPage`` from the events endpoint's body."""
    return EventPage(
        [event_from_json(item) for item in body["items"]],
        body["nextAfter"],
        bool(body.get("hasMore")),
    )
