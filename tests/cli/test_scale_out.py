"""Scale-out with real processes: two ``runstream serve --no-worker`` and two ``runstream
worker`` on one PostgreSQL database, woken by NOTIFY or by Redis (``--bus``). Processes
are killed with SIGKILL and stopped with SIGTERM; nothing may be lost or done twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runstream.client import Client
from runstream.model import Event, new_id
from tests.api.sse import Block, connect
from tests.cli.conftest import HERE, command, environment, free_port, stop, wait_listening
from tests.conftest import REDIS_URL, fresh_pg_database

pytestmark = pytest.mark.slow
LEASE = "2.0"
"""Short leases: a killed worker's task is taken over within seconds."""


@dataclass
class Process:
    name: str
    process: subprocess.Popen[str]
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """Processes sharing one database; their stderr goes to ``logs/<name>.log``."""

    store: str
    bus: str | None
    markers: Path
    logs: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        env = environment(
            RUNSTREAM_STORE=self.store,
            RUNSTREAM_LEASE_TIMEOUT_SECONDS=LEASE,
            RUNSTREAM_STREAM_POLL_MS="250",
            RUNSTREAM_CONCURRENCY="8",  # so that one worker cannot take every workflow at once
            SCALE_MARKERS=str(self.markers),
        )
        if self.bus:
            env["RUNSTREAM_BUS"] = self.bus
        return env

    def _popen(self, name: str, *args: str) -> subprocess.Popen[str]:
        with (self.logs / f"{name}.log").open("a") as log:
            return subprocess.Popen(
                command(*args), env=self._env(), cwd=HERE, stdout=log, stderr=log, text=True
            )

    def api(self, name: str) -> Process:
        port = free_port()
        proc = self._popen(
            name, "serve", "apps:app", "--no-worker", "--port", str(port), "--log-level", "warning"
        )
        self.processes[name] = Process(name, proc, port)
        wait_listening(port, proc)
        return self.processes[name]

    def worker(self, name: str) -> Process:
        self.processes[name] = Process(name, self._popen(name, "worker", "apps:app"))
        return self.processes[name]

    def by_pid(self, pid: int) -> Process:
        return next(p for p in self.processes.values() if p.process.pid == pid)

    def markers_named(self, prefix: str) -> list[str]:
        return sorted(p.name for p in self.markers.iterdir() if p.name.startswith(prefix))

    async def wait_marker(self, prefix: str, timeout: float = 20) -> str:
        async with asyncio.timeout(timeout):
            while True:
                if found := self.markers_named(prefix):
                    return found[0]
                await asyncio.sleep(0.02)


