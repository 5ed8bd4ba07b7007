"""``GET /metrics`` against a real server: each family moves as it should.

Counters are process-wide and this test process runs many servers, so every check reads
a figure before and after what it drives and compares the difference.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runstream.observability.streamlog import JsonLines

from .conftest import Live, until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(live: Live) -> Samples:
    response = await live.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_a_stream_moves_the_open_gauge_up_and_back(live: Live) -> None:
    before = await scrape(live)
    execution_id = await live.start("gated")
    snapshot = await live.waiting(execution_id)
    headers = {"Last-Event-ID": "1"}
    async with live.stream(live.path(execution_id, "/stream"), headers) as stream:
        while (block := await stream.block()) is not None and block.id != str(snapshot.last_seq):
            pass  # every event after the resume point has been sent
        during = await scrape(live)
        assert value(during, "runstream_streams_open", family="native", org="default") == (
            value(before, "runstream_streams_open", family="native", org="default") + 1
        )
    await live.no_streams()
    after = await scrape(live)
    open_now = value(after, "runstream_streams_open", family="native", org="default")
    assert open_now == value(before, "runstream_streams_open", family="native", org="default")
    gone = ("runstream_stream_disconnects_total", {"family": "native", "reason": "client_gone"})
    assert value(after, gone[0], **gone[1]) == value(before, gone[0], **gone[1]) + 1
    for name in ("runstream_stream_reconnects_total", "runstream_streams_opened_total"):
        assert value(after, name, family="native") == value(before, name, family="native") + 1
    frames = value(after, "runstream_stream_frames_total", family="native") - value(
        before, "runstream_stream_frames_total", family="native"
    )
    assert frames == snapshot.last_seq - 1
    assert value(after, "runstream_stream_sent_bytes_total", family="native") > value(
        before, "runstream_stream_sent_bytes_total", family="native"
    )


async def test_a_stream_that_ends_with_its_execution_counts_as_complete(live: Live) -> None:
    before = await scrape(live)
    execution_id = await live.start("gated")
    async with live.stream(live.path(execution_id, "/stream")) as stream:
        await until(lambda: live.streams.in_flight == 1, 2)
        await live.http.post(f"{live.path(execution_id)}/promises/go/resolve", json={})
        await stream.blocks()
    await live.no_streams()
    after = await scrape(live)
    name, labels = "runstream_stream_disconnects_total", {"family": "native", "reason": "complete"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    count = "runstream_fanout_latency_seconds_count"
    assert value(after, count, family="native") > value(before, count, family="native")


async def test_http_requests_and_errors_by_route_template(live: Live) -> None:
    before = await scrape(live)
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    missing = await live.http.get(live.path("0190f5e2-7c4a-7000-8000-000000000000"))
    assert missing.status_code == 404
    await live.http.get("/no/such/route")
    after = await scrape(live)
    route = "/api/orgs/{org}/workflow-executions/{execution_id}"
    started = ("POST", "/api/orgs/{org}/workflow-executions", "201")
    for name, (method, path, status) in (
        ("runstream_http_requests_total", started),
        ("runstream_http_requests_total", ("GET", route, "404")),
        ("runstream_http_errors_total", ("GET", route, "404")),
        ("runstream_http_errors_total", ("GET", "unmatched", "404")),
    ):
        labels = {"method": method, "route": path, "status": status}
        assert value(after, name, **labels) >= value(before, name, **labels) + 1, (name, labels)


async def test_engine_figures_follow_executions(live: Live) -> None:
    before = await scrape(live)
    execution_id = await live.start("kinds")
    await live.finished(execution_id)
    after = await scrape(live)
    started = ("runstream_executions_started_total", {"type": "workflow", "kind": "kinds"})
    finished = (
        "runstream_executions_finished_total",
        {"type": "workflow", "kind": "kinds", "status": "COMPLETED"},
    )
    for name, labels in (started, finished):
        assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert value(after, "runstream_task_attempts_total") == (
        value(before, "runstream_task_attempts_total") + 1
    )
    assert value(after, "runstream_activation_duration_seconds_count") > value(
        before, "runstream_activation_duration_seconds_count"
    )
    assert value(after, "runstream_store_commit_duration_seconds_count") > value(
        before, "runstream_store_commit_duration_seconds_count"
    )


async def test_store_figures_show_waiting_work(live: Live) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    samples = await scrape(live)
    assert value(samples, "runstream_executions", type="workflow", status="WAITING") == 1
    for name in ("runstream_queue_depth", "runstream_tasks_running", "runstream_timers_due"):
        assert value(samples, name) == 0, name


async def test_stream_logs_are_structured_and_name_the_reason(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = await live.start("gated")
    await live.waiting(execution_id)
    with caplog.at_level(logging.INFO, logger="runstream.streams"):
        async with live.stream(live.path(execution_id, "/stream"), {"Last-Event-ID": "2"}) as s:
            while (block := await s.block()) is not None and block.id is None:
                pass  # the retry hint first, then event frames
        await live.no_streams()
        await asyncio.sleep(0.05)
    records = [r for r in caplog.records if r.name == "runstream.streams"]
    assert [r.getMessage() for r in records] == ["stream open", "stream closed"]
    closed = records[1].fields  # type: ignore[attr-defined]
    assert closed["execution_id"] == execution_id and closed["resume_id"] == "2"
    assert closed["reason"] == "client_gone" and closed["frames"] >= 1
    assert {"org", "family", "last_id", "bytes", "duration_s"} <= set(closed)
    line = JsonLines().format(records[1])
    assert line.startswith("{") and '"reason":"client_gone"' in line
