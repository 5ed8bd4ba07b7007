"""``FollowView``: what the live view makes of a sequence of stream events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.console import Console

import runstream as rs
from runstream.cli.view import FollowView
from runstream.client import StreamEvent

ROOT = "01a1fdda-0000-7000-8000-000000000001"
TASK = "01a1fdda-0000-7000-8000-000000000002"
CHILD = "01a1fdda-0000-7000-8000-000000000003"


def snapshot() -> rs.Snapshot:
    return rs.Snapshot(
        id=ROOT,
        kind="showcase",
        type=rs.ExecutionType.WORKFLOW,
        org="default",
        status=rs.Status.PENDING,
        input=None,
        output=None,
        error=None,
        parent_id=None,
        created_at=0,
        updated_at=0,
        last_seq=0,
    )


def task(type: str, attempt: int, status: str, **extra: Any) -> tuple[str, Any]:
    data = {"id": TASK, "kind": "fetch", "status": status, "executionCount": attempt}
    return type, data | {"maxRetries": 2} | extra


def render(view: FollowView) -> str:
    console = Console(width=120, record=True, force_terminal=False)
    console.print(view)
    return console.export_text()


def feed(view: FollowView, *events: tuple[str, Any]) -> None:
    for seq, (type, data) in enumerate(events, view.events + 1):
        lifecycle = type.isupper() and type not in ("MESSAGE_RECEIVED", "MESSAGE_CONSUMED")
        view.apply(StreamEvent(str(seq), type, data, 1000 + seq if lifecycle else None))


def test_a_retried_attempt_is_struck_through_and_progress_goes_to_the_running_task() -> None:
    view = FollowView(snapshot())
    feed(
        view,
        ("WORKFLOW_STARTED", {"id": ROOT, "kind": "showcase", "status": "RUNNING"}),
        task("TASK_STARTED", 1, "RUNNING"),
        ("token", "partial "),
        task("TASK_FAILED", 1, "PENDING", error="boom", willRetry=True),
        task("TASK_STARTED", 2, "RUNNING"),
        ("token", "final"),
        ("progress", 0.5),
    )
    assert view.text == "partial final"
    assert [s.superseded for s in view._segments] == [True, False]
    text = render(view)
    assert "fetch attempt 1 failed: boom — retrying" in text
    assert "2/3" in text and "RUNNING" in text
    assert view._tasks[TASK].progress == 0.5


def test_workflow_progress_state_children_and_the_end() -> None:
    view = FollowView(snapshot())
    feed(
        view,
        ("progress", 0.25),
        ("STATE_SET", {"key": "phase", "value": "drafting"}),
        ("TIMER_STARTED", {"timerId": "t", "fireAtMs": 1000 + 2 + 1500}),
        ("PROMISE_RESOLVED", {"promiseId": "approval", "result": {"ok": True}}),
        (
            "CHILD_WORKFLOW_INITIATED",
            {"childWorkflowId": CHILD, "kind": "kid", "status": "PENDING"},
        ),
        ("WORKFLOW_COMPLETED", {"id": CHILD, "kind": "kid", "status": "COMPLETED"}),
        ("MESSAGE_CONSUMED", {"messageId": "m"}),
        ("WORKFLOW_COMPLETED", {"id": ROOT, "kind": "showcase", "status": "COMPLETED"}),
    )
    assert view.status == "COMPLETED"
    text = render(view)
    for expected in (
        "progress 25%",
        "phase=drafting",
        "durable timer set for 1.5s",
        "promise 'approval' resolved: {\"ok\":true}",
        "child workflow kid initiated",
        "message consumed by the workflow",
        "workflow showcase completed",
    ):
        assert expected in text, expected
    assert "kid completed" not in text


def test_agent_events_are_named_in_the_activity() -> None:
    view = FollowView(snapshot())
    feed(
        view,
        task("TASK_STARTED", 1, "RUNNING"),
        ("agent_start", {"agentId": "review", "model": "openai-chat:gpt-4o-mini"}),
        ("tool_call", {"toolName": "style", "args": {"audience": "devs"}, "toolCallId": "c1"}),
        ("tool_result", {"toolName": "style", "toolCallId": "c1", "result": "be brief"}),
        ("tool_result", {"toolName": "style", "toolCallId": "c2", "error": "ValueError: x"}),
        ("structured_delta", {"partial": {"a": 1}}),
        ("token", "Looks good."),
        ("usage", {"requests": 2, "inputTokens": 180, "outputTokens": 12}),
    )
    text = render(view)
    assert "agent review on openai-chat:gpt-4o-mini" in text
    assert 'tool style({"audience":"devs"})' in text
    assert "tool style → be brief" in text
    assert "tool style failed: ValueError: x" in text
    assert "2 model requests, 180 in, 12 out" in text
    assert "partial" not in text
    assert "Looks good." in view.text


def test_a_claude_code_session_reads_as_a_conversation() -> None:
    view = FollowView(replace(snapshot(), type=rs.ExecutionType.TASK, kind="assistant"))

    def line(value: dict[str, Any]) -> tuple[str, Any]:
        return "claude", {"line": value}

    def says(*blocks: dict[str, Any]) -> tuple[str, Any]:
        return line({"type": "assistant", "message": {"content": list(blocks)}})

    feed(
        view,
        line({"type": "system", "subtype": "init", "model": "claude-x", "tools": ["Bash"]}),
        ("log", {"text": "warming up"}),
        says({"type": "text", "text": "Let me look."}),
        says({"type": "tool_use", "name": "Bash", "input": {"command": "ls"}}),
        line(
            {
                "type": "user",
                "message": {"content": [{"type": "tool_result", "content": "a.py\nb.py"}]},
            }
        ),
        says({"type": "text", "text": "Two files."}),
        ("MESSAGE_CONSUMED", {"messageId": "m"}),
        line(
            {
                "type": "result",
                "result": "Two files.",
                "total_cost_usd": 0.0125,
                "num_turns": 2,
                "duration_ms": 3400,
            }
        ),
        line({"type": "raw", "text": "not json"}),
    )
    assert view.text == "Let me look.\nTwo files.\n"
    text = render(view)
    for expected in (
        "Claude session, model claude-x, 1 tools",
        "stderr: warming up",
        'Bash({"command":"ls"})',
        "a.py",
        "message written to the session",
        "result: Two files. · $0.0125 · 2 turns · 3.4s",
        "cost $0.0125",
        "not json",
    ):
        assert expected in text, expected
