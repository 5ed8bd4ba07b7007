"""``create_app``: the native HTTP API of one engine as a FastAPI application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware

from runstream import Engine
from runstream.api import dashboard, errors, metrics, v0
from runstream.api.native import executions, kinds, streams
from runstream.config import Settings
from runstream.model import ExecutionType
from runstream.streaming.frames import FrameBodies
from runstream.streaming.response import StreamRegistry
from runstream.streaming.wire import native

_DESCRIPTION = """\
Start workflows and tasks, read their state, and follow every execution as a
durable, resumable Server-Sent Events stream (`id` = the event's seq; resume with
`Last-Event-ID`). Errors are JSON: `{"error": {"code", "message", "param"}}`.
"""


def create_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    """Build the API around an engine the caller opens and closes.

    Args:
        engine: The engine executions are started on and read from.
        settings: Stream timing and CORS; defaults when omitted.

    The app keeps the engine on ``app.state.engine``, the settings on
    ``app.state.settings`` and the open-stream registry (with the ``in_flight``
    gauge) on ``app.state.streams``.
    """
    settings = settings or Settings()
    app = FastAPI(
        title="runstream",
        description=_DESCRIPTION,
        version="0.1.0",
        lifespan=v0.lifespan,
        # One span per request (when an OpenTelemetry SDK is configured), nothing more:
        # Prometheus has the metrics, our own logs the rest.
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.streams = StreamRegistry()
    app.state.frame_bodies = FrameBodies(native.body)
    errors.install(app)
    app.include_router(executions.router(ExecutionType.WORKFLOW))
    app.include_router(executions.router(ExecutionType.TASK))
    app.include_router(streams.router)
    app.include_router(kinds.router)
    app.include_router(v0.router())
    app.include_router(metrics.router)
    app.add_middleware(metrics.HttpMetrics)
    dashboard.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Last-Event-ID"],
        )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema without the 422 responses: validation errors here are 400s."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
