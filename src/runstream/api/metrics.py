"""``GET /metrics`` and the HTTP figures: requests, errors and latency by route template (a
pure ASGI layer: Starlette's HTTP middleware base class buffers streams).

The trace span of each request is FastAPI's own (its native OpenTelemetry support, on when
an SDK is configured); an execution started inside it carries its context (``tracing``)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runstream import Engine
from runstream.observability import metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def scrape(request: Request) -> Response:
    """This process's streams, HTTP and engine figures, plus the store's queue figures
    (the same from every process sharing the store). See docs/operations.md."""
    engine: Engine = request.app.state.engine
    figures = await engine.store.figures()
    return Response(metrics.render(figures), media_type=metrics.CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Counts every HTTP request by method, route template and status, and times it to its
    first bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        started = time.perf_counter()
        answered = False

        def record(status: int) -> None:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            labels = (method, route, str(status))
            metrics.HTTP_REQUESTS.labels(*labels).inc()
            if status >= 400:
                metrics.HTTP_ERRORS.labels(*labels).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)

        async def send_and_count(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_and_count)
        except Exception:
            if not answered:
                answered = True
                record(500)
            raise
