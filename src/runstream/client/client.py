"""``Client``: the native HTTP API (SPEC §7.1) from Python, mirroring ``rs.Engine``."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from runstream.client.errors import ServerUnavailable, error_from_response
from runstream.client.responses import (
    EventPage,
    ExecutionPage,
    StreamToken,
    event_page_from_json,
    execution_page_from_json,
    stream_token_from_json,
)
from runstream.client.stream import EventStream, Reconnect
from runstream.errors import ExecutionFailed, ExecutionNotFound
from runstream.model import ExecutionType, Snapshot, Status

DEFAULT_URL = "http://127.0.0.1:8000"
"""Where ``runstream serve`` listens unless told otherwise."""


class Client:
    """An async client of one runstream server, acting in one organisation.

    Example::

        async with Client("http://127.0.0.1:8000") as client:
            run = await client.start("pipeline", {"topic": "otters"})
            async for event in client.stream(run.id):
                print(event.type, event.data)

    Methods that take an execution id work for workflow and task executions alike; the
    client asks the server which one an id is the first time it meets it.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        org: str = "default",
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        read_timeout: float = 60.0,
        reconnect: Reconnect | None = None,
    ) -> None:
        """Create a client; it opens connections lazily.

        Args:
            url: The server's base URL.
            org: The organisation every request acts in.
            api_key: Sent as ``Authorization: Bearer`` to a server run with ``--auth keys``
                (a stream token works too, for reading its one execution).
            timeout: Seconds to connect and to wait for a JSON answer.
            read_timeout: Seconds a stream may stay silent before it reconnects; keep it
                above the server's heartbeat interval (15 s by default).
            reconnect: How streams retry after a dropped connection.
        """
        self.url = url.rstrip("/")
        self.org = org
        self.api_key = api_key
        """The credential sent with every request, if any."""
        self._reconnect = reconnect or Reconnect()
        self._http = httpx.AsyncClient(
            base_url=f"{self.url}/api/orgs/{quote(org, safe='')}",
            timeout=httpx.Timeout(timeout, read=read_timeout),
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
        )
        self._json_timeout = timeout
        self._types: dict[str, ExecutionType] = {}

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # -- starting ------------------------------------------------------------------------
    async def start(self, kind: str, input: Any = None) -> Snapshot:
        """Start a workflow; returns its first snapshot. Raises ``UnknownKind``."""
        return await self._start(ExecutionType.WORKFLOW, kind, input)

    async def start_task(self, kind: str, input: Any = None) -> Snapshot:
        """Start a standalone task execution; returns its first snapshot."""
        return await self._start(ExecutionType.TASK, kind, input)

    async def _start(self, type: ExecutionType, kind: str, input: Any) -> Snapshot:
        body = await self._call(
            "POST", f"/{type.segment}", json={"kind": kind, "input": input}, kind=(kind, type)
        )
        return self._remember(Snapshot.from_json(body))

    # -- reading -------------------------------------------------------------------------
    async def get(self, execution_id: str) -> Snapshot:
        """The execution's snapshot; raises ``ExecutionNotFound``."""
        known = self._types.get(execution_id)
        for type in (known,) if known else (ExecutionType.WORKFLOW, ExecutionType.TASK):
            try:
                path = f"/{type.segment}/{quote(execution_id, safe='')}"
                body = await self._call("GET", path, execution_id)
            except ExecutionNotFound:
                continue
            return self._remember(Snapshot.from_json(body))
        raise ExecutionNotFound(execution_id)

    async def list_executions(
        self,
        *,
        task: bool = False,
        status: Status | str | None = None,
        kind: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ExecutionPage:
        """A page of workflow executions (task executions with ``task=True``), newest first."""
        params: dict[str, str | int] = {"limit": limit}
        if status is not None:
            params["status"] = str(status).upper()
        if kind is not None:
            params["kind"] = kind
        if cursor is not None:
            params["cursor"] = cursor
        segment = (ExecutionType.TASK if task else ExecutionType.WORKFLOW).segment
        return execution_page_from_json(await self._call("GET", f"/{segment}", params=params))

    async def events(self, execution_id: str, *, after: int = 0, limit: int = 100) -> EventPage:
        """A page of the stored log: every field of each event, in ``seq`` order."""
        path = f"{await self._path(execution_id)}/events"
        params: dict[str, str | int] = {"after": after, "limit": limit}
        return event_page_from_json(await self._call("GET", path, execution_id, params=params))

    def stream(
        self,
        execution_id: str,
        *,
        after: int | str = 0,
        types: Iterable[str] | None = None,
        consolidated: bool = False,
        include_task: bool = False,
    ) -> EventStream:
        """The execution's events from the server's stream, resumed across dropped connections.

        Args:
            execution_id: A workflow or task execution.
            after: Start after this id: a seq, or a consolidated cursor; 0 replays the log.
            types: Only these SSE types, event names or prefixes (``token``, ``TASK_FAILED``,
                ``timer``); the server rejects unknown ones (``ApiError``, 400).
            consolidated: Also the events of every descendant workflow (ids are cursors).
            include_task: Events of a task attempt carry ``task_id`` and ``attempt``.

        The stream ends after the terminal event (for a consolidated stream, once the
        server closed it after the root's terminal event), or when the server has nothing
        left to send. A failure followed by a manual retry is not the end: the retry's
        events come next. Use ``async with client.stream(...) as events`` to close it early.
        """

        async def path() -> str:
            base = await self._path(execution_id)
            return f"{base}/stream/consolidated" if consolidated else f"{base}/stream"

        return EventStream(
            self._http,
            path,
            execution_id=execution_id,
            after=str(after),
            types=",".join(types) if types is not None else None,
            consolidated=consolidated,
            reconnect=self._reconnect,
            include_task=include_task,
        )

    async def stream_token(
        self,
        execution_id: str,
        *,
        ttl_seconds: int | None = None,
        types: Iterable[str] | None = None,
    ) -> StreamToken:
        """Mint a read-only token for one execution, to hand to a browser.

        Args:
            execution_id: The workflow or task execution the token reads.
            ttl_seconds: Its lifetime, 1..86400 (the server's default: 3600).
            types: Restrict it to these event types (names as for ``stream``'s ``types``).
        """
        path = f"{await self._path(execution_id)}/stream-tokens"
        body: dict[str, Any] = {}
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        if types is not None:
            body["types"] = list(types)
        return stream_token_from_json(await self._call("POST", path, execution_id, json=body))

    async def result(self, execution_id: str) -> Any:
        """Wait for the execution to end and return its output; raises ``ExecutionFailed``."""
        snapshot = await self.get(execution_id)
        if not snapshot.status.is_terminal:
            async with self.stream(execution_id, after=snapshot.last_seq) as events:
                async for _ in events:
                    pass
            snapshot = await self.get(execution_id)
        if snapshot.status is Status.COMPLETED:
            return snapshot.output
        raise ExecutionFailed(execution_id, str(snapshot.status), snapshot.error)

    # -- steering ------------------------------------------------------------------------
    async def cancel(self, execution_id: str, reason: str | None = None) -> Snapshot:
        """Cancel the execution with its tasks, timers and children; idempotent."""
        path = f"{await self._path(execution_id)}/cancel"
        body = await self._call("POST", path, execution_id, json={"reason": reason})
        return Snapshot.from_json(body)

    async def retry(self, execution_id: str, reason: str | None = None) -> int:
        """Run a FAILED execution again from where it failed; returns the retry's number.

        What succeeded is kept (not run again); the failed task runs again with a fresh
        retry budget. Raises ``InvalidState`` (409) unless the execution is FAILED.
        """
        path = f"{await self._path(execution_id)}/retry"
        body = await self._call("POST", path, execution_id, json={"reason": reason})
        return int(body["attempt"])

    async def send_message(self, execution_id: str, message: Any) -> str:
        """Queue a message for a workflow's ``ctx.receive()`` or a Claude Code session's
        stdin; returns its id."""
        path = f"{await self._path(execution_id)}/messages"
        body = await self._call("POST", path, execution_id, json={"message": message})
        return str(body["messageId"])

    async def resolve_promise(self, execution_id: str, name: str, value: Any = None) -> Snapshot:
        """Resolve the workflow's promise ``name`` (the first settlement wins)."""
        path = f"{self._workflow_path(execution_id)}/promises/{quote(name, safe='')}/resolve"
        return Snapshot.from_json(
            await self._call("POST", path, execution_id, json={"value": value})
        )

    async def reject_promise(self, execution_id: str, name: str, error: str) -> Snapshot:
        """Reject the workflow's promise ``name``; the workflow sees ``PromiseRejected``."""
        path = f"{self._workflow_path(execution_id)}/promises/{quote(name, safe='')}/reject"
        return Snapshot.from_json(
            await self._call("POST", path, execution_id, json={"error": error})
        )

    # -- plumbing ------------------------------------------------------------------------
    def _remember(self, snapshot: Snapshot) -> Snapshot:
        self._types[snapshot.id] = snapshot.type
        return snapshot

    def _workflow_path(self, execution_id: str) -> str:
        return f"/{ExecutionType.WORKFLOW.segment}/{quote(execution_id, safe='')}"

    async def _path(self, execution_id: str) -> str:
        if execution_id not in self._types:
            await self.get(execution_id)
        segment = self._types[execution_id].segment
        return f"/{segment}/{quote(execution_id, safe='')}"

    async def _call(
        self,
        method: str,
        path: str,
        execution_id: str | None = None,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        kind: tuple[str, ExecutionType] | None = None,
    ) -> Any:
        try:
            reply = await self._http.request(
                method, path, json=json, params=params, timeout=self._json_timeout
            )
        except httpx.TransportError as exc:
            raise ServerUnavailable(self.url, _describe(exc)) from exc
        if reply.status_code >= 400:
            raise error_from_response(
                reply.status_code,
                reply.content,
                execution_id=execution_id,
                kind=kind[0] if kind else None,
                what=str(kind[1]) if kind else "workflow or task",
            )
        return reply.json()


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable (is `runstream serve` running?)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
