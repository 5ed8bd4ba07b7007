"""Claude Code tasks in the engine: the fake CLI as a real subprocess, no server."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import runstream as rs
from runstream.model import EventType
from runstream.sdk.claude_code import (
    DEFAULT_COMMAND,
    ClaudeCode,
    LineSplitter,
    content_of,
    user_line,
)

FAKE = [sys.executable, "-m", "runstream.demo.fake_claude"]

app = rs.App("claude-tests")
chat = app.claude_code("chat", command=[*FAKE, "--delay", "0.05"])
combined = app.claude_code("combined", command=[*FAKE, "--delay", "0.3", "--combine"])
absorbing = app.claude_code(
    "absorbing", command=[*FAKE, "--delay", "0.3", "--absorb"], turn_start_timeout=0.5
)
raw = app.claude_code("raw", command=[*FAKE, "--raw", "plain text, not JSON"])
briefed = app.claude_code("briefed", command=FAKE, instructions="Answer in French.")
stubborn = app.claude_code("stubborn", command=[*FAKE, "--delay", "3", "--ignore-term"])
default = app.claude_code("default")
lingering = app.claude_code("lingering", command=[*FAKE, "--linger", "8"])
missing = app.claude_code("missing", command=["/nonexistent/claude"])


@app.workflow()
async def review(ctx: rs.WorkflowContext, text: str) -> Any:
    """A Claude Code task called from a workflow: no messages, stdin closes at the result."""
    return await ctx.task(chat, f"review {text}")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'claude.db'}"


async def log_of(engine: rs.Engine, execution_id: str) -> list[rs.Event]:
    async with asyncio.timeout(20):
        return [e async for e in engine.stream(execution_id)]


def lines(log: list[rs.Event]) -> list[Any]:
    return [e.data for e in log if e.type == EventType.CLAUDE]


def results(log: list[rs.Event]) -> list[Any]:
    return [line["result"] for line in lines(log) if line.get("type") == "result"]


async def test_messages_of_a_pending_run_survive_a_restart_and_follow_the_prompt(db: str) -> None:
    async with rs.Engine(app, store=db, worker=False) as api_only:
        handle = await api_only.start_task(chat, "prompt")
        assert (await api_only.queue_message(handle.id, "m1")).queue_size == 1
        assert (await api_only.queue_message(handle.id, "m2")).queue_size == 2
    async with rs.Engine(app, store=db) as engine:
        assert await engine.handle(handle.id).result(timeout=20) == "Answer: m2"
        log = await log_of(engine, handle.id)
    assert results(log) == ["Answer: prompt", "Answer: m1", "Answer: m2"]
    assert [e.type for e in log].count(EventType.MESSAGE_CONSUMED) == 2
    started = next(e.seq for e in log if e.type == EventType.TASK_STARTED)
    consumed = [e for e in log if e.type == EventType.MESSAGE_CONSUMED]
    assert all(e.seq > started and e.attempt == 1 for e in consumed)


async def test_messages_written_during_a_turn_may_share_the_next_one(db: str) -> None:
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start_task(combined, "start")
        await wait_for_line(engine, handle.id, "Looking at: start")  # turn 1 runs (~1.2 s)
        await engine.send_message(handle.id, "a")
        await engine.send_message(handle.id, "b")
        assert await handle.result(timeout=20) == "Answer: a | b"
        log = await log_of(engine, handle.id)
    assert results(log) == ["Answer: start", "Answer: a | b"]


async def test_when_no_turn_follows_the_lines_count_as_answered(db: str) -> None:
    """A CLI that answered mid-turn messages in the same turn: the expected next turn never
    begins, and after ``turn_start_timeout`` the session ends instead of waiting forever."""
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start_task(absorbing, "start")
        await wait_for_line(engine, handle.id, "Looking at: start")
        await engine.send_message(handle.id, "folded in")
        assert await handle.result(timeout=20) == "Answer: start | folded in"
        with pytest.raises(rs.InvalidState):
            await engine.send_message(handle.id, "after the end")


async def wait_for_line(engine: rs.Engine, execution_id: str, text: str) -> None:
    async with asyncio.timeout(10):
        async for event in engine.stream(execution_id):
            if event.type == EventType.CLAUDE and text in str(event.data):
                return
    raise AssertionError(f"no line with {text!r}")


async def test_lines_stderr_and_instructions_are_recorded(db: str) -> None:
    async with rs.Engine(app, store=db) as engine:
        first = await engine.start_task(raw, {"prompt": "hello"})
        second = await engine.start_task(briefed, "bonjour")
        assert await first.result(timeout=20) == "Answer: hello"
        assert await second.result(timeout=20) == "Answer: bonjour"
        raw_log = await log_of(engine, first.id)
        briefed_log = await log_of(engine, second.id)
    assert lines(raw_log)[1] == {"type": "raw", "text": "plain text, not JSON"}
    stderr = [e.data["text"] for e in raw_log if e.type == EventType.LOG]
    assert stderr[0].startswith("fake-claude pid ") and "fake-claude: turn 1: hello" in stderr
    assert all(e.task_id == first.id and e.attempt == 1 for e in raw_log if e.type == "claude")
    assert lines(briefed_log)[0]["append_system_prompt"] == "Answer in French."


async def test_the_command_comes_from_the_environment_unless_the_task_names_one(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default.argv() == list(DEFAULT_COMMAND)
    monkeypatch.setenv(
        "RUNSTREAM_CLAUDE_COMMAND", f"{sys.executable} -m runstream.demo.fake_claude"
    )
    assert default.argv()[:3] == FAKE
    assert chat.argv()[:3] == FAKE and "--delay" in chat.argv()
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start_task(default, "from the environment")
        assert await handle.result(timeout=20) == "Answer: from the environment"


async def test_inside_a_workflow_the_session_ends_after_its_result(db: str) -> None:
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start(review, "this")
        assert await handle.result(timeout=20) == "Answer: review this"
        with pytest.raises(rs.InvalidState):
            # The workflow has ended; its messages would have gone to ctx.receive().
            await engine.send_message(handle.id, "x")


async def test_a_process_left_holding_the_pipes_does_not_hold_the_run(db: str) -> None:
    async with rs.Engine(app, store=db) as engine:
        began = time.monotonic()
        handle = await engine.start_task(lingering, "quick")
        assert await handle.result(timeout=20) == "Answer: quick"
    assert time.monotonic() - began < 6, "waited for the lingering process's pipes"


@pytest.mark.parametrize(
    ("task", "input", "error"),
    [
        (chat, 42, 'the input must be a prompt string or {"prompt": "…"}'),
        (chat, {"prompt": "  "}, "the prompt is empty"),
        (missing, "hi", "cannot start '/nonexistent/claude'"),
    ],
)
async def test_bad_input_and_a_missing_program_fail_clearly(
    db: str, task: ClaudeCode, input: Any, error: str
) -> None:
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start_task(task, input)
        with pytest.raises(rs.ExecutionFailed) as failed:
            await handle.result(timeout=20)
    assert error in str(failed.value.error)


async def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(db: str) -> None:
    async with rs.Engine(app, store=db) as engine:
        handle = await engine.start_task(stubborn, "won't stop")
        pid = await _pid(engine, handle.id)
        cancelled_at = time.monotonic()
        await engine.cancel(handle.id, reason="user")
        await _gone(pid, 10)
        took = time.monotonic() - cancelled_at
        assert (await engine.get(handle.id)).status is rs.Status.CANCELLED
    assert 4.5 <= took < 8, f"killed after {took:.1f}s"


async def _pid(engine: rs.Engine, execution_id: str) -> int:
    async with asyncio.timeout(10):
        async for event in engine.stream(execution_id):
            if event.type == EventType.LOG and event.data["text"].startswith("fake-claude pid"):
                return int(event.data["text"].rsplit(" ", 1)[1])
    raise AssertionError("no pid")


async def _gone(pid: int, within: float) -> None:
    deadline = time.monotonic() + within
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}").stat()
    except FileNotFoundError:
        return False
    return True


def test_user_lines() -> None:
    assert user_line("hé") == '{"type":"user","message":{"role":"user","content":"hé"}}\n'.encode()
    blocks = [{"type": "text", "text": "x"}]
    assert content_of(blocks) is blocks
    assert content_of({"a": 1}) == '{"a":1}'


async def test_a_retried_run_writes_the_prompt_and_every_message_again(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = f"{sys.executable} -m runstream.demo.fake_claude"
    async with rs.Engine(app, store=db, worker=False) as api_only:
        handle = await api_only.start_task(default, "first")
        await api_only.send_message(handle.id, "second")
    monkeypatch.setenv("RUNSTREAM_CLAUDE_COMMAND", f"{fake} --fail")
    async with rs.Engine(app, store=db) as engine:
        with pytest.raises(rs.ExecutionFailed):
            await engine.handle(handle.id).result(timeout=20)
        monkeypatch.setenv("RUNSTREAM_CLAUDE_COMMAND", fake)  # "the bug is fixed"
        assert await engine.retry(handle.id) == 1
        assert await engine.handle(handle.id).result(timeout=20) == "Answer: second"
        log = await log_of(engine, handle.id)
    retried = next(e.seq for e in log if e.type == EventType.RETRY_REQUESTED)
    assert results([e for e in log if e.seq > retried]) == ["Answer: first", "Answer: second"]
    assert [e.type for e in log].count(EventType.MESSAGE_CONSUMED) == 1


def test_lines_are_split_however_the_pipe_cuts_them() -> None:
    lines = LineSplitter(limit=10)
    assert lines.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert lines.feed(b":2}\r\n\n  \n") == [b'{"b":2}']
    assert lines.feed(b"0123456789") == [] and lines.feed(b"A") == []
    assert lines.dropped == 1, "over the limit: dropped up to its line end"
    assert lines.feed(b"still the long one\nok\nta") == [b"ok"]
    assert lines.feed(b"il") == [] and lines.end() == [b"tail"]
    one = LineSplitter()
    assert [one.feed(piece) for piece in (b"ab", b"cd", b"e\nf")] == [[], [], [b"abcde"]]
    assert one.end() == [b"f"]
