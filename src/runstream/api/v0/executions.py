"""JSON endpoints of the v0 API: start a workflow, agent or task; read an execution's status.

The v0 API acts in one organisation (``default``; with API keys, the key's), on the
same engine and log as the native API: an execution started here is visible there too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from runstream import Engine
from runstream.api.auth import acting_org
from runstream.api.bodies import JsonBodyRoute
from runstream.api.errors import bad_request
from runstream.api.native.executions import ERROR_JSON, json_response
from runstream.api.native.params import EngineDep
from runstream.api.native.schemas import ErrorBody
from runstream.api.v0.kinds import check_family, check_startable
from runstream.api.v0.schemas import StartAccepted, StatusOut, V0StartRequest
from runstream.api.v0.usage import UsageTally
from runstream.errors import ExecutionNotFound
from runstream.model import Snapshot, is_uuid
from runstream.streaming.wire.v0 import V0_STATUS, Family, rfc3339

PREFIX = "/api/v0"

ExecId = Annotated[str, Path(description="Execution id (a UUID).")]
Name = Annotated[str, Path(description="The workflow's, agent's or task's name in the app.")]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"content": ERROR_JSON, "description": "A parameter is malformed (the body names it)."},
    404: {"content": ERROR_JSON, "description": "No such execution (or one of another kind)."},
    "default": {"content": ERROR_JSON, "description": "Any other error: the same JSON body."},
}
"""Error responses every v0 execution endpoint documents."""


def org_of(request: Request) -> str:
    """The organisation v0 requests act in: the API key's with ``--auth keys``, else
    ``default`` (SPEC §10)."""
    return acting_org(request)


def exec_url(family: Family, execution_id: str) -> str:
    """The status path of an execution (its stream is this plus ``/stream``)."""
    return f"{PREFIX}/executions/{family.value}/{execution_id}"


async def load(engine: Engine, org: str, family: Family, exec_id: str) -> Snapshot:
    """The snapshot of an execution of ``family`` in ``org``.

    Raises:
        HttpError: 400 for a malformed id.
        ExecutionNotFound: No such execution in ``org``, or one of another family.
    """
    if not is_uuid(exec_id):
        raise bad_request("exec_id", f"not a UUID: {exec_id!r}")
    snapshot = await engine.get(exec_id.lower())
    if snapshot.org != org:
        raise ExecutionNotFound(snapshot.id)
    check_family(engine.app, family, snapshot)
    return snapshot


def tally(request: Request) -> UsageTally:
    """The app's usage tally (made on first use)."""
    state = request.app.state
    if not hasattr(state, "v0_usage"):
        state.v0_usage = UsageTally()
    found: UsageTally = state.v0_usage
    return found


def router(family: Family) -> APIRouter:
    """Start and status routes of one family."""
    routes = APIRouter(prefix=PREFIX, tags=[f"v0 {family.value}"], route_class=JsonBodyRoute)
    noun = family.noun

    @routes.post(
        f"/{family.value}/{{name}}/executions",
        status_code=202,
        response_model=None,
        summary=f"Start a {noun} execution",
        responses={
            400: {
                "model": ErrorBody,
                "description": "The name is of another kind, or the body is malformed.",
            },
            404: {"model": ErrorBody, "description": f"No {noun} of that name."},
            202: {"model": StartAccepted},
        },
    )
    async def start(
        request: Request,
        name: Name,
        engine: EngineDep,
        body: V0StartRequest | None = None,
    ) -> Response:
        """Start an execution; 404 when no such name, 400 when it names another kind."""
        check_startable(engine.app, family, name)
        begin = engine.start if family is Family.WORKFLOWS else engine.start_task
        handle = await begin(name, input=body.input if body else None, org=org_of(request))
        data = {"exec_id": handle.id, "exec_url": exec_url(family, handle.id)}
        return json_response({"data": data, "message": f"{noun} execution started"}, 202)

    @routes.get(
        f"/executions/{family.value}/{{exec_id}}",
        response_model=None,
        summary=f"Get a {noun} execution's status",
        responses=ERRORS | {200: {"model": StatusOut}},
    )
    async def status(request: Request, exec_id: ExecId, engine: EngineDep) -> Response:
        """Status (``PENDING|RUNNING|SUCCESS|FAILED|CANCELED``), input, output, error, usage."""
        snapshot = await load(engine, org_of(request), family, exec_id)
        usage = await tally(request).upto(engine, snapshot.id, snapshot.last_seq)
        data = {
            "exec_id": snapshot.id,
            "status": V0_STATUS[snapshot.status],
            "input": snapshot.input,
            "output": snapshot.output,
            "error": snapshot.error,
            "usage": usage,
            "created_at": rfc3339(snapshot.created_at),
            "updated_at": rfc3339(snapshot.updated_at),
        }
        return json_response({"data": data})

    return routes
