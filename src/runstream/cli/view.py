"""``FollowView``: the live terminal view of one execution, fed with stream events.

The native stream does not say which task emitted a token or a progress value, so
the view credits them to the task that is running when exactly one is, and to the
workflow otherwise. Text streamed by an attempt that then failed and is retried is
struck through, so the reader sees which output was superseded. A Claude Code session
reads as a conversation: assistant text in the text panel, tool uses and results, each
turn's result with its cost.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from runstream.client import StreamEvent
from runstream.model import ExecutionType, Snapshot

STATUS_STYLE = {
    "PENDING": "dim",
    "RUNNING": "cyan",
    "WAITING": "yellow",
    "COMPLETED": "green",
    "FAILED": "bold red",
    "CANCELLED": "magenta",
}
"""How each status is coloured everywhere in the CLI."""

_TEXT_TAIL = 1500
_TEXT_LINES = 8
_TASK_ROWS = 8
_ACTIVITY_ROWS = 10


@dataclass
class _TaskRow:
    kind: str
    status: str
    attempt: int
    attempts: int
    progress: float | None = None
    error: str | None = None


@dataclass
class _Segment:
    text: str
    task_id: str | None
    superseded: bool = False


def compact(value: Any, limit: int = 80) -> str:
    """A JSON value on one short line."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FollowView:
    """What ``runstream follow`` shows in a terminal; render it with ``rich.live.Live``."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.execution_id = snapshot.id
        self.kind = snapshot.kind
        self.type = snapshot.type
        self.status = str(snapshot.status)
        self.last_id = ""
        """Id of the newest event shown."""
        self.reconnects = 0
        """Times the stream reconnected (set by the caller)."""
        self.events = 0
        self._opened = time.monotonic()
        self._first_ts: int | None = None
        self._tasks: dict[str, _TaskRow] = {}
        self._running: list[str] = []
        self._progress: float | None = None
        self._segments: list[_Segment] = []
        self._state: dict[str, Any] = dict(snapshot.state)
        self._children: dict[str, str] = {}
        self._activity: deque[Text] = deque(maxlen=_ACTIVITY_ROWS)
        self.cost_usd: float | None = None
        """``total_cost_usd`` of a Claude Code session's latest result."""

    @property
    def text(self) -> str:
        """Every token streamed so far, superseded attempts included."""
        return "".join(segment.text for segment in self._segments)

    def apply(self, event: StreamEvent) -> None:
        """Take one event into account."""
        self.events += 1
        self.last_id = event.id
        data = event.data
        match event.type:
            case "token":
                self._segments.append(_Segment(str(data), self._owner()))
            case "progress":
                owner = self._owner()
                value = float(data) if isinstance(data, int | float) else 0.0
                if owner is None:
                    self._progress = value
                else:
                    self._tasks[owner].progress = value
            case "error":
                self._note(event, "⚠", str(data), "yellow")
            case "data":
                self._note(event, "•", compact(data), "blue")
            case kind if kind.startswith("TASK_") and isinstance(data, dict):
                self._task(event, data)
            case kind if kind.startswith("WORKFLOW_") and isinstance(data, dict):
                self._workflow(event, data)
            case "claude" if isinstance(data, dict) and isinstance(data.get("line"), dict):
                self._claude(event, data["line"])
            case "log" if isinstance(data, dict):
                self._note(event, "│", f"stderr: {data.get('text')}", "dim")
            case _:
                self._other(event, data if isinstance(data, dict) else {})

    def _owner(self) -> str | None:
        return self._running[0] if len(self._running) == 1 else None

    def _note(self, event: StreamEvent, icon: str, text: str, style: str = "") -> None:
        line = Text()
        if event.timestamp_ms is not None:
            self._first_ts = self._first_ts or event.timestamp_ms
            line.append(f"{(event.timestamp_ms - self._first_ts) / 1000:7.2f}s ", "dim")
        else:
            line.append(" " * 9)
        line.append(f"{icon} ", style)
        line.append(text, style)
        self._activity.append(line)

    def _task(self, event: StreamEvent, data: dict[str, Any]) -> None:
        task_id = str(data.get("id"))
        attempt = int(data.get("executionCount") or 0)
        row = self._tasks.setdefault(
            task_id,
            _TaskRow(str(data.get("kind")), "", attempt, 1 + int(data.get("maxRetries", 0))),
        )
        row.status = str(data.get("status"))
        row.attempt = attempt
        if task_id in self._running:
            self._running.remove(task_id)
        if task_id == self.execution_id:
            self.status = row.status
        match event.type:
            case "TASK_CREATED":
                self._note(event, "+", f"task {row.kind} scheduled", "dim")
            case "TASK_STARTED":
                self._running.append(task_id)
                row.progress = None
                self._note(event, "▶", f"task {row.kind} attempt {attempt} started", "cyan")
            case "TASK_COMPLETED":
                row.progress = 1.0 if row.progress is not None else None
                self._note(event, "✓", f"task {row.kind} completed", "green")
            case "TASK_FAILED" if data.get("willRetry"):
                row.error = str(data.get("error"))
                for segment in self._segments:
                    if segment.task_id == task_id:
                        segment.superseded = True
                self._note(
                    event,
                    "↻",
                    f"task {row.kind} attempt {attempt} failed: {row.error} — retrying",
                    "yellow",
                )
            case "TASK_FAILED":
                row.error = str(data.get("error"))
                self._note(event, "✗", f"task {row.kind} failed: {row.error}", "red")
            case _:
                self._note(event, "■", f"task {row.kind} {row.status.lower()}", "magenta")

    def _workflow(self, event: StreamEvent, data: dict[str, Any]) -> None:
        status = str(data.get("status"))
        if data.get("id") != self.execution_id:
            # A child's own log (consolidated streams); its parent's CHILD_WORKFLOW_* say it all.
            self._children[str(data.get("id"))] = status
            return
        self.status = status
        if event.type in ("WORKFLOW_SUSPENDED", "WORKFLOW_RESUMED"):
            return  # every wait shows up as its own event; these would only add noise
        verb = event.type.removeprefix("WORKFLOW_").lower()
        detail = f": {data['error']}" if data.get("error") else ""
        style = STATUS_STYLE.get(status, "")
        self._note(event, "◆", f"workflow {data.get('kind')} {verb}{detail}", style)

    def _other(self, event: StreamEvent, data: dict[str, Any]) -> None:
        match event.type:
            case "TIMER_STARTED":
                seconds = (int(data.get("fireAtMs", 0)) - (event.timestamp_ms or 0)) / 1000
                self._note(event, "⏲", f"durable timer set for {seconds:.1f}s")
            case "TIMER_FIRED":
                self._note(event, "⏲", "timer fired", "green")
            case "PROMISE_CREATED":
                self._note(event, "…", f"waiting for promise {data.get('promiseId')!r}", "yellow")
            case "PROMISE_RESOLVED":
                result = compact(data.get("result"))
                self._note(
                    event, "✓", f"promise {data.get('promiseId')!r} resolved: {result}", "green"
                )
            case "PROMISE_REJECTED":
                self._note(event, "✗", f"promise {data.get('promiseId')!r} rejected", "red")
            case "STATE_SET":
                self._state[str(data.get("key"))] = data.get("value")
                self._note(event, "=", f"state {data.get('key')} = {compact(data.get('value'))}")
            case "STATE_CLEARED":
                self._state.pop(str(data.get("key")), None)
                self._note(event, "=", f"state {data.get('key')} cleared")
            case "MESSAGE_RECEIVED":
                self._note(event, "✉", "message received", "blue")
            case "MESSAGE_CONSUMED" if self.type is ExecutionType.TASK:
                self._note(event, "✉", "message written to the session", "green")
            case "MESSAGE_CONSUMED":
                self._note(event, "✉", "message consumed by the workflow", "green")
            case "OPERATION_COMPLETED":
                self._note(event, "◇", f"operation {data.get('operationId')} recorded")
            case "CANCELLATION_REQUESTED":
                self._note(event, "■", f"cancellation requested ({data.get('reason')})", "magenta")
            case "RETRY_REQUESTED":
                self._retry(event, data)
            case kind if kind.startswith("CHILD_WORKFLOW_"):
                verb = kind.removeprefix("CHILD_WORKFLOW_").lower().replace("_", " ")
                self._children[str(data.get("childWorkflowId"))] = str(data.get("status"))
                self._note(event, "◆", f"child workflow {data.get('kind')} {verb}", "cyan")
            case "agent_start":
                self._note(
                    event, "◇", f"agent {data.get('agentId')} on {data.get('model')}", "cyan"
                )
            case "tool_call":
                args = compact(data.get("args"), 60)
                self._note(event, "⚙", f"tool {data.get('toolName')}({args})", "cyan")
            case "tool_result" if data.get("error"):
                self._note(
                    event, "⚙", f"tool {data.get('toolName')} failed: {data['error']}", "red"
                )
            case "tool_result":
                result = compact(data.get("result"), 60)
                self._note(event, "⚙", f"tool {data.get('toolName')} → {result}", "green")
            case "usage":
                tokens = f"{data.get('inputTokens')} in, {data.get('outputTokens')} out"
                self._note(event, "Σ", f"{data.get('requests')} model requests, {tokens}", "dim")
            case "structured_delta":
                pass  # dozens per output; the result shows the object whole
            case kind:
                self._note(event, "·", f"{kind} {compact(data)}", "dim")

    def _retry(self, event: StreamEvent, data: dict[str, Any]) -> None:
        """The boundary between a failed run and its manual retry: what failed for good
        gets a fresh budget, and the output of its failed attempt is superseded."""
        target = data.get("targetId")
        if target == self.execution_id:
            self.status = "PENDING"
            for task_id, row in self._tasks.items():
                if row.status in ("FAILED", "CANCELLED"):
                    row.attempts = row.attempt + row.attempts
                    for segment in self._segments:
                        if segment.task_id == task_id:
                            segment.superseded = True
        reason = f": {data['reason']}" if data.get("reason") else ""
        whose = "" if target == self.execution_id else f" of {data.get('targetType')} {target}"
        self._note(event, "↻", f"━━ retry {data.get('attempt')}{whose}{reason} ━━", "bold yellow")

    def _claude(self, event: StreamEvent, line: dict[str, Any]) -> None:
        """One line of a Claude Code session: text joins the streamed text, the rest is noted."""
        content = line.get("message", {}).get("content") if line.get("type") != "result" else None
        blocks = content if isinstance(content, list) else []
        match line.get("type"):
            case "system" if line.get("subtype") == "init":
                tools = len(line.get("tools") or [])
                self._note(event, "◆", f"Claude session, model {line.get('model')}, {tools} tools")
            case "assistant":
                for block in blocks:
                    if block.get("type") == "text":
                        self._segments.append(_Segment(str(block.get("text")) + "\n", None))
                    elif block.get("type") == "tool_use":
                        call = f"{block.get('name')}({compact(block.get('input'), 60)})"
                        self._note(event, "⚙", call, "cyan")
            case "user":
                for block in blocks:
                    if block.get("type") == "tool_result":
                        style = "red" if block.get("is_error") else "dim"
                        self._note(event, "↳", compact(block.get("content"), 70), style)
                    elif block.get("type") == "text":
                        self._note(event, "✉", f"you: {compact(block.get('text'), 70)}", "blue")
            case "result":
                self._result(event, line)
            case "raw":
                self._note(event, "·", compact(line.get("text")), "dim")

    def _result(self, event: StreamEvent, line: dict[str, Any]) -> None:
        cost = line.get("total_cost_usd")
        if isinstance(cost, int | float):
            self.cost_usd = float(cost)
        parts = [compact(line.get("result"), 50)]
        if isinstance(cost, int | float):
            parts.append(f"${cost:.4f}")
        if line.get("num_turns") is not None:
            parts.append(f"{line.get('num_turns')} turns")
        if isinstance(line.get("duration_ms"), int | float):
            parts.append(f"{line['duration_ms'] / 1000:.1f}s")
        failed = bool(line.get("is_error"))
        self._note(
            event,
            "✗" if failed else "✓",
            "result: " + " · ".join(parts),
            "red" if failed else "green",
        )

    # -- rendering -----------------------------------------------------------------------
    def __rich__(self) -> RenderableType:
        parts: list[RenderableType] = [self._header()]
        if self._tasks:
            parts.append(self._task_table())
        if self._segments:
            parts.append(Panel(self._text_tail(), title="streamed text", border_style="dim"))
        if self._state:
            state = ", ".join(f"{k}={compact(v, 40)}" for k, v in self._state.items())
            parts.append(Text.assemble(("state  ", "bold"), (state, "")))
        if self._activity:
            parts.append(Panel(Group(*self._activity), title="events", border_style="dim"))
        return Group(*parts)

    def _header(self) -> Text:
        noun = "workflow" if self.type is ExecutionType.WORKFLOW else "task"
        header = Text.assemble(
            (f"{noun} ", "dim"),
            (self.kind, "bold"),
            (f"  {self.execution_id}  ", "dim"),
            (self.status, STATUS_STYLE.get(self.status, "")),
            (f"  {time.monotonic() - self._opened:5.1f}s", "dim"),
            (f"  {self.events} events, last id {self.last_id or '-'}", "dim"),
        )
        if self.reconnects:
            header.append(f"  reconnected {self.reconnects}×", "yellow")
        if self._progress is not None:
            header.append(f"  progress {self._progress:.0%}", "cyan")
        if self.cost_usd is not None:
            header.append(f"  cost ${self.cost_usd:.4f}", "cyan")
        return header

    def _task_table(self) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold dim")
        for column in ("task", "status", "attempt", "progress", ""):
            table.add_column(column)
        rows = list(self._tasks.items())
        for task_id, row in rows[-_TASK_ROWS:]:
            bar: RenderableType = Text("")
            if row.progress is not None:
                bar = ProgressBar(total=1.0, completed=row.progress, width=24)
            note = Text(row.error or "", "red" if row.status == "FAILED" else "yellow")
            table.add_row(
                Text(row.kind, "bold" if task_id in self._running else ""),
                Text(row.status, STATUS_STYLE.get(row.status, "")),
                f"{row.attempt}/{row.attempts}",
                bar,
                note,
            )
        return table

    def _text_tail(self) -> Text:
        pieces: list[tuple[str, str]] = []
        budget = _TEXT_TAIL
        for segment in reversed(self._segments):
            if budget <= 0:
                break
            piece = segment.text[-budget:]
            pieces.append((piece, "dim strike" if segment.superseded else ""))
            budget -= len(piece)
        lines = Text.assemble(*reversed(pieces)).split("\n")
        return Text("\n").join(lines[-_TEXT_LINES:])
