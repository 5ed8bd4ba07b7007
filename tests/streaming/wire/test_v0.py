from __future__ import annotations

from typing import Any

import pytest

from runstream.model import Event, EventType, Status
from runstream.streaming.wire.v0 import (
    EVENT_NAMES,
    V0_STATUS,
    Encoder,
    Family,
    Stream,
    add_usage,
    parse_events,
    rfc3339,
)

EXEC = "0190f5c8-0000-7000-8000-000000000001"
TASK = "0190f5c8-0000-7000-8000-0000000000aa"
CREATED = 1703764800000  # 2023-12-28T12:00:00.000Z
TS = CREATED + 1234
T = "2023-12-28T12:00:01.234Z"


def ev(type: str, data: Any = None, seq: int = 7, task_id: str | None = None) -> Event:
    return Event(EXEC, seq, type, TS, data, task_id=task_id, attempt=1 if task_id else None)


def workflow(started: bool = True) -> Encoder:
    return Encoder(Stream(Family.WORKFLOWS, "pipeline", False, CREATED), started=started)


def standalone(family: Family = Family.TASKS, text: bool = True) -> Encoder:
    return Encoder(Stream(family, "compose", text, CREATED), started=True)


def mine(type: str, data: Any = None, seq: int = 7) -> Event:
    """An event of the standalone task's own attempt (its task id is the execution id)."""
    return ev(type, data, seq, task_id=EXEC)


