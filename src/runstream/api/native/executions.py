"""JSON endpoints of the native API: start, list, read, cancel, retry, message, settle
promises."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from runstream.api.auth import TokenTypes
from runstream.api.errors import bad_request
from runstream.api.limits import check_message
from runstream.api.native.params import EngineDep, ExecutionId, Org, load
from runstream.api.native.schemas import (
    CancelRequest,
    ErrorBody,
    EventPage,
    ExecutionPage,
    MessageAccepted,
    MessageRequest,
    RejectRequest,
    ResolveRequest,
    RetryAccepted,
    RetryRequest,
    SnapshotOut,
    StartRequest,
)
from runstream.model import ExecutionType, Status

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A parameter is malformed (the body names it)."},
    404: {"model": ErrorBody, "description": "No such execution in this organisation."},
}
"""Error responses every execution endpoint documents."""


def json_response(content: Any, status_code: int = 200) -> Response:
    """Encode with orjson (the dicts come from ``to_json``, already JSON-shaped)."""
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _snapshot_doc(status: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": SnapshotOut}}


def router(type: ExecutionType) -> APIRouter:
    """The JSON routes of workflow executions or of standalone task executions."""
    routes = APIRouter(prefix=f"/api/orgs/{{org}}/{type.segment}", tags=[type.segment])
    noun = "workflow" if type is ExecutionType.WORKFLOW else "task"

    @routes.post(
        "",
        status_code=201,
        response_model=None,
        summary=f"Start a {noun}",
        responses=ERRORS | _snapshot_doc(201),
    )
    async def start(org: Org, body: StartRequest, engine: EngineDep) -> Response:
        """Start an execution; answers with its snapshot."""
        begin = engine.start if type is ExecutionType.WORKFLOW else engine.start_task
        handle = await begin(body.kind, input=body.input, org=org)
        return json_response((await engine.get(handle.id)).to_json(), 201)

    @routes.get(
        "",
        response_model=None,
        summary=f"List {noun} executions",
        responses=ERRORS | {200: {"model": ExecutionPage}},
    )
    async def list_executions(
        org: Org,
        engine: EngineDep,
        status: Status | None = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, Query(description="``nextCursor`` of a page.")] = None,
    ) -> Response:
        """Executions of this organisation, newest first, one page at a time."""
        try:
            page, next_cursor = await engine.list_executions(
                org=org, type=type, status=status, kind=kind, limit=limit, cursor=cursor
            )
        except ValueError as exc:
            raise bad_request("cursor", str(exc)) from None
        return json_response({"items": [s.to_json() for s in page], "nextCursor": next_cursor})

    @routes.get(
        "/{execution_id}",
        response_model=None,
        summary=f"Get a {noun} execution",
        responses=ERRORS | _snapshot_doc(200),
    )
    async def get(org: Org, execution_id: ExecutionId, engine: EngineDep) -> Response:
        """The execution's snapshot: status, tasks, state, promises, children."""
        return json_response((await load(engine, org, execution_id, type)).to_json())

    @routes.get(
        "/{execution_id}/events",
        response_model=None,
        summary=f"Read a {noun} execution's events",
        responses=ERRORS | {200: {"model": EventPage}},
    )
    async def events(
        org: Org,
        execution_id: ExecutionId,
        engine: EngineDep,
        granted: TokenTypes,
        after: Annotated[int, Query(ge=0, description="Return events with a larger seq.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        """Stored events in ``seq`` order; the same log the stream replays.

        A stream token restricted to some types sees only those (``nextAfter`` still
        moves past the others)."""
        snapshot = await load(engine, org, execution_id, type)
        found = await engine.events(snapshot.id, after=after, limit=limit + 1)
        page = found[:limit]
        shown = page if granted is None else [e for e in page if granted.matches(e)]
        return json_response(
            {
                "items": [e.to_json() for e in shown],
                "nextAfter": page[-1].seq if page else after,
                "hasMore": len(found) > limit,
            }
        )

    @routes.post(
        "/{execution_id}/cancel",
        status_code=202,
        response_model=None,
        summary=f"Cancel a {noun} execution",
        responses=ERRORS | _snapshot_doc(202),
    )
    async def cancel(
        org: Org, execution_id: ExecutionId, engine: EngineDep, body: CancelRequest | None = None
    ) -> Response:
        """Ask the execution to stop; idempotent. It ends with a ``*_CANCELLED`` event."""
        snapshot = await load(engine, org, execution_id, type)
        await engine.cancel(snapshot.id, reason=body.reason if body else None)
        return json_response((await engine.get(snapshot.id)).to_json(), 202)

    @routes.post(
        "/{execution_id}/retry",
        status_code=202,
        response_model=None,
        summary=f"Retry a failed {noun} execution",
        responses=ERRORS
        | {
            202: {"model": RetryAccepted},
            409: {"model": ErrorBody, "description": "The execution is not FAILED."},
        },
    )
    async def retry(
        org: Org, execution_id: ExecutionId, engine: EngineDep, body: RetryRequest | None = None
    ) -> Response:
        """Run a FAILED execution again from where it failed (``RETRY_REQUESTED``).

        What succeeded is kept: those steps are answered from history, not run again. The
        failed task runs again with a fresh retry budget; a failed child workflow is
        retried in place. The stream goes on after the old terminal event and ends with a
        new one. Any other status: 409, nothing changes.
        """
        snapshot = await load(engine, org, execution_id, type)
        attempt = await engine.retry(snapshot.id, reason=body.reason if body else None)
        return json_response({"attempt": attempt}, 202)

    _add_message_route(routes, type)
    if type is ExecutionType.WORKFLOW:
        _add_workflow_routes(routes)
    return routes


def _add_message_route(routes: APIRouter, type: ExecutionType) -> None:
    conflict = {409: {"model": ErrorBody, "description": "The execution takes no messages now."}}
    too_large = {413: {"model": ErrorBody, "description": "The message is too large."}}

    @routes.post(
        "/{execution_id}/messages",
        status_code=202,
        response_model=None,
        summary="Send a message to a workflow"
        if type is ExecutionType.WORKFLOW
        else "Send a message to a Claude Code session",
        responses=ERRORS | conflict | too_large | {202: {"model": MessageAccepted}},
    )
    async def send_message(
        request: Request,
        org: Org,
        execution_id: ExecutionId,
        body: MessageRequest,
        engine: EngineDep,
    ) -> Response:
        """Queue a message: for a workflow's next ``ctx.receive()``; for a Claude Code task,
        written to the session's stdin as a user line (409 once the session ended its input
        or for a task that takes no messages)."""
        check_message(request.app.state.settings, body.message)
        snapshot = await load(engine, org, execution_id, type)
        message_id = await engine.send_message(snapshot.id, body.message)
        return json_response({"messageId": message_id}, 202)


def _add_workflow_routes(routes: APIRouter) -> None:
    conflict = {409: {"model": ErrorBody, "description": "The execution has finished."}}

    @routes.post(
        "/{execution_id}/promises/{name}/resolve",
        response_model=None,
        summary="Resolve a promise",
        responses=ERRORS | conflict | _snapshot_doc(200),
    )
    async def resolve_promise(
        org: Org,
        execution_id: ExecutionId,
        name: str,
        engine: EngineDep,
        body: ResolveRequest | None = None,
    ) -> Response:
        """Settle ``ctx.promise(name)`` with a value (none: null); the first settlement wins."""
        snapshot = await load(engine, org, execution_id, ExecutionType.WORKFLOW)
        await engine.resolve_promise(snapshot.id, name, body.value if body else None)
        return json_response((await engine.get(snapshot.id)).to_json())

    @routes.post(
        "/{execution_id}/promises/{name}/reject",
        response_model=None,
        summary="Reject a promise",
        responses=ERRORS | conflict | _snapshot_doc(200),
    )
    async def reject_promise(
        org: Org, execution_id: ExecutionId, name: str, body: RejectRequest, engine: EngineDep
    ) -> Response:
        """Settle ``ctx.promise(name)`` with an error; the workflow sees ``PromiseRejected``."""
        snapshot = await load(engine, org, execution_id, ExecutionType.WORKFLOW)
        await engine.reject_promise(snapshot.id, name, body.error)
        return json_response((await engine.get(snapshot.id)).to_json())
