from __future__ import annotations

from typing import Any

import pytest

from runstream.model import Event, EventType
from runstream.streaming.wire.native import (
    body,
    encode,
    parse_include,
    parse_types,
    sse_type,
    task_lines,
)

EXEC = "0190f5c8-0000-7000-8000-000000000001"
TS = 1703764800000


def event(type: str, data: Any, seq: int = 7) -> Event:
    return Event(execution_id=EXEC, seq=seq, type=type, ts=TS, data=data, task_id=None)


@pytest.mark.parametrize(
    ("type", "data", "expected"),
    [
        (EventType.TOKEN, "Hello", b"id: 7\nevent: token\ndata: Hello\n\n"),
        (
            EventType.TOKEN,
            "two\nlines\n",
            b"id: 7\nevent: token\ndata: two\ndata: lines\ndata: \n\n",
        ),
        (EventType.TOKEN, "cr\r\nlf\rx", b"id: 7\nevent: token\ndata: cr\ndata: lf\ndata: x\n\n"),
        (EventType.TOKEN, "", b"id: 7\nevent: token\ndata: \n\n"),
        (EventType.TOKEN, "\u00e9\u2603", "id: 7\nevent: token\ndata: \u00e9\u2603\n\n".encode()),
        (
            EventType.PROGRESS,
            {"progress": 0.75, "details": "halfway"},
            b"id: 7\nevent: progress\ndata: 0.75\n\n",
        ),
        (
            EventType.PROGRESS,
            {"progress": 1, "details": None},
            b"id: 7\nevent: progress\ndata: 1\n\n",
        ),
        (
            EventType.ERROR,
            {"message": "Connection timeout", "code": "NET"},
            b"id: 7\nevent: error\ndata: Connection timeout\n\n",
        ),
        (
            EventType.ERROR,
            {"message": "line one\nline two", "code": None},
            b"id: 7\nevent: error\ndata: line one\ndata: line two\n\n",
        ),
        (
            EventType.DATA,
            {"status": "processing", "itemsProcessed": 42},
            b'id: 7\nevent: data\ndata: {"status":"processing","itemsProcessed":42}\n\n',
        ),
        (EventType.DATA, "a\nb", b'id: 7\nevent: data\ndata: "a\\nb"\n\n'),
        (EventType.DATA, None, b"id: 7\nevent: data\ndata: null\n\n"),
        (
            EventType.TASK_CREATED,
            {"id": "t1", "kind": "send-email", "status": "PENDING", "executionCount": 0},
            b'id: 7\nevent: data\ndata: {"type":"Event","event":"TASK_CREATED","data":'
            b'{"id":"t1","kind":"send-email","status":"PENDING","executionCount":0},'
            b'"timestampMs":1703764800000}\n\n',
        ),
        (
            EventType.WORKFLOW_COMPLETED,
            {"id": EXEC, "status": "COMPLETED", "error": None},
            b'id: 7\nevent: data\ndata: {"type":"Event","event":"WORKFLOW_COMPLETED","data":'
            b'{"id":"' + EXEC.encode() + b'","status":"COMPLETED","error":null},'
            b'"timestampMs":1703764800000}\n\n',
        ),
        (
            EventType.RETRY_REQUESTED,
            {"targetId": EXEC, "targetType": "workflow", "attempt": 1, "reason": None},
            b'id: 7\nevent: data\ndata: {"type":"Event","event":"RETRY_REQUESTED","data":'
            b'{"targetId":"' + EXEC.encode() + b'","targetType":"workflow","attempt":1,'
            b'"reason":null},"timestampMs":1703764800000}\n\n',
        ),
        (
            EventType.TOOL_CALL,
            {"toolName": "search", "args": {"q": "x"}},
            b'id: 7\nevent: data\ndata: {"type":"tool_call","toolName":"search",'
            b'"args":{"q":"x"}}\n\n',
        ),
        (
            EventType.TOOL_RESULT,
            [1, 2],
            b'id: 7\nevent: data\ndata: {"type":"tool_result","data":[1,2]}\n\n',
        ),
        (
            EventType.AGENT_START,
            {"agentId": "classify", "model": "openai-chat:gpt-4o-mini"},
            b'id: 7\nevent: data\ndata: {"type":"agent_start","agentId":"classify",'
            b'"model":"openai-chat:gpt-4o-mini"}\n\n',
        ),
        (
            EventType.TOOL_RESULT,
            {"toolName": "search", "toolCallId": "call_1", "result": {"hits": ["a\nb"]}},
            b'id: 7\nevent: data\ndata: {"type":"tool_result","toolName":"search",'
            b'"toolCallId":"call_1","result":{"hits":["a\\nb"]}}\n\n',
        ),
        (
            EventType.STRUCTURED_DELTA,
            {"partial": {"label": "pos"}},
            b'id: 7\nevent: data\ndata: {"type":"structured_delta","partial":{"label":"pos"}}\n\n',
        ),
        (
            EventType.USAGE,
            {"requests": 2, "inputTokens": 42, "outputTokens": 7},
            b'id: 7\nevent: data\ndata: {"type":"usage","requests":2,"inputTokens":42,'
            b'"outputTokens":7}\n\n',
        ),
        (
            "custom_kind",
            {"detail": 1, "type": "ignored"},
            b'id: 7\nevent: data\ndata: {"type":"custom_kind","detail":1}\n\n',
        ),
        (
            EventType.MESSAGE_RECEIVED,
            {"messageId": "m1", "type": "ignored"},
            b'id: 7\nevent: data\ndata: {"type":"MESSAGE_RECEIVED","messageId":"m1"}\n\n',
        ),
    ],
)
def test_frames_are_byte_exact(type: str, data: Any, expected: bytes) -> None:
    assert encode(event(type, data)) == expected