def task_data(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": TASK, "kind": "summarize", "status": status, "executionCount": 1} | extra


def test_rfc3339_has_millisecond_fractions() -> None:
    assert rfc3339(CREATED) == "2023-12-28T12:00:00.000Z"
    assert rfc3339(TS) == T
    assert rfc3339(0) == "1970-01-01T00:00:00.000Z"


def test_workflow_created_has_no_frame() -> None:
    assert workflow(started=False).encode(ev(EventType.WORKFLOW_CREATED, {}, 1)) is None


def test_first_workflow_started_is_workflow_start_later_ones_are_status() -> None:
    encoder = workflow(started=False)
    first = encoder.encode(ev(EventType.WORKFLOW_STARTED, {"status": "RUNNING"}, 2))
    again = encoder.encode(ev(EventType.WORKFLOW_STARTED, {"status": "RUNNING"}, 9))
    assert first == (
        "workflow_start",
        b'id: 2\nevent: workflow_start\ndata: {"workflowId":"pipeline","ts":"%s"}\n\n' % T.encode(),
    )
    assert again == (
        "workflow_status",
        b'id: 9\nevent: workflow_status\ndata: {"status":"RUNNING","event":"WORKFLOW_STARTED",'
        b'"ts":"%s"}\n\n' % T.encode(),
    )


def test_status_is_pending_before_the_start() -> None:
    encoder = workflow(started=False)
    framed = encoder.encode(ev(EventType.MESSAGE_RECEIVED, {"messageId": "m1"}, 2))
    assert framed is not None
    assert framed[1] == (
        b'id: 2\nevent: workflow_status\ndata: {"status":"PENDING","step":"MESSAGE_RECEIVED",'
        b'"data":{"messageId":"m1"},"ts":"%s"}\n\n' % T.encode()
    )


@pytest.mark.parametrize(
    ("type", "data", "fields"),
    [
        (
            EventType.TASK_STARTED,
            task_data("RUNNING"),
            b'"step":"summarize","event":"TASK_STARTED"',
        ),
        (
            EventType.TASK_FAILED,
            task_data("FAILED", error="flaky", willRetry=True),
            b'"step":"summarize","event":"TASK_FAILED","error":"flaky"',
        ),
        (
            EventType.WORKFLOW_SUSPENDED,
            {"status": "WAITING", "suspendType": "promise"},
            b'"step":"promise","event":"WORKFLOW_SUSPENDED"',
        ),
        (EventType.WORKFLOW_RESUMED, {"status": "RUNNING"}, b'"event":"WORKFLOW_RESUMED"'),
        (
            EventType.TIMER_STARTED,
            {"timerId": "t", "fireAtMs": 1},
            b'"step":"sleep","event":"TIMER_STARTED"',
        ),
        (
            EventType.PROMISE_RESOLVED,
            {"promiseId": "go", "result": 1},
            b'"step":"go","event":"PROMISE_RESOLVED"',
        ),
        (
            EventType.CHILD_WORKFLOW_COMPLETED,
            {"childWorkflowId": "c", "kind": "kid", "status": "COMPLETED", "error": None},
            b'"step":"kid","event":"CHILD_WORKFLOW_COMPLETED"',
        ),
        (
            EventType.OPERATION_COMPLETED,
            {"operationId": "now", "result": 5, "error": None},
            b'"step":"now","event":"OPERATION_COMPLETED"',
        ),
    ],
)
def test_lifecycle_changes_are_workflow_status_naming_the_step(
    type: str, data: Any, fields: bytes
) -> None:
    task = TASK if type.startswith("TASK_") else None
    assert workflow().encode(ev(type, data, task_id=task)) == (
        "workflow_status",
        b'id: 7\nevent: workflow_status\ndata: {"status":"RUNNING",%s,"ts":"%s"}\n\n'
        % (fields, T.encode()),
    )


@pytest.mark.parametrize(
    ("type", "data", "payload"),
    [
        (
            EventType.TOOL_RESULT,
            {"toolName": "f", "toolCallId": "c", "result": 3},
            b'{"toolName":"f","toolCallId":"c","result":3}',
        ),
        (
            EventType.USAGE,
            {"requests": 1, "inputTokens": 5, "outputTokens": 2},
            b'{"requests":1,"inputTokens":5,"outputTokens":2}',
        ),
        (
            EventType.PROGRESS,
            {"progress": 0.5, "details": None},
            b'{"progress":0.5,"details":null}',
        ),
        (EventType.DATA, [1, "two"], b'[1,"two"]'),
        (EventType.ERROR, {"message": "slow", "code": "RATE"}, b'{"message":"slow","code":"RATE"}'),
        (EventType.STATE_SET, {"key": "k", "value": 1}, b'{"key":"k","value":1}'),
        (
            EventType.CANCELLATION_REQUESTED,
            {"workflowExecutionId": EXEC, "reason": None},
            b'{"workflowExecutionId":"%s","reason":null}' % EXEC.encode(),
        ),
    ],
)
@pytest.mark.parametrize("family", list(Family))
def test_everything_else_is_a_status_frame_with_the_stored_type_and_payload(
    family: Family, type: str, data: Any, payload: bytes
) -> None:
    encoder = Encoder(Stream(family, "x", family is not Family.WORKFLOWS, CREATED), started=True)
    name = family.status_event
    assert encoder.encode(
        ev(type, data, task_id=EXEC if family is not Family.WORKFLOWS else TASK)
    ) == (
        name,
        b'id: 7\nevent: %s\ndata: {"status":"RUNNING","step":"%s","data":%s,"ts":"%s"}\n\n'
        % (name.encode(), type.encode(), payload, T.encode()),
    )


@pytest.mark.parametrize(
    ("type", "data", "json"),
    [
        (
            EventType.AGENT_START,
            {"agentId": "writer", "model": "m"},
            b'{"agentId":"writer","model":"m"',
        ),
        (
            EventType.TOOL_CALL,
            {"toolName": "lookup", "args": {"q": 1}, "toolCallId": "c1"},
            b'{"toolName":"lookup","args":{"q":1},"toolCallId":"c1"',
        ),
        (EventType.STRUCTURED_DELTA, {"partial": {"label": "sp"}}, b'{"partial":{"label":"sp"}'),
    ],
)
def test_agent_events_keep_their_names(type: str, data: Any, json: bytes) -> None:
    for encoder in (
        workflow(),
        standalone(Family.AGENTS, text=True),
        standalone(Family.AGENTS, text=False),
    ):
        assert encoder.encode(mine(type, data)) == (
            type,
            b'id: 7\nevent: %s\ndata: %s,"ts":"%s"}\n\n' % (type.encode(), json, T.encode()),
        )


@pytest.mark.parametrize(
    ("text", "frame"),
    [
        ("Hello", b"id: 7\nevent: llm_chunk\ndata: Hello\n\n"),
        (" two\nlines\n", b"id: 7\nevent: llm_chunk\ndata:  two\ndata: lines\ndata: \n\n"),
        ("\n", b"id: 7\nevent: llm_chunk\ndata: \ndata: \n\n"),
        ("", b"id: 7\nevent: llm_chunk\ndata: \n\n"),
        ("h\u00e9 \u2603", "id: 7\nevent: llm_chunk\ndata: h\u00e9 \u2603\n\n".encode()),
    ],
)
def test_text_mode_chunks_are_the_plain_text(text: str, frame: bytes) -> None:
    assert standalone(text=True).encode(mine(EventType.TOKEN, text)) == ("llm_chunk", frame)


def test_json_mode_chunks_carry_content_and_ts() -> None:
    expected = (
        "llm_chunk",
        b'id: 7\nevent: llm_chunk\ndata: {"content":"a\\nb","ts":"%s"}\n\n' % T.encode(),
    )
    assert workflow().encode(ev(EventType.TOKEN, "a\nb", task_id=TASK)) == expected
    assert standalone(Family.AGENTS, text=False).encode(mine(EventType.TOKEN, "a\nb")) == expected


def test_complete_has_status_result_usage_and_duration() -> None:
    encoder = workflow()
    encoder.encode(
        ev(EventType.USAGE, {"requests": 1, "inputTokens": 10, "outputTokens": 4}, 5, TASK)
    )
    encoder.encode(
        ev(EventType.USAGE, {"requests": 2, "inputTokens": 7, "outputTokens": 1}, 6, TASK)
    )
    done = ev(EventType.WORKFLOW_COMPLETED, {"status": "COMPLETED", "output": {"n": 1}}, 9)
    assert encoder.encode(done) == (
        "complete",
        b'id: 9\nevent: complete\ndata: {"status":"SUCCESS","result":{"n":1},'
        b'"usage":{"requests":3,"inputTokens":17,"outputTokens":5},"durationMs":1234,'
        b'"ts":"%s"}\n\n' % T.encode(),
    )


def test_complete_without_output_or_usage_leaves_them_out() -> None:
    done = mine(EventType.TASK_COMPLETED, task_data("COMPLETED", output=None), 4)
    assert standalone().encode(done) == (
        "complete",
        b'id: 4\nevent: complete\ndata: {"status":"SUCCESS","durationMs":1234,"ts":"%s"}\n\n'
        % T.encode(),
    )


def test_a_failure_is_an_error_frame() -> None:
    failed = mine(EventType.TASK_FAILED, task_data("FAILED", error="it broke", willRetry=False), 4)
    assert standalone().encode(failed) == (
        "error",
        b'id: 4\nevent: error\ndata: {"status":"FAILED","error":"it broke",'
        b'"message":"task \'compose\' failed: it broke","durationMs":1234,"ts":"%s"}\n\n'
        % T.encode(),
    )


def test_a_cancellation_is_an_error_frame_with_status_canceled() -> None:
    cancelled = ev(EventType.WORKFLOW_CANCELLED, {"status": "CANCELLED", "error": "user"}, 8)
    assert workflow().encode(cancelled) == (
        "error",
        b'id: 8\nevent: error\ndata: {"status":"CANCELED","error":"user",'
        b'"message":"workflow \'pipeline\' was canceled: user","durationMs":1234,'
        b'"ts":"%s"}\n\n' % T.encode(),
    )


def test_error_code_is_passed_on_when_stored() -> None:
    failed = ev(EventType.WORKFLOW_FAILED, {"status": "FAILED", "error": "x", "code": "E1"}, 8)
    framed = workflow().encode(failed)
    assert framed is not None and b',"code":"E1","durationMs"' in framed[1]


def test_a_retried_task_failure_is_not_the_end() -> None:
    retried = mine(EventType.TASK_FAILED, task_data("FAILED", error="flaky", willRetry=True))
    framed = standalone(Family.AGENTS).encode(retried)
    assert framed is not None and framed[0] == "agent_status"


def test_usage_sums_integer_fields() -> None:
    total = add_usage(None, {"requests": 1, "inputTokens": 3, "model": "m", "flag": True})
    assert total == {"requests": 1, "inputTokens": 3}
    assert add_usage(total, {"requests": 2, "cacheTokens": 1}) == {
        "requests": 3,
        "inputTokens": 3,
        "cacheTokens": 1,
    }
    assert add_usage(None, "junk") is None
    assert add_usage(None, {}) is None


def test_parse_events() -> None:
    assert parse_events(None) is None
    assert parse_events(" , ") is None
    assert parse_events("llm_chunk, COMPLETE ,") == frozenset({"llm_chunk", "complete"})
    assert parse_events(",".join(EVENT_NAMES)) == frozenset(EVENT_NAMES)
    with pytest.raises(ValueError, match="unknown event 'token'"):
        parse_events("llm_chunk,token")


def test_every_status_has_a_v0_name() -> None:
    assert set(V0_STATUS) == set(Status)
    assert set(V0_STATUS.values()) == {"PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELED"}


def test_a_failure_a_manual_retry_reopened_is_a_status_frame() -> None:
    failed = ev(EventType.WORKFLOW_FAILED, {"status": "FAILED", "error": "boom"}, 8)
    assert workflow().encode(failed, ends=False) == (
        "workflow_status",
        b'id: 8\nevent: workflow_status\ndata: {"status":"FAILED","event":"WORKFLOW_FAILED",'
        b'"error":"boom","ts":"%s"}\n\n' % T.encode(),
    )
    retry = {"targetId": EXEC, "targetType": "workflow", "attempt": 1, "reason": None}
    framed = workflow().encode(ev(EventType.RETRY_REQUESTED, retry, 9))
    assert framed is not None and framed[1].startswith(
        b'id: 9\nevent: workflow_status\ndata: {"status":"RUNNING","step":"RETRY_REQUESTED",'
    )
