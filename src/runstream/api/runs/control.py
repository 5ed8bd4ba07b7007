"""JSON endpoints of the runs API: start a run, read its status, send it a message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from runstream.api.auth import ActingOrg
from runstream.api.bodies import JsonBodyRoute
from runstream.api.errors import HttpError, bad_request
from runstream.api.limits import check_message
from runstream.api.native.executions import json_response
from runstream.api.native.params import EngineDep
from runstream.api.native.schemas import ErrorBody
from runstream.api.runs.lines import is_claude_task, load_run, status_of
from runstream.api.runs.schemas import MessageQueued, RunMessage, RunStarted, RunStatus
from runstream.streaming.wire.runs import RUN_STATUS

router = APIRouter(prefix="/api/v1/workflows", tags=["runs"], route_class=JsonBodyRoute)

_UNKNOWN_RUN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such run."}
}
_BAD_MESSAGE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "``message`` is missing or empty."}
}


def _text(body: RunMessage) -> str:
    if not body.message.strip():
        raise bad_request("message", "must not be empty")
    return body.message


@router.post(
    "/claude-code/run/{workflow_name}",
    status_code=201,
    response_model=None,
    summary="Start a Claude Code run",
    responses={201: {"model": RunStarted}, **_BAD_MESSAGE, **_UNKNOWN_RUN},
)
async def start_run(
    request: Request, workflow_name: str, body: RunMessage, engine: EngineDep, org: ActingOrg
) -> Response:
    """Start the Claude Code task ``workflow_name`` with ``message`` as its prompt."""
    prompt = _text(body)
    check_message(request.app.state.settings, prompt)
    if not is_claude_task(engine, workflow_name):
        raise HttpError(
            404,
            "not_found",
            f"no Claude Code workflow named {workflow_name!r}",
            param="workflow_name",
        )
    handle = await engine.start_task(workflow_name, prompt, org=org)
    snapshot = await engine.get(handle.id)
    return json_response(
        {
            "run_id": handle.id,
            "status": RUN_STATUS[snapshot.status],
            "workflow_name": workflow_name,
        },
        201,
    )


@router.get(
    "/claude-code/run/{run_id}/status",
    response_model=None,
    summary="Get a run's status",
    responses={200: {"model": RunStatus}, **_UNKNOWN_RUN},
)
async def run_status(run_id: str, engine: EngineDep, org: ActingOrg) -> Response:
    """Status, result or error, and when the run started and ended."""
    snapshot = await load_run(engine, run_id, org)
    return json_response(await status_of(engine, snapshot))


@router.post(
    "/{run_id}/messages",
    status_code=202,
    response_model=None,
    summary="Send a message to a running session",
    responses={
        202: {"model": MessageQueued},
        409: {"model": ErrorBody, "description": "The run has ended (or its input has)."},
        413: {"model": ErrorBody, "description": "The message is too large."},
        **_BAD_MESSAGE,
        **_UNKNOWN_RUN,
    },
)
async def send_message(
    request: Request, run_id: str, body: RunMessage, engine: EngineDep, org: ActingOrg
) -> Response:
    """Queue ``message``; it is written to the session's stdin as a user line as soon as
    possible, exactly once, after every message sent before it. A pending run takes
    messages too (they follow its prompt)."""
    text = _text(body)
    check_message(request.app.state.settings, text)
    snapshot = await load_run(engine, run_id, org)
    queued = await engine.queue_message(snapshot.id, text)
    return json_response(
        {"success": True, "queue_size": queued.queue_size, "run_id": snapshot.id}, 202
    )
