"""``runstream executions retry`` against ``runstream serve``, and the live view's boundary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

import runstream as rs
from runstream.cli.view import FollowView
from runstream.client import StreamEvent

from .conftest import Server


def test_retry_follow_runs_the_fixed_execution_to_its_end(server: Server, tmp_path: Path) -> None:
    bug = tmp_path / "bug"
    bug.touch()
    execution_id = server.start("fixable", str(bug))
    assert server("follow", execution_id).code == 1
    failed_at = server.api(lambda c: c.get(execution_id)).last_seq

    bug.unlink()  # the fix
    done = server("executions", "retry", execution_id, "--reason", "fixed", "--follow")
    assert done.code == 0, done.stderr
    events = done.lines()
    assert [e["id"] for e in events] == [
        str(i) for i in range(failed_at + 1, failed_at + 1 + len(events))
    ]
    assert events[0]["type"] == "RETRY_REQUESTED"
    assert events[0]["data"] == {
        "targetId": execution_id,
        "targetType": "workflow",
        "attempt": 1,
        "reason": "fixed",
    }
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
    assert events[-1]["data"]["output"] == [2, "fixed"]
    assert "token" not in {e["type"] for e in events}, "the first task did not run again"
    assert f"COMPLETED fixable {execution_id}" in done.stderr

    again = server("executions", "retry", execution_id)
    assert again.code == 2 and again.stdout == ""
    assert "only a FAILED execution can be retried" in again.stderr and "COMPLETED" in again.stderr


def test_retry_prints_the_attempt(server: Server, tmp_path: Path) -> None:
    bug = tmp_path / "bug"
    bug.touch()
    execution_id = server.start("fixable", str(bug))
    server("follow", execution_id)
    first = server("executions", "retry", execution_id)
    assert first.code == 0 and first.lines() == [{"id": execution_id, "attempt": 1}]
    assert server("follow", execution_id).code == 1  # not fixed yet: fails again
    second = server("executions", "retry", execution_id, "--json")
    assert second.lines() == [{"id": execution_id, "attempt": 2}]


def test_the_live_view_shows_the_retry_boundary() -> None:
    root = "01a1fdda-0000-7000-8000-000000000001"
    task = {"id": "t", "kind": "check", "maxRetries": 1}
    view = FollowView(
        rs.Snapshot(
            id=root,
            kind="fixable",
            type=rs.ExecutionType.WORKFLOW,
            org="default",
            status=rs.Status.FAILED,
            input=None,
            output=None,
            error=None,
            parent_id=None,
            created_at=0,
            updated_at=0,
            last_seq=0,
        )
    )
    events = [
        ("TASK_STARTED", task | {"status": "RUNNING", "executionCount": 2}),
        ("token", "half-way "),
        ("TASK_FAILED", task | {"status": "FAILED", "executionCount": 2, "error": "boom"}),
        ("WORKFLOW_FAILED", {"id": root, "kind": "fixable", "status": "FAILED", "error": "x"}),
        (
            "RETRY_REQUESTED",
            {
                "targetId": root,
                "targetType": "workflow",
                "attempt": 1,
                "reason": "deployed the fix",
            },
        ),
        ("TASK_STARTED", task | {"status": "RUNNING", "executionCount": 3}),
        ("token", "done"),
    ]
    for seq, (type, data) in enumerate(events, 1):
        view.apply(StreamEvent(str(seq), type, data, None if type == "token" else 1000 + seq))
    console = Console(width=120, record=True, force_terminal=False)
    console.print(view)
    text = console.export_text()
    assert "━━ retry 1: deployed the fix ━━" in text
    assert "3/4" in text, "the retried task has a fresh budget of two attempts"
    assert [s.superseded for s in view._segments] == [True, False]
    assert view.status == "PENDING"
