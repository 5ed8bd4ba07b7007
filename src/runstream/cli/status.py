"""``runstream status``: a one-screen summary of a server, read from its ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, field
from typing import Annotated

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.live import Live
from rich.table import Table

from runstream.cli.console import ExitCode, fail, is_tty, print_json, run, stdout
from runstream.cli.options import Json, Url
from runstream.client import DEFAULT_URL


@dataclass
class Summary:
    """The figures ``status`` shows."""

    streams: dict[str, int] = field(default_factory=dict)
    """Open streams by API family."""
    executions: dict[str, int] = field(default_factory=dict)
    """Unfinished executions by ``type/STATUS``."""
    queue_depth: int = 0
    oldest_wait_seconds: float = 0.0
    running_tasks: int = 0
    timers_due: int = 0
    workers: int = 0
    started: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    """Executions finished (this process) by status."""


def summarize(text: str) -> Summary:
    """The summary of a Prometheus text exposition of runstream's metrics."""
    summary = Summary()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value, labels = sample.value, sample.labels
            match sample.name:
                case "runstream_streams_open":
                    key = labels["family"]
                    summary.streams[key] = summary.streams.get(key, 0) + int(value)
                case "runstream_executions":
                    summary.executions[f"{labels['type']}/{labels['status']}"] = int(value)
                case "runstream_queue_depth":
                    summary.queue_depth = int(value)
                case "runstream_queue_oldest_age_seconds":
                    summary.oldest_wait_seconds = round(value, 3)
                case "runstream_tasks_running":
                    summary.running_tasks = int(value)
                case "runstream_timers_due":
                    summary.timers_due = int(value)
                case "runstream_workers":
                    summary.workers = int(value)
                case "runstream_executions_started_total":
                    summary.started += int(value)
                case "runstream_executions_finished_total":
                    key = labels["status"]
                    summary.finished[key] = summary.finished.get(key, 0) + int(value)
    return summary


def render(summary: Summary, url: str) -> Group:
    """The summary as two small tables."""
    now = Table(title=f"runstream at {url}", show_header=False, title_justify="left")
    now.add_column(style="bold")
    now.add_column(justify="right")
    open_streams = sum(summary.streams.values())
    by_family = ", ".join(f"{k} {v}" for k, v in sorted(summary.streams.items()) if v)
    now.add_row("open streams", f"{open_streams}" + (f" ({by_family})" if by_family else ""))
    now.add_row("queue depth", str(summary.queue_depth))
    now.add_row("oldest waiting task", f"{summary.oldest_wait_seconds:.1f} s")
    now.add_row("running tasks", str(summary.running_tasks))
    now.add_row("timers due", str(summary.timers_due))
    now.add_row("workers holding leases", str(summary.workers))
    now.add_row("started (this process)", str(summary.started))
    finished = ", ".join(f"{k} {v}" for k, v in sorted(summary.finished.items())) or "0"
    now.add_row("finished (this process)", finished)
    executions = Table(title="unfinished executions", title_justify="left")
    executions.add_column("type/status")
    executions.add_column("count", justify="right")
    for key, count in sorted(summary.executions.items()):
        executions.add_row(key, str(count))
    if not summary.executions:
        executions.add_row("none", "0")
    return Group(now, executions)


async def _fetch(http: httpx.AsyncClient, url: str) -> Summary:
    try:
        response = await http.get(f"{url.rstrip('/')}/metrics")
    except httpx.HTTPError as exc:
        fail(f"cannot reach {url}: {exc}", ExitCode.UNAVAILABLE)
    if response.status_code != 200:
        fail(f"{url}/metrics answered {response.status_code}", ExitCode.UNAVAILABLE)
    return summarize(response.text)


async def _status(url: str, *, watch: bool, interval: float, json: bool) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        summary = await _fetch(http, url)
        if json:
            print_json(asdict(summary))
            return
        if not watch:
            stdout.print(render(summary, url))
            return
        with Live(render(summary, url), console=stdout, refresh_per_second=4) as live:
            while True:
                await asyncio.sleep(interval)
                live.update(render(await _fetch(http, url), url))


def status(
    url: Url = DEFAULT_URL,
    watch: Annotated[
        bool | None,
        typer.Option(
            "--watch/--once",
            help="Refresh until Ctrl-C (default on a terminal) or print once.",
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between refreshes.")
    ] = 2.0,
    json: Json = False,
) -> None:
    """Open streams, executions by status, queue depth and workers of a server, live."""
    with contextlib.suppress(KeyboardInterrupt):
        run(_status(url, watch=is_tty() if watch is None else watch, interval=interval, json=json))