def test_body_is_the_frame_without_its_id_line() -> None:
    token = event(EventType.TOKEN, "x")
    assert body(token) == b"event: token\ndata: x\n\n"
    assert encode(token) == b"id: 7\n" + body(token)


def test_consolidated_cursor_replaces_seq_as_id() -> None:
    assert (
        encode(event(EventType.TOKEN, "x"), id="c-3.9") == b"id: c-3.9\nevent: token\ndata: x\n\n"
    )


def test_every_catalog_type_maps_to_one_of_the_four_sse_types() -> None:
    assert {sse_type(t) for t in EventType} == {"token", "progress", "data", "error"}
    for t in EventType:
        assert encode(event(t, {"message": "m", "progress": 0.5})).startswith(b"id: 7\nevent: ")


def test_parse_types_absent_or_empty_means_no_filter() -> None:
    assert parse_types(None) is None
    assert parse_types("") is None
    assert parse_types(" , ") is None


@pytest.mark.parametrize(
    ("raw", "passes", "blocked"),
    [
        ("token", [EventType.TOKEN], [EventType.PROGRESS, EventType.TASK_CREATED]),
        (" TOKEN , Progress ", [EventType.TOKEN, EventType.PROGRESS], [EventType.ERROR]),
        ("data", [EventType.DATA, EventType.TASK_CREATED, EventType.TOOL_CALL], [EventType.TOKEN]),
        ("error", [EventType.ERROR], [EventType.TASK_FAILED]),
        ("TASK_COMPLETED", [EventType.TASK_COMPLETED], [EventType.TASK_CREATED]),
        ("task_completed", [EventType.TASK_COMPLETED], [EventType.TASK_FAILED]),
        (
            "task",
            [EventType.TASK_CREATED, EventType.TASK_FAILED],
            [EventType.WORKFLOW_CREATED, EventType.TOKEN],
        ),
        (
            "workflow",
            [EventType.WORKFLOW_STARTED, EventType.WORKFLOW_COMPLETED],
            [EventType.CHILD_WORKFLOW_STARTED],
        ),
        ("timer", [EventType.TIMER_FIRED], [EventType.TASK_CREATED]),
        (
            "child_workflow",
            [EventType.CHILD_WORKFLOW_INITIATED, EventType.CHILD_WORKFLOW_CANCELLATION_FAILED],
            [EventType.WORKFLOW_STARTED],
        ),
        ("tool_call", [EventType.TOOL_CALL], [EventType.TOOL_RESULT]),
        ("token,workflow", [EventType.TOKEN, EventType.WORKFLOW_FAILED], [EventType.TASK_STARTED]),
    ],
)
def test_type_filter(raw: str, passes: list[EventType], blocked: list[EventType]) -> None:
    wanted = parse_types(raw)
    assert wanted is not None
    for t in passes:
        assert wanted.matches(event(t, None)), t
    for t in blocked:
        assert not wanted.matches(event(t, None)), t


@pytest.mark.parametrize("bad", ["tokens", "TASK_", "_task", "workflows", "token;data", "task*"])
def test_parse_types_rejects_unknown_names_naming_them(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown event type") as info:
        parse_types(f"token, {bad}")
    assert repr(bad) in str(info.value)


def test_task_lines_name_the_attempt_and_browsers_ignore_them() -> None:
    token = Event(EXEC, 9, EventType.TOKEN, TS, "hi", task_id="t-1", attempt=2)
    assert task_lines(token) == b"task: t-1\nattempt: 2\n"
    assert task_lines(event(EventType.TOKEN, "hi")) == b""
    assert parse_include("task") and parse_include(" TASK , ") and not parse_include(None)
    with pytest.raises(ValueError, match="'tasks'"):
        parse_include("task,tasks")
