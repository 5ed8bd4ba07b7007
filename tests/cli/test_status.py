"""``runstream status`` and the metrics of real server processes: several processes sharing
one metrics directory, and a lease expiry after a worker was killed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Server, free_port, serving, stop


def sample(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def until(condition: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_status_summarises_a_server(server: Server) -> None:
    execution_id = server.start("waiting")
    until(lambda: server.api(lambda c: c.get(execution_id)).status == "WAITING", 10)
    result = server("status", "--json")
    assert result.code == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["executions"]["workflow/WAITING"] >= 1
    assert {"streams", "queue_depth", "running_tasks", "workers", "timers_due"} <= set(summary)
    table = server("status", "--once")
    assert table.code == 0 and "unfinished executions" in table.stdout
    assert "workflow/WAITING" in table.stdout


def test_status_of_no_server_is_a_clear_error() -> None:
    result = Server(f"http://127.0.0.1:{free_port()}", None)("status", "--once")  # type: ignore[arg-type]
    assert result.code != 0 and "cannot reach" in result.stderr


def test_processes_sharing_a_metrics_dir_add_up(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with serving(tmp_path / "a.db", **env) as a, serving(tmp_path / "b.db", **env) as b:
        streams = []
        for server in (a, b):
            execution_id = server.start("waiting")
            url = f"{server.url}/api/orgs/default/workflow-executions/{execution_id}/stream"
            client = httpx.Client(timeout=10)
            response = client.send(client.build_request("GET", url), stream=True)
            streams.append((client, response))
        try:
            labels = {"family": "native", "org": "default"}
            until(lambda: sample(a.url, "runstream_streams_open", **labels) == 2, 10)
            assert sample(b.url, "runstream_streams_open", **labels) == 2
            stop(b.process)
            until(lambda: sample(a.url, "runstream_streams_open", **labels) == 1, 10)
        finally:
            for client, response in streams:
                response.close()
                client.close()


def test_a_killed_worker_shows_a_lease_expiry(tmp_path: Path) -> None:
    store = tmp_path / "crash.db"
    short = {"RUNSTREAM_LEASE_TIMEOUT_SECONDS": "1"}
    with serving(store, **short) as first:
        execution_id = first.start("long_talk")
        until(
            lambda: any(
                t.status == "RUNNING" for t in first.api(lambda c: c.get(execution_id)).tasks
            ),
            10,
        )
        first.process.kill()
        first.process.wait()
    with serving(store, **short) as second:
        until(lambda: sample(second.url, "runstream_lease_expiries_total") >= 1, 15)
