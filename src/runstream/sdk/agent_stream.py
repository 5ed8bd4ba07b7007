"""One agent run's pydantic-ai events, recorded as log events the moment they arrive.

``StreamRecorder.handle`` is the run's ``event_stream_handler``. Each provider text
delta becomes one ``token``; each function tool call a ``tool_call`` and its outcome a
``tool_result``; the argument fragments of a structured agent's output tool (or the
JSON text of a text-mode structured output) a ``structured_delta`` holding the object
parsed so far. ``RecordingToolset`` records a tool that raised an exception, which
pydantic-ai lets end the run. This module imports pydantic-ai, so it is loaded at the
first agent run.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any, Protocol

import pydantic_core
from pydantic_ai import exceptions
from pydantic_ai.messages import (
    AgentStreamEvent,
    FinalResultEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
)
from pydantic_ai.tools import RunContext
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from runstream.model import EventType

_CONTROL_FLOW = tuple(
    getattr(exceptions, name)
    for name in (
        "ModelRetry",
        "ToolFailed",
        "CallDeferred",
        "ApprovalRequired",
        "SkipToolExecution",
        "ToolRetryError",
        "ToolFailedError",
    )
    if hasattr(exceptions, name)
)
"""What tools raise to talk to pydantic-ai (it tells the model); not failures to record."""
_NUMBER_START = frozenset("-0123456789")
_NUMBER_BODY = frozenset("0123456789.eE+-")


class Sink(Protocol):
    """Where the events go: the attempt's task context."""

    def token(self, text: str) -> None: ...
    def emit(self, type: str, data: Any) -> None: ...


def jsonable(value: Any) -> Any:
    """A tool's return value or an output object as JSON (pydantic models, dataclasses, …)."""
    return pydantic_core.to_jsonable_python(value, fallback=str)


class PartialJson:
    """JSON text that grows by fragments, and the value it holds so far.

    The value only ever grows: strings may end early (they grow by appending) but a
    number still being written is left out until the next character ends it, so ``1``
    never turns into ``12`` between two values.
    """

    def __init__(self) -> None:
        self.text = ""
        self._in_string = False
        self._escaped = False
        self._number_at: int | None = None

    def feed(self, fragment: str) -> None:
        at = len(self.text)
        for offset, char in enumerate(fragment):
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string = False
            elif char == '"':
                self._in_string = True
                self._number_at = None
            elif self._number_at is None:
                if char in _NUMBER_START:
                    self._number_at = at + offset
            elif char not in _NUMBER_BODY:
                self._number_at = None
        self.text += fragment

    def value(self) -> Any:
        """The value parsed so far; ``None`` while there is none."""
        text = self.text if self._number_at is None else self.text[: self._number_at]
        if not text.strip():
            return None
        try:
            return pydantic_core.from_json(text, allow_partial="trailing-strings")
        except ValueError:
            return None


