"""How pydantic-ai events become log events: partial JSON that only grows, text held back
until it is known whether it is a structured output."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic_ai.messages import (
    FinalResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
)

from runstream.sdk.agent_stream import PartialJson, StreamRecorder

from .conftest import grows

DOCUMENTS = [
    '{"label": "positive", "score": 0.875, "n": -12e3, "ok": true, "none": null}',
    '{"nested": {"list": [1, 22, 333, {"deep": "v\\"a\\\\l"}], "t": "é☃"}, "after": false}',
    '[{"a": 1}, {"b": [2.5, -3]}, "tail"]',
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_partial_json_only_grows_and_ends_with_the_document(document: str, size: int) -> None:
    import json

    buffer = PartialJson()
    values: list[Any] = []
    for start in range(0, len(document), size):
        buffer.feed(document[start : start + size])
        value = buffer.value()
        if value is not None and (not values or value != values[-1]):
            values.append(value)
    assert values[-1] == json.loads(document)
    for before, after in itertools.pairwise(values):
        assert grows(before, after), (before, after)


def test_a_number_is_left_out_until_it_ends() -> None:
    buffer = PartialJson()
    buffer.feed('{"a": "x1", "n": 1')
    assert buffer.value() == {"a": "x1"}
    buffer.feed("2")
    assert buffer.value() == {"a": "x1"}
    buffer.feed("}")
    assert buffer.value() == {"a": "x1", "n": 12}


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def token(self, text: str) -> None:
        self.events.append(("token", text))

    def emit(self, type: str, data: Any) -> None:
        self.events.append((type, data))


def test_text_of_a_structured_agent_is_held_until_the_output_is_known() -> None:
    sink = Sink()
    recorder = StreamRecorder(sink, structured=True)
    # Commentary first (no final result follows its start), then text-mode JSON output.
    recorder.record(PartStartEvent(index=0, part=TextPart(content="Thinking. ")))
    recorder.record(PartDeltaEvent(index=0, delta=TextPartDelta(content_delta="Done.")))
    recorder.record(PartStartEvent(index=1, part=TextPart(content='{"a": "b')))
    recorder.record(FinalResultEvent(tool_name=None, tool_call_id=None))
    recorder.record(PartDeltaEvent(index=1, delta=TextPartDelta(content_delta='c", "d": 1}')))
    assert sink.events == [
        ("token", "Thinking. "),
        ("token", "Done."),
        ("structured_delta", {"partial": {"a": "b"}}),
        ("structured_delta", {"partial": {"a": "bc", "d": 1}}),
    ]


def test_a_text_agent_streams_every_text_delta_and_ignores_tool_arguments() -> None:
    sink = Sink()
    recorder = StreamRecorder(sink, structured=False)
    recorder.record(PartStartEvent(index=0, part=TextPart(content="Hel")))
    recorder.record(PartDeltaEvent(index=0, delta=TextPartDelta(content_delta="lo")))
    # A repeated start replaces the part: only what it adds is new text.
    recorder.record(PartStartEvent(index=0, part=TextPart(content="Hello!")))
    recorder.record(PartStartEvent(index=1, part=ToolCallPart(tool_name="t", args='{"x"')))
    recorder.record(PartDeltaEvent(index=1, delta=ToolCallPartDelta(args_delta=": 1}")))
    assert sink.events == [("token", "Hel"), ("token", "lo"), ("token", "!")]
    recorder.finish("Hello!")
    assert sink.events[-1] == ("token", "!")
