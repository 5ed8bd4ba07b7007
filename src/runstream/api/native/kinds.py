"""``GET /api/orgs/{org}/kinds``: the workflows and tasks the server's app registers.

Read-only, so that a client (the dashboard's Start form) can offer what can be started.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response

from runstream.api.native.executions import ERRORS, json_response
from runstream.api.native.params import EngineDep, Org
from runstream.api.native.schemas import Kinds

router = APIRouter(prefix="/api/orgs/{org}", tags=["kinds"])


@router.get(
    "/kinds",
    response_model=None,
    summary="List the registered workflow and task kinds",
    responses={400: ERRORS[400], 200: {"model": Kinds}},
)
async def kinds(org: Org, engine: EngineDep) -> Response:
    """Every workflow and task the app registers, by name, with the first paragraph of
    its docstring; the same for every organisation."""
    app = engine.app
    return json_response(
        {
            "workflows": [_info(name, d.fn) for name, d in sorted(app.workflows.items())],
            "tasks": [_info(name, d.fn) for name, d in sorted(app.tasks.items())],
        }
    )


def _info(name: str, fn: Callable[..., Any]) -> dict[str, str]:
    doc = inspect.getdoc(fn) or ""
    return {"name": name, "description": " ".join(doc.split("\n\n")[0].split())}