class StreamRecorder:
    """Turns the events of one agent run into log events on ``sink``."""

    def __init__(self, sink: Sink, *, structured: bool) -> None:
        self._sink = sink
        self._structured = structured
        self.partial: Any = None
        """The last ``structured_delta`` value recorded."""
        self._new_response()

    def _new_response(self) -> None:
        # Part indices count from 0 in every model response; one handler call is one node.
        # The text of each part as pieces: joining per delta would copy it all every time.
        self._text: dict[int, list[str]] = {}
        self._args: dict[int, PartialJson] = {}
        self._output: int | None = None
        self._started: int | None = None
        self._held: tuple[int, str] | None = None

    async def handle(self, _run: Any, events: AsyncIterable[AgentStreamEvent]) -> None:
        """The ``event_stream_handler`` of the run."""
        self._new_response()
        async for event in events:
            self.record(event)
        self._release()

    def record(self, event: AgentStreamEvent) -> None:
        """Record one event."""
        if self._held is not None and not isinstance(event, FinalResultEvent):
            self._release()
        match event:
            case PartStartEvent(index=index, part=TextPart(content=content)):
                self._started = index
                if index in self._text:
                    # A repeated start replaces the part: only what it adds is new.
                    seen = "".join(self._text[index])
                    content = content[len(seen) :] if content.startswith(seen) else ""
                    self._text_delta(index, content)
                elif self._structured:
                    self._text[index] = []
                    self._held = (index, content)
                else:
                    self._text[index] = []
                    self._text_delta(index, content)
            case PartStartEvent(index=index, part=ToolCallPart(args=args)):
                self._started = index
                self._args[index] = PartialJson()
                self._args_delta(index, args)
            case PartStartEvent(index=index):
                self._started = index
            case PartDeltaEvent(index=index, delta=TextPartDelta(content_delta=text)):
                self._text_delta(index, text)
            case PartDeltaEvent(index=index, delta=ToolCallPartDelta(args_delta=args)):
                self._args_delta(index, args)
            case FinalResultEvent(tool_name=name):
                self._final_result(name)
            case FunctionToolCallEvent(part=part):
                self._sink.emit(
                    EventType.TOOL_CALL,
                    {
                        "toolName": part.tool_name,
                        "args": part.args_as_dict(),
                        "toolCallId": part.tool_call_id,
                    },
                )
            case FunctionToolResultEvent(part=part):
                data: dict[str, Any] = {"toolName": part.tool_name, "toolCallId": part.tool_call_id}
                if part.outcome == "success":
                    data["result"] = jsonable(part.content)
                else:
                    # Told to the model: a ModelRetry or ToolFailed raised by the tool, a denial.
                    data |= {"result": None, "error": str(jsonable(part.content))}
                    data["outcome"] = part.outcome
                self._sink.emit(EventType.TOOL_RESULT, data)

    def tool_raised(self, tool_name: str, tool_call_id: str, error: BaseException) -> None:
        """Record a tool that raised: pydantic-ai ends the run with its exception."""
        self._sink.emit(
            EventType.TOOL_RESULT,
            {
                "toolName": tool_name,
                "toolCallId": tool_call_id,
                "result": None,
                "error": f"{type(error).__name__}: {error}",
                "outcome": "raised",
            },
        )

    def finish(self, output: Any) -> None:
        """A structured agent's validated output ends its deltas when it adds to the last."""
        if self._structured and output != self.partial:
            self._partial(output)

    # -- text --------------------------------------------------------------------------
    def _text_delta(self, index: int, text: str) -> None:
        if not text:
            return
        self._text.setdefault(index, []).append(text)
        if index == self._output:
            self._args[index].feed(text)
            self._partial(self._args[index].value())
        else:
            self._sink.token(text)

    def _release(self) -> None:
        """A structured agent's text turned out not to be its output: stream it as tokens."""
        if self._held is not None:
            index, content = self._held
            self._held = None
            self._text[index] = []
            self._text_delta(index, content)

    # -- structured output -------------------------------------------------------------
    def _final_result(self, tool_name: str | None) -> None:
        if not self._structured or self._started is None:
            return
        index = self._started
        if tool_name is None and self._held is not None and self._held[0] == index:
            # Text-mode structured output (NativeOutput, PromptedOutput): the text is JSON.
            self._output = index
            self._args[index] = PartialJson()
            content = self._held[1]
            self._held = None
            self._text_delta(index, content)
        elif tool_name is not None and index in self._args:
            self._output = index
            self._partial(self._args[index].value())

    def _args_delta(self, index: int, args: Any) -> None:
        buffer = self._args.get(index)
        if buffer is None or not isinstance(args, str) or not args:
            return
        buffer.feed(args)
        if index == self._output:
            self._partial(buffer.value())

    def _partial(self, value: Any) -> None:
        if value is None or value == self.partial:
            return
        self.partial = value
        self._sink.emit(EventType.STRUCTURED_DELTA, {"partial": value})


@dataclass
class RecordingToolset(WrapperToolset[Any]):
    """The agent's tools, with a ``tool_result`` recorded for a tool that raises.

    Only a tool call pays for it: unlike a capability's hooks, a toolset wrapper is not
    on the path of every streamed event.
    """

    recorder: StreamRecorder

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[Any],
        tool: ToolsetTool[Any],
    ) -> Any:
        try:
            return await self.wrapped.call_tool(name, tool_args, ctx, tool)
        except _CONTROL_FLOW:
            raise
        except Exception as error:
            self.recorder.tool_raised(name, ctx.tool_call_id or "", error)
            raise


def recording(tools: AbstractToolset[Any], recorder: StreamRecorder) -> RecordingToolset:
    """``tools`` for one run, recording what raises on ``recorder``."""
    return RecordingToolset(tools, recorder)
