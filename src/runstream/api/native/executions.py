"""JSON endpoints of the native API: start, list, read, cancel, retry, message, settle
promises."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from runstream.api.auth import TokenTypes
from runstream.api.bodies import JsonBodyRoute
from runstream.api.errors import bad_request
from runstream.api.limits import check_message
from runstream.api.native.params import MAX_SEQ, Cursor, EngineDep, ExecutionId, Org, load
from runstream.api.native.schemas import (
    CancelRequest,
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

ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
"""The content of every error response: the JSON error body, whatever the route sends."""
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A parameter is malformed (the body names it).", "content": ERROR_JSON},
    404: {"description": "No such execution in this organisation.", "content": ERROR_JSON},
    "default": {
        "description": "Any other error (405, 408, 409, 503, …): the same JSON error body.",
        "content": ERROR_JSON,
    },
}
"""Error responses every endpoint documents: always JSON, also on the stream endpoints."""

NOUN = {ExecutionType.WORKFLOW: "Workflow", ExecutionType.TASK: "Task"}
"""The word in each execution type's operation ids (``getWorkflowExecution``)."""


def operation_id(verb: str, type: ExecutionType, rest: str = "Execution") -> str:
    """The OpenAPI ``operationId`` of an endpoint, e.g. ``cancelTaskExecution``."""
    return f"{verb}{NOUN[type]}{rest}"


def _links(type: ExecutionType) -> dict[str, Any]:
    """OpenAPI links from a started execution to everything that takes its id, so clients
    and stateful fuzzers follow them with a real id."""
    by_id = {"org": "$request.path.org", "execution_id": "$response.body#/id"}
    targets = [
        operation_id("get", type),
        operation_id("read", type, "Events"),
        operation_id("cancel", type),
        operation_id("retry", type),
        operation_id("stream", type, ""),
        operation_id("mint", type, "StreamToken"),
    ]
    if type is ExecutionType.WORKFLOW:
        targets += [
            operation_id("stream", type, "Consolidated"),
            operation_id("send", type, "Message"),
            operation_id("resolve", type, "Promise"),
            operation_id("reject", type, "Promise"),
        ]
    return {target: {"operationId": target, "parameters": by_id} for target in targets}


def json_response(content: Any, status_code: int = 200) -> Response:
    """Encode with orjson (the dicts come from ``to_json``, already JSON-shaped)."""
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _snapshot_doc(status: int, links: dict[str, Any] | None = None) -> dict[int | str, Any]:
    doc: dict[str, Any] = {"model": SnapshotOut, "description": "The execution's snapshot."}
    if links:
        doc["links"] = links
    return {status: doc}


def router(type: ExecutionType) -> APIRouter:
    """The JSON routes of workflow executions or of standalone task executions."""
    routes = APIRouter(
        prefix=f"/api/orgs/{{org}}/{type.segment}",
        tags=[type.segment],
        route_class=JsonBodyRoute,
    )
    noun = "workflow" if type is ExecutionType.WORKFLOW else "task"

    @routes.post(
        "",
        status_code=201,
        response_model=None,
        summary=f"Start a {noun}",
        operation_id=f"start{NOUN[type]}",
        responses=ERRORS | _snapshot_doc(201, _links(type)),
    )
    async def start(org: Org, body: StartRequest, engine: EngineDep) -> Response:
        """Start an execution; answers with its snapshot."""
        begin = engine.start if type is ExecutionType.WORKFLOW else engine.start_task
        handle = await begin(body.kind, input=body.input, org=org)
        assert handle.created is not None
        return json_response(handle.created.to_json(), 201)

    @routes.get(
        "",
        response_model=None,
        summary=f"List {noun} executions",
        operation_id=operation_id("list", type, "Executions"),
        responses=ERRORS | {200: {"model": ExecutionPage, "description": "A page of summaries."}},
    )
    async def list_executions(
        org: Org,
        engine: EngineDep,
        status: Status | None = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Cursor = None,
    ) -> Response:
        """Summaries of this organisation's executions, newest first, one page at a time
        (``GET …/{execution_id}`` has an execution's input, output and detail)."""
        try:
            page, next_cursor = await engine.list_executions(
                org=org, type=type, status=status, kind=kind, limit=limit, cursor=cursor or None
            )
        except ValueError as exc:
            raise bad_request("cursor", str(exc)) from None
        items = [s.summary_json() for s in page]
        return json_response({"items": items, "nextCursor": next_cursor})

    @routes.get(
        "/{execution_id}",
        response_model=None,
        summary=f"Get a {noun} execution",
        operation_id=operation_id("get", type),
        responses=ERRORS | _snapshot_doc(200),
    )
    async def get(org: Org, execution_id: ExecutionId, engine: EngineDep) -> Response:
        """The execution's snapshot: status, tasks, state, promises, children."""
        return json_response((await load(engine, org, execution_id, type)).to_json())

    @routes.get(
        "/{execution_id}/events",
        response_model=None,
        summary=f"Read a {noun} execution's events",
        operation_id=operation_id("read", type, "Events"),
        responses=ERRORS | {200: {"model": EventPage, "description": "A page of the log."}},
    )
    async def events(
        org: Org,
        execution_id: ExecutionId,
        engine: EngineDep,
        granted: TokenTypes,
        after: Annotated[
            int, Query(ge=0, le=MAX_SEQ, description="Return events with a larger seq.")
        ] = 0,
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
        operation_id=operation_id("cancel", type),
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
        operation_id=operation_id("retry", type),
        responses=ERRORS
        | {
            202: {"model": RetryAccepted, "description": "The execution runs again."},
            409: {"content": ERROR_JSON, "description": "The execution is not FAILED."},
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
    conflict = {409: {"content": ERROR_JSON, "description": "The execution takes no messages now."}}
    too_large = {413: {"content": ERROR_JSON, "description": "The message is too large."}}

    @routes.post(
        "/{execution_id}/messages",
        status_code=202,
        response_model=None,
        summary="Send a message to a workflow"
        if type is ExecutionType.WORKFLOW
        else "Send a message to a Claude Code session",
        operation_id=operation_id("send", type, "Message"),
        responses=ERRORS
        | conflict
        | too_large
        | {202: {"model": MessageAccepted, "description": "The message is queued."}},
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
    conflict = {409: {"content": ERROR_JSON, "description": "The execution has finished."}}
    workflow = ExecutionType.WORKFLOW

    @routes.post(
        "/{execution_id}/promises/{name}/resolve",
        response_model=None,
        summary="Resolve a promise",
        operation_id=operation_id("resolve", workflow, "Promise"),
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
        operation_id=operation_id("reject", workflow, "Promise"),
        responses=ERRORS | conflict | _snapshot_doc(200),
    )
    async def reject_promise(
        org: Org, execution_id: ExecutionId, name: str, body: RejectRequest, engine: EngineDep
    ) -> Response:
        """Settle ``ctx.promise(name)`` with an error; the workflow sees ``PromiseRejected``."""
        snapshot = await load(engine, org, execution_id, ExecutionType.WORKFLOW)
        await engine.reject_promise(snapshot.id, name, body.error)
        return json_response((await engine.get(snapshot.id)).to_json())
