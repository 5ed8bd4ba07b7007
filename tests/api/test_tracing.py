"""Trace context goes from the HTTP request that starts an execution to the activations and
task attempts that run it, through the store (not through asyncio context)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .conftest import Live

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def _named(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


async def test_the_start_request_is_the_parent_of_the_work(
    live: Live, spans: InMemorySpanExporter
) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    finished = spans.get_finished_spans()
    (request,) = _named(finished, "POST /api/orgs/{org}/workflow-executions")
    activations = _named(finished, "activate kinds")
    (attempt,) = _named(finished, "task report")
    assert activations and request.context is not None
    for span in [*activations, attempt]:
        assert span.context is not None and span.parent is not None
        assert span.context.trace_id == request.context.trace_id
        assert span.parent.span_id == request.context.span_id
        assert span.attributes is not None
        assert span.attributes["runstream.execution_id"] == execution_id
    assert attempt.attributes is not None and attempt.attributes["runstream.attempt"] == 1


async def test_streams_get_one_span_not_one_per_send(
    live: Live, spans: InMemorySpanExporter
) -> None:
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    spans.clear()
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        blocks = await stream.blocks()
    assert len(blocks) > 5
    assert [s.name for s in spans.get_finished_spans()] == [
        "GET /api/orgs/{org}/workflow-executions/{execution_id}/stream"
    ]