@pytest.fixture(scope="module", params=["notify", "redis"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    bus = f"{REDIS_URL}?prefix=test-{new_id()}:" if request.param == "redis" else None
    root = tmp_path_factory.mktemp("cluster")
    (root / "markers").mkdir()
    (root / "logs").mkdir()
    with fresh_pg_database() as store:
        c = Cluster(store, bus, root / "markers", root / "logs")
        try:
            c.worker("worker-1")
            c.worker("worker-2")
            c.api("api-1")
            c.api("api-2")
            yield c
        finally:
            for proc in c.processes.values():
                stop(proc.process)


async def log_of(api: Process, execution_id: str) -> list[Event]:
    """The whole stored log, through the JSON pages."""
    events: list[Event] = []
    async with Client(api.url) as client:
        while True:
            page = await client.events(execution_id, after=len(events), limit=1000)
            events += page.items
            if not page.has_more:
                return events


async def start(api: Process, kind: str, input: Any) -> str:
    async with Client(api.url) as client:
        return (await client.start(kind, input)).id


async def read_stream(api: Process, execution_id: str, after: int = 0) -> list[Block]:
    """Every block of one connection until the server ends it (or dies)."""
    path = f"/api/orgs/default/workflow-executions/{execution_id}/stream"
    blocks: list[Block] = []
    headers = {"Last-Event-ID": str(after)} if after else None
    try:
        async with connect(api.port, path, headers) as stream:
            while (block := await stream.block(timeout=30)) is not None:
                blocks.append(block)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the server was killed mid-stream
    return [b for b in blocks if b.id is not None and b.event is not None]


def assert_whole(log: list[Event]) -> None:
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert log[-1].type == "WORKFLOW_COMPLETED"
    lifecycle = [str(e.type) for e in log if str(e.type).isupper()]
    for once in ("WORKFLOW_CREATED", "WORKFLOW_STARTED", "WORKFLOW_COMPLETED", "TASK_COMPLETED"):
        assert lifecycle.count(once) == 1, lifecycle


async def test_start_on_one_api_and_stream_from_the_other(cluster: Cluster) -> None:
    api_1, api_2 = cluster.processes["api-1"], cluster.processes["api-2"]
    tag = new_id()
    execution_id = await start(api_1, "crashable", tag)
    reading = asyncio.ensure_future(read_stream(api_2, execution_id))
    await cluster.wait_marker(f"hang-{tag}-1")
    (cluster.markers / f"release-{tag}").touch()
    blocks = await asyncio.wait_for(reading, 30)
    log = await log_of(api_1, execution_id)
    assert_whole(log)
    assert [int(b.id or 0) for b in blocks] == [e.seq for e in log]


async def test_a_worker_killed_mid_task_is_replaced_and_nothing_repeats(cluster: Cluster) -> None:
    api = cluster.processes["api-1"]
    tag = new_id()
    execution_id = await start(api, "crashable", tag)
    first = await cluster.wait_marker(f"hang-{tag}-1")
    victim = cluster.by_pid(int(first.rsplit("-", 1)[1]))
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    (cluster.markers / f"release-{tag}").touch()
    try:
        # A retries=0 task: only the lost-worker rule brings it back, on the other worker.
        second = await cluster.wait_marker(f"hang-{tag}-2", timeout=30)
        assert int(second.rsplit("-", 1)[1]) != victim.process.pid
        async with Client(api.url) as client:
            assert await asyncio.wait_for(client.result(execution_id), 30) == "released"
        log = await log_of(api, execution_id)
        assert_whole(log)
        failed = [e for e in log if e.type == "TASK_FAILED"]
        assert len(failed) == 1 and failed[0].data["workerLost"] and failed[0].data["willRetry"]
        assert [e.data["executionCount"] for e in log if e.type == "TASK_STARTED"] == [1, 2]
        assert len(cluster.markers_named(f"hang-{tag}-")) == 2
    finally:
        cluster.worker(victim.name)


async def test_an_api_killed_mid_stream_is_resumed_on_the_other(cluster: Cluster) -> None:
    victim, other = cluster.processes["api-2"], cluster.processes["api-1"]
    tag = new_id()
    execution_id = await start(other, "crashable", tag)
    await cluster.wait_marker(f"hang-{tag}-1")
    reading = asyncio.ensure_future(read_stream(victim, execution_id))
    await asyncio.sleep(0.5)  # tokens stream meanwhile
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    try:
        before = await asyncio.wait_for(reading, 10)
        assert before, "nothing was streamed before the kill"
        (cluster.markers / f"release-{tag}").touch()
        after = await asyncio.wait_for(
            read_stream(other, execution_id, int(before[-1].id or 0)), 30
        )
        log = await log_of(other, execution_id)
        assert_whole(log)
        ids = [int(b.id or 0) for b in before + after]
        assert ids == [e.seq for e in log]  # union == log, no duplicates
    finally:
        cluster.api(victim.name)


async def test_four_workers_claiming_at_once_never_run_an_attempt_twice(
    cluster: Cluster,
) -> None:
    extra = [cluster.worker(f"extra-{i}") for i in range(2)]
    api = cluster.processes["api-1"]
    await asyncio.sleep(1.5)  # the extra workers are up
    ids = await asyncio.gather(*(start(api, "single", n) for n in range(60)))
    results: list[Any] = []
    async with Client(api.url) as client, asyncio.timeout(90):
        for chunk in range(0, 60, 30):  # each result() holds a stream open
            results += await asyncio.gather(*(client.result(i) for i in ids[chunk : chunk + 30]))
    assert results == list(range(60))
    ran: dict[tuple[str, str], list[str]] = {}
    for name in cluster.markers_named("once-"):
        task, attempt, pid = name.removeprefix("once-").rsplit("-", 2)
        ran.setdefault((task, attempt), []).append(pid)
    assert {key: pids for key, pids in ran.items() if len(pids) > 1} == {}
    assert len({task for task, _ in ran}) == 60
    assert len({pid for pids in ran.values() for pid in pids}) >= 2, "one worker did it all"
    for execution_id in ids[:10]:  # and each completion was recorded once
        assert_whole(await log_of(api, execution_id))
    for proc in extra:  # SIGTERM: drain and exit 0
        proc.process.send_signal(signal.SIGTERM)
    for proc in extra:
        assert proc.process.wait(15) == 0
        del cluster.processes[proc.name]


async def test_sigterm_hands_a_running_task_back_at_once(cluster: Cluster) -> None:
    api = cluster.processes["api-1"]
    tag = new_id()
    execution_id = await start(api, "crashable", tag)
    first = await cluster.wait_marker(f"hang-{tag}-1")
    victim = cluster.by_pid(int(first.rsplit("-", 1)[1]))
    stopped_at = time.monotonic()
    victim.process.send_signal(signal.SIGTERM)
    try:
        assert victim.process.wait(15) == 0
        second = await cluster.wait_marker(f"hang-{tag}-2", timeout=30)
        assert int(second.rsplit("-", 1)[1]) != victim.process.pid
        assert time.monotonic() - stopped_at < 10
        (cluster.markers / f"release-{tag}").touch()
        async with Client(api.url) as client:
            assert await asyncio.wait_for(client.result(execution_id), 30) == "released"
        log = await log_of(api, execution_id)
        assert_whole(log)
        failed = [e for e in log if e.type == "TASK_FAILED"]
        assert len(failed) == 1 and "stopped" in failed[0].data["error"]
    finally:
        cluster.worker(victim.name)
