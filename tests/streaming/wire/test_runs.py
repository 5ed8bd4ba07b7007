"""The runs wire format, byte for byte: lines, the end frame, statuses, WebSocket frames."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from runstream.model import Status
from runstream.streaming.wire.runs import (
    ack,
    end_frame,
    iso,
    line_frame,
    line_text,
    status_body,
    ws_end,
    ws_error,
)

# Lines as Claude Code writes them (JSON.stringify: compact, non-ASCII kept, \u escapes
# only for control characters).
CLAUDE_LINES = [
    b'{"type":"system","subtype":"init","cwd":"/w","session_id":"s-1","tools":["Bash"],'
    b'"model":"claude-sonnet-4","permissionMode":"default"}',
    b'{"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant",'
    b'"content":[{"type":"text","text":"h\xc3\xa9 \xe2\x98\x83 \\"q\\" \\\\ \\n\\t\\u0001"}],'
    b'"stop_reason":null},"parent_tool_use_id":null,"session_id":"s-1"}',
    b'{"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_1",'
    b'"name":"Bash","input":{"command":"ls -la"}}]},"session_id":"s-1"}',
    b'{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1",'
    b'"type":"tool_result","content":"a\\nb","is_error":false}]},"session_id":"s-1"}',
    b'{"type":"result","subtype":"success","is_error":false,"duration_ms":3952,"num_turns":1,'
    b'"result":"done","session_id":"s-1","total_cost_usd":0.10457895,"usage":{"input_tokens":2}}',
]


@pytest.mark.parametrize("raw", CLAUDE_LINES)
def test_a_claude_line_goes_out_exactly_as_written(raw: bytes) -> None:
    text = line_text(orjson.loads(raw))
    assert text == raw
    assert line_frame(12, text) == b"id: 12\ndata: " + raw + b"\n\n"


def test_a_raw_line_is_its_text() -> None:
    assert line_text({"type": "raw", "text": "not json \u2603"}) == "not json \u2603".encode()
    # An object that merely looks similar is a JSON line.
    assert (
        line_text({"type": "raw", "text": "x", "more": 1}) == b'{"type":"raw","text":"x","more":1}'
    )


def test_a_raw_line_with_a_carriage_return_stays_one_event() -> None:
    assert line_frame(3, b"a\rb") == b"id: 3\ndata: a\ndata: b\n\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [([1, "x", None], b'[1,"x",null]'), (42, b"42"), ("s", b'"s"')],
)
def test_other_json_values(value: Any, expected: bytes) -> None:
    assert line_text(value) == expected


def status(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "run_id": "r-1",
        "status": Status.COMPLETED,
        "workflow_name": "chat",
        "result": "done",
        "error": None,
        "started_at_ms": 1714564800123,
        "completed_at_ms": 1714564805000,
    }
    return status_body(**(fields | overrides))


def test_status_document() -> None:
    assert status() == {
        "run_id": "r-1",
        "status": "completed",
        "workflow_name": "chat",
        "result": "done",
        "error": None,
        "started_at": "2024-05-01T12:00:00.123Z",
        "completed_at": "2024-05-01T12:00:05.000Z",
    }
    running = status(status=Status.RUNNING, result=None)
    assert running["status"] == "running" and running["completed_at"] is None
    assert status(status=Status.PENDING, started_at_ms=None)["started_at"] is None
    assert status(status=Status.CANCELLED)["status"] == "cancelled"
    assert status(status=Status.FAILED)["status"] == "failed"
    assert iso(None) is None


def test_end_frame() -> None:
    body = status()
    assert end_frame(body) == b"event: end\ndata: " + orjson.dumps(body) + b"\n\n"


def test_websocket_frames() -> None:
    assert ack(3) == '{"type":"ack","queue_size":3}'
    assert ws_error("invalid_state", "ended") == (
        '{"type":"error","error":{"code":"invalid_state","message":"ended"}}'
    )
    assert orjson.loads(ws_end(status())) == {"type": "end"} | status()
