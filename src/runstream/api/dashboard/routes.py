"""Routes of the dashboard: the page at ``/`` and its assets under ``/dashboard/``."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
"""The directory of the page and its modules."""

# Assets change with the package: revalidate every time (the ETag makes that cheap).
_REVALIDATE = {"Cache-Control": "no-cache"}


class _Assets(StaticFiles):
    """Static files that browsers revalidate, so an upgraded server never runs stale code."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_REVALIDATE)
        return response


def install(app: FastAPI) -> None:
    """Serve the dashboard from ``app``: the page at ``/``, its files under ``/dashboard/``."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=_REVALIDATE)

    app.mount("/dashboard", _Assets(directory=STATIC), name="dashboard")
