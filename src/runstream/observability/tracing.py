"""OpenTelemetry spans and trace context, a no-op unless an OpenTelemetry SDK is configured.

A span covers one workflow activation and one task attempt (FastAPI's own OpenTelemetry
support makes one per HTTP request, not one per SSE send). The trace context of the request
that started an execution is stored with the execution (``carrier()``), so the activations
and task attempts that run it — in whatever process — continue that trace
(``span(..., parent=…)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import orjson

try:  # the API is light and usually present (FastAPI depends on it); the SDK is an extra
    from opentelemetry import context as _context
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - exercised only without opentelemetry-api
    _trace = None  # type: ignore[assignment]

_TRACER = "runstream"


def carrier() -> str | None:
    """The current trace context as stored text (W3C ``traceparent``), or None outside a
    recording span."""
    if _trace is None or not _trace.get_current_span().get_span_context().is_valid:
        return None
    headers: dict[str, str] = {}
    _propagate.inject(headers)
    return orjson.dumps(headers).decode() if headers else None


def span(
    name: str, *, parent: str | None = None, **attributes: Any
) -> contextlib.AbstractContextManager[None]:
    """A span named ``name`` in the current context, or continuing ``parent`` (a stored
    ``carrier()``); attributes with None values are left out."""
    if _trace is None or isinstance(_trace.get_tracer_provider(), _trace.ProxyTracerProvider):
        return _NO_SPAN  # no SDK configured: spans would be discarded, so make none (hot path)
    return _span(name, parent, attributes)


_NO_SPAN = contextlib.nullcontext()


@contextlib.contextmanager
def _span(name: str, parent: str | None, attributes: dict[str, Any]) -> Iterator[None]:
    ctx = None
    if parent:
        try:
            ctx = _propagate.extract(orjson.loads(parent))
        except orjson.JSONDecodeError:
            ctx = None
    token = _context.attach(ctx) if ctx is not None else None
    try:
        tracer = _trace.get_tracer(_TRACER)
        attrs = {k: v for k, v in attributes.items() if v is not None}
        with tracer.start_as_current_span(name, attributes=attrs):
            yield
    finally:
        if token is not None:
            _context.detach(token)
