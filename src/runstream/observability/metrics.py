"""Prometheus metrics: what every layer counts, and the text ``GET /metrics`` serves.

The metrics are module-level objects so that any layer can count with one line. Counters
and histograms are per process (Prometheus sums them across the processes it scrapes);
figures about the shared store — queue depth, the oldest runnable task, executions by
status, due timers — are read from the store at scrape time (``StoreFigures``), so every
API process reports the same global values.

Several processes of one host (``uvicorn --workers``) share their figures through
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode): each process writes
its own files, gauges of open streams use ``livesum`` (live processes only), and
``process_exited`` runs when an engine closes. As with any prometheus-client deployment,
whatever starts the processes empties the directory first (docs/operations.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

__all__ = ["CONTENT_TYPE_LATEST", "StoreFigures", "render"]

# No ``*_created`` series: they double the output for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_DURATION = (0.1, 1.0, 5.0, 15.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

# -- streams -----------------------------------------------------------------------------------
STREAMS_OPEN = Gauge(
    "runstream_streams_open",
    "Streams open now, by API family and org.",
    ["family", "org"],
    multiprocess_mode="livesum",
)
STREAMS_OPENED = Counter(
    "runstream_streams_opened_total", "Streams opened, by API family.", ["family"]
)
STREAM_RECONNECTS = Counter(
    "runstream_stream_reconnects_total",
    "Streams opened with a resume point (Last-Event-ID), by API family.",
    ["family"],
)
STREAM_DURATION = Histogram(
    "runstream_stream_duration_seconds",
    "How long streams stayed open, by API family.",
    ["family"],
    buckets=_DURATION,
)
STREAM_ENDINGS = Counter(
    "runstream_stream_disconnects_total",
    "Streams ended, by reason: complete, client_gone, idle, max_duration, slow_client, shutdown.",
    ["family", "reason"],
)
STREAM_FRAMES = Counter("runstream_stream_frames_total", "Event frames sent.", ["family"])
STREAM_BYTES = Counter("runstream_stream_sent_bytes_total", "Bytes sent on streams.", ["family"])
FANOUT_LATENCY = Histogram(
    "runstream_fanout_latency_seconds",
    "From an event's commit to its frame being handed to a live stream.",
    ["family"],
    buckets=_LATENCY,
)

# -- HTTP --------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "runstream_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_ERRORS = Counter(
    "runstream_http_errors_total",
    "HTTP requests answered 4xx or 5xx, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "runstream_http_request_duration_seconds",
    "Time to the response's first bytes, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY,
)

# -- engine ------------------------------------------------------------------------------------
EXECUTIONS_STARTED = Counter(
    "runstream_executions_started_total",
    "Executions started (children included), by type and registered kind.",
    ["type", "kind"],
)
EXECUTIONS_FINISHED = Counter(
    "runstream_executions_finished_total",
    "Executions that reached a terminal status, by type, registered kind and status.",
    ["type", "kind", "status"],
)
TASK_ATTEMPTS = Counter("runstream_task_attempts_total", "Task attempts started.")
TASK_RETRIES = Counter(
    "runstream_task_retries_total", "Task attempts that failed and will be retried."
)
MANUAL_RETRIES = Counter(
    "runstream_manual_retries_total",
    "Failed executions reopened by a manual retry, by type.",
    ["type"],
)
LEASE_EXPIRIES = Counter(
    "runstream_lease_expiries_total",
    "Task attempts whose lease expired (their worker was lost or stalled).",
)
ACTIVATION_DURATION = Histogram(
    "runstream_activation_duration_seconds",
    "One workflow activation: replay, run to the next wait, commit.",
    buckets=_LATENCY,
)
TASK_DURATION = Histogram(
    "runstream_task_attempt_duration_seconds",
    "One task attempt, from its start to its recorded end.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0, 3600.0),
)

# -- store and bus -----------------------------------------------------------------------------
COMMIT_DURATION = Histogram(
    "runstream_store_commit_duration_seconds",
    "One group commit of the store's writer, begin to commit.",
    buckets=_LATENCY,
)
COMMIT_OPERATIONS = Histogram(
    "runstream_store_commit_operations",
    "Operations (writes) per group commit.",
    buckets=_SIZES,
)
READ_DURATION = Histogram(
    "runstream_store_read_duration_seconds", "One read of the store.", buckets=_LATENCY
)
BUS_WAKEUPS = Counter(
    "runstream_bus_wakeups_total",
    "Hints received from other processes (LISTEN/NOTIFY or Redis), by bus.",
    ["bus"],
)
FALLBACK_POLLS = Counter(
    "runstream_fallback_polls_total",
    "Polls of the store made because no hint came within the fallback interval.",
    ["loop"],
)


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What the store holds right now, read at scrape time."""

    executions: dict[tuple[str, str], int]
    """Non-terminal executions by (type, status)."""
    runnable_tasks: int
    """Task attempts due now and not claimed."""
    oldest_runnable_age: float
    """Seconds the longest-waiting due task has waited (0 when none)."""
    running_tasks: int
    timers_due: int
    """Timers past their deadline and not fired yet."""
    workers: int
    """Distinct lease owners holding a task or workflow lease."""


def _store_registry(figures: StoreFigures) -> CollectorRegistry:
    registry = CollectorRegistry()
    by_status = Gauge(
        "runstream_executions",
        "Unfinished executions by type and status (from the store).",
        ["type", "status"],
        registry=registry,
    )
    for (type_, status), n in sorted(figures.executions.items()):
        by_status.labels(type_, status).set(n)
    for name, doc, value in (
        ("runstream_queue_depth", "Task attempts due and not claimed.", figures.runnable_tasks),
        (
            "runstream_queue_oldest_age_seconds",
            "How long the longest-waiting due task has waited.",
            figures.oldest_runnable_age,
        ),
        ("runstream_tasks_running", "Task attempts holding a lease.", figures.running_tasks),
        ("runstream_timers_due", "Timers past their deadline, not yet fired.", figures.timers_due),
        ("runstream_workers", "Processes holding a task or workflow lease.", figures.workers),
    ):
        Gauge(name, doc, registry=registry).set(value)
    return registry


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when this process runs in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(figures: StoreFigures | None) -> bytes:
    """The Prometheus text exposition of this process (or of every process writing to the
    multiprocess directory) plus the store's figures."""
    directory = multiprocess_dir()
    if directory is not None:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        text = generate_latest(REGISTRY)
    if figures is not None:
        text += generate_latest(_store_registry(figures))
    return text


def process_exited(pid: int | None = None) -> None:
    """Drop a process's live gauges from the multiprocess directory (no-op otherwise)."""
    if multiprocess_dir() is not None:
        _multiprocess.mark_process_dead(os.getpid() if pid is None else pid)  # type: ignore[no-untyped-call]
