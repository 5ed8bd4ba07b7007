"""``runstream executions …``, ``serve`` and ``worker`` as subprocesses, and the errors a user
can cause: clear one-line messages, the documented exit codes, never a stack trace."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

import runstream as rs
from tests.conftest import sqlite_url

from .apps import app
from .conftest import HERE, Server, command, environment, runstream, stop

UNKNOWN = "01a1fdda-7028-7221-8631-13855d8b9c8e"


def test_steering_an_execution(server: Server) -> None:
    waiting = server("run", "waiting", "--json").lines()[0]
    assert waiting["kind"] == "waiting" and waiting["status"] in ("PENDING", "RUNNING", "WAITING")
    listed = server("executions", "list", "--kind", "waiting").lines()
    assert waiting["id"] in [s["id"] for s in listed]

    resolved = server("executions", "resolve", waiting["id"], "go", '{"ok": true}')
    assert resolved.code == 0
    assert resolved.lines()[0]["promises"][0]["result"] == {"ok": True}
    again = server("executions", "resolve", waiting["id"], "go", "2")
    assert again.code == 2 and "already RESOLVED" in again.stderr

    sent = server("executions", "send", waiting["id"], "hello", "--text")
    assert sent.code == 0 and sent.stdout.strip()
    server.api(lambda c: c.result(waiting["id"]))
    got = server("executions", "get", waiting["id"]).lines()[0]
    assert got["status"] == "COMPLETED"
    assert got["output"] == {"go": {"ok": True}, "message": "hello"}

    events = server("executions", "events", waiting["id"]).lines()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"MESSAGE_CONSUMED", "PROMISE_RESOLVED"} <= {e["type"] for e in events}


def test_reject_and_cancel(server: Server) -> None:
    rejected = server.start("waiting")
    assert server("executions", "reject", rejected, "go", "no thanks").code == 0
    with pytest.raises(rs.ExecutionFailed, match="no thanks"):
        server.api(lambda c: c.result(rejected))

    cancelled = server.start("waiting")
    answer = server("executions", "cancel", cancelled, "--reason", "tests")
    assert answer.code == 0 and answer.lines()[0]["cancelRequested"] is True
    assert server("executions", "list", "--status", "cancelled").lines()[0]["id"] == cancelled


def test_listing_pages(server: Server) -> None:
    for _ in range(3):
        server.start("doomed")
    first = server("executions", "list", "--kind", "doomed", "--limit", "2")
    assert len(first.lines()) == 2
    assert "--cursor" in first.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("executions", "get", UNKNOWN), 4, f"execution {UNKNOWN} not found"),
        (("follow", UNKNOWN), 4, "not found"),
        (("executions", "get", "nope"), 2, "not a UUID"),
        (("run", "no_such_kind"), 4, "unknown workflow or task kind 'no_such_kind'"),
        (("run", "speak", "--task", "--input", "{bad"), 2, "not valid JSON"),
        (("run", "speak", "--task", "--input", "@missing.json"), 2, "cannot read"),
        (("executions", "send", UNKNOWN, "plain words"), 2, "a string needs JSON quotes"),
    ],
)
def test_user_errors(server: Server, args: tuple[str, ...], code: int, message: str) -> None:
    done = server(*args)
    assert (done.code, done.stdout) == (code, "")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_server() -> None:
    done = runstream("executions", "list", "--url", "http://127.0.0.1:9")
    assert done.code == 5
    assert "cannot reach the runstream server at http://127.0.0.1:9" in done.stderr


def test_a_standalone_task(server: Server) -> None:
    done = server("run", "speak", "--task", "--input", "3", "--follow")
    assert done.code == 0
    assert [e["type"] for e in done.lines()][-1] == "TASK_COMPLETED"
    tasks = server("executions", "list", "--task").lines()
    assert tasks[0]["kind"] == "speak"


def test_a_claude_code_session_is_run_followed_and_sent_to(server: Server) -> None:
    done = server("run", "assistant", "--input", '"hello there"', "--follow")
    assert done.code == 0, done.stderr
    events = done.lines()
    lines = [e["data"]["line"] for e in events if e["type"] == "claude"]
    assert lines[0]["type"] == "system" and lines[-1]["result"] == "Answer: hello there"
    assert "COMPLETED assistant" in done.stderr and "Answer: hello there" in done.stderr

    run_id = server.api(lambda c: c.start_task("patient", "first"))
    sent = server("executions", "send", run_id.id, "--text", "second")
    assert sent.code == 0 and len(sent.stdout.strip()) == 36
    assert server.api(lambda c: c.result(run_id.id)) == "Answer: second"
    late = server("executions", "send", run_id.id, '"third"')
    assert late.code == 2 and "COMPLETED" in late.stderr


@pytest.mark.parametrize(
    ("app_spec", "message"),
    [
        ("apps", "expected module:attribute"),
        ("no_such_module:app", "no module named 'no_such_module'"),
        ("apps:missing", "has no attribute 'missing'"),
        ("apps:not_an_app", "is a str, not a runstream App"),
    ],
)
def test_serve_refuses_bad_apps(app_spec: str, message: str) -> None:
    done = runstream("serve", app_spec, "--port", "9")
    assert done.code == 2
    assert message in done.stderr


def test_serve_refuses_a_bad_store(tmp_path: Path) -> None:
    done = runstream("serve", "apps:app", "--store", "redis://nowhere")
    assert done.code == 2 and "unsupported store URL" in done.stderr
    bad_env = runstream("serve", "apps:app", RUNSTREAM_STREAM_HEARTBEAT_SECONDS="soon")
    assert bad_env.code == 2 and "RUNSTREAM_STREAM_HEARTBEAT_SECONDS" in bad_env.stderr


def test_worker_runs_what_is_in_the_store(tmp_path: Path) -> None:
    store = sqlite_url(tmp_path / "runstream.db")

    async def start() -> str:
        async with rs.Engine(app, store=store, worker=False) as engine:
            return (await engine.start("greet", "wes")).id

    async def output(execution_id: str) -> object:
        async with rs.Engine(app, store=store, worker=False) as engine:
            return (await engine.get(execution_id)).output

    execution_id = asyncio.run(start())
    with subprocess.Popen(
        command("worker", "apps:app"),
        env=environment(RUNSTREAM_STORE=store),
        cwd=HERE,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            assert "running cli-tests" in worker.stderr.readline()
            time.sleep(1)
            worker.send_signal(signal.SIGINT)
            assert worker.wait(10) == 0
        finally:
            stop(worker)
    assert asyncio.run(output(execution_id)) == "hello wes"
