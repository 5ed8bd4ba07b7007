"""``create_app``: the native HTTP API of one engine as a FastAPI application."""

from __future__ import annotations

import copy
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.middleware.cors import CORSMiddleware

from runstream import Engine
from runstream.api import dashboard, errors, metrics, runs, v0
from runstream.api.auth import Authenticator, authorize, watching
from runstream.api.limits import BodyLimit
from runstream.api.native import executions, kinds, streams, tokens
from runstream.api.native.schemas import ErrorBody
from runstream.config import Settings
from runstream.model import ExecutionType
from runstream.streaming.frames import FrameBodies
from runstream.streaming.registry import StreamRegistry
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
        settings: Stream timing, CORS, auth mode and limits; defaults when omitted.

    The app keeps the engine on ``app.state.engine``, the settings on
    ``app.state.settings``, the open-stream registry (with the ``in_flight`` gauge and
    the stream limits) on ``app.state.streams`` and the credentials on ``app.state.auth``.
    Every route depends on ``auth.authorize``: a router included here is guarded by
    being included.
    """
    settings = settings or Settings()
    auth = Authenticator(engine.store, settings)
    registry = StreamRegistry(
        max_streams=settings.max_streams,
        max_per_org=settings.max_streams_per_org,
        retry_after=max(1, math.ceil(settings.retry_ms / 1000)),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with watching(auth, registry), v0.lifespan(app):
            yield

    app = FastAPI(
        title="runstream",
        description=_DESCRIPTION,
        version="0.1.0",
        dependencies=[Depends(authorize)],
        lifespan=lifespan,
        # One span per request (when an OpenTelemetry SDK is configured), nothing more:
        # Prometheus has the metrics, our own logs the rest.
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.auth = auth
    app.state.streams = registry
    app.state.frame_bodies = FrameBodies(native.body)
    errors.install(app)
    for type in ExecutionType:
        app.include_router(executions.router(type))
        app.include_router(tokens.router(type))
    app.include_router(streams.router)
    app.include_router(kinds.router)
    app.include_router(v0.router())
    app.include_router(metrics.router)
    app.add_middleware(metrics.HttpMetrics)
    app.include_router(runs.router)
    dashboard.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Retry-After", "WWW-Authenticate"],
        )
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_LIMITS = {
    "401": "No valid API key or stream token (with `--auth keys`).",
    "403": "The credential belongs to another organisation, or is a stream token used "
    "for something other than reading its own execution.",
    "413": "The request body is larger than the server accepts.",
}


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema without the 422 responses (validation errors here are 400s), with
    the auth and limit errors every operation may answer, and the credentials it takes."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for status, description in _LIMITS.items():
                    responses.setdefault(status, {"description": description, "content": _ERROR})
                if "text/event-stream" in str(responses.get("200", {}).get("content", {})):
                    responses["429"] = {
                        "description": "Too many open streams (`Retry-After` says when to retry).",
                        "content": _ERROR,
                    }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        # Error responses name the error body by reference (JSON on every endpoint, the
        # streams included), so it is added here rather than through a response model.
        _, error_schemas = models_json_schema(
            [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}"
        )
        components.update(error_schemas["$defs"])
        if settings.auth == "keys":
            schema.setdefault("components", {})["securitySchemes"] = {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "`rs_…` API key"},
                "streamToken": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "Read-only stream token (`POST …/stream-tokens`).",
                },
            }
            schema["security"] = [{"apiKey": []}, {"streamToken": []}]
        _name_the_kinds(schema, app.state.engine)
        app.openapi_schema = schema
    return app.openapi_schema


def _name_the_kinds(schema: dict[str, Any], engine: Engine) -> None:
    """Give each start operation a body whose ``kind`` lists the app's workflows or tasks,
    so the documentation (and any generated client or fuzzer) knows the valid kinds."""
    components = schema["components"]["schemas"]
    start = components.get("StartRequest")
    registered: dict[str, list[str]] = {
        "startWorkflow": sorted(engine.app.workflows),
        "startTask": sorted(engine.app.tasks),
    }
    for item in schema["paths"].values():
        operation = item.get("post", {})
        kinds = registered.get(operation.get("operationId"))
        if start is None or not kinds:
            continue
        name = operation["operationId"][0].upper() + operation["operationId"][1:] + "Request"
        body = copy.deepcopy(start)
        body["title"] = name
        body["properties"]["kind"]["enum"] = kinds
        components[name] = body
        content = operation["requestBody"]["content"]["application/json"]
        content["schema"] = {"$ref": f"#/components/schemas/{name}"}
