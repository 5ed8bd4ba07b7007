"""``runstream run --follow`` and ``runstream follow`` against ``runstream serve``: output, exit
codes, resuming after the server ends connections, and Ctrl-C detaching."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from typing import Any

from .conftest import HERE, Result, Server, command, environment


def assert_complete_log(events: list[dict[str, Any]]) -> None:
    """Ids 1, 2, 3, … with no gap or repeat, ending with the terminal event."""
    assert [e["id"] for e in events] == [str(i) for i in range(1, len(events) + 1)]


def test_run_follow_a_completed_workflow(server: Server) -> None:
    done = server("run", "greet", "--input", '"bob"', "--follow")
    assert done.code == 0, done.stderr
    events = done.lines()
    assert_complete_log(events)
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
    assert events[-1]["data"]["output"] == "hello bob"
    assert "".join(e["data"] for e in events if e["type"] == "token") == "".join(
        f"word{i} " for i in range(40)
    )
    assert "COMPLETED greet" in done.stderr


def test_run_follow_a_failed_workflow(server: Server) -> None:
    done = server("run", "doomed", "--follow")
    assert done.code == 1
    assert done.lines()[-1]["type"] == "WORKFLOW_FAILED"
    assert "doomed on purpose" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_lines_say_which_attempt_streamed_a_token(server: Server) -> None:
    done = server("run", "retried", "--follow", "--json")
    assert done.code == 0, done.stderr
    events = done.lines()
    assert_complete_log(events)
    tokens = [e for e in events if e["type"] == "token"]
    started = [e for e in events if e["type"] == "TASK_STARTED"]
    task_id = started[0]["data"]["id"]
    assert {e["taskId"] for e in tokens} == {task_id}
    assert [e["attempt"] for e in tokens] == [1, 1, 1, 2, 2, 2]
    assert all(e["taskId"] == task_id and e["attempt"] for e in started)
    # Keeping the final attempt's tokens gives exactly the text that counted.
    final = max(e["attempt"] for e in tokens)
    text = "".join(e["data"] for e in tokens if e["attempt"] == final)
    assert text == "try2-word0 try2-word1 try2-word2 "
    workflow_events = [e for e in events if e["type"].startswith("WORKFLOW_")]
    assert all("taskId" not in e for e in workflow_events)


def test_follow_exit_codes(server: Server) -> None:
    greet = server.start("greet", "ann")
    doomed = server.start("doomed")
    waiting = server.start("waiting")
    server.api(lambda c: c.cancel(waiting))

    completed = server("follow", greet)
    assert completed.code == 0
    assert_complete_log(completed.lines())
    assert server("follow", doomed).code == 1
    cancelled = server("follow", waiting)
    assert cancelled.code == 3
    assert cancelled.lines()[-1]["type"] == "WORKFLOW_CANCELLED"


def test_follow_with_filters_and_a_resume_point(server: Server) -> None:
    greet = server.start("greet", "cy")
    tokens = server("follow", greet, "--types", "token")
    assert tokens.code == 0
    assert {e["type"] for e in tokens.lines()} == {"token"}
    ids = [int(e["id"]) for e in tokens.lines()]
    assert ids == sorted(ids) and len(ids) == 40
    rest = server("follow", greet, "--after", str(ids[-1]))
    assert rest.code == 0
    assert [e["type"] for e in rest.lines()][-1] == "WORKFLOW_COMPLETED"
    assert int(rest.lines()[0]["id"]) == ids[-1] + 1
    bad = server("follow", greet, "--types", "nonsense")
    assert bad.code == 2 and "types" in bad.stderr


def start_following(server: Server, execution_id: str, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command("follow", execution_id, *extra),
        env=environment(RUNSTREAM_URL=server.url),
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith('{"id":"1"')
    return process


def interrupt(process: subprocess.Popen[str]) -> Result:
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    return Result(process.returncode, stdout, stderr)


def status(server: Server, execution_id: str) -> str:
    return str(server.api(lambda c: c.get(execution_id)).status)


def test_ctrl_c_detaches_without_cancelling(server: Server) -> None:
    waiting = server.start("waiting")
    detached = interrupt(start_following(server, waiting))
    assert detached.code == 130
    assert f"runstream follow {waiting} --after" in detached.stderr
    assert "Traceback" not in detached.stderr
    assert status(server, waiting) == "WAITING"


def test_ctrl_c_with_cancel_cancels(server: Server) -> None:
    waiting = server.start("waiting")
    detached = interrupt(start_following(server, waiting, "--cancel"))
    assert detached.code == 130
    assert status(server, waiting) == "CANCELLED"


def test_the_live_view_in_a_terminal(server: Server) -> None:
    greet = server.start("greet", "dee")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command("follow", greet),
        env=environment(RUNSTREAM_URL=server.url, COLUMNS="120", TERM="xterm"),
        cwd=HERE,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if select.select([leader], [], [], 0.1)[0]:
            try:
                screen += os.read(leader, 65536)
            except OSError:
                break
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(5) == 0
    text = screen.decode(errors="replace")
    assert not text.lstrip().startswith("{")
    for expected in ("greet", "speak", "COMPLETED", "streamed text", "word39", "hello dee"):
        assert expected in text
