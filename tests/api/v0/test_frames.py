"""Every v0 event name, byte for byte, as a real server sends it."""

from __future__ import annotations

import orjson

from runstream.model import Event, EventType
from runstream.streaming.wire.v0 import EVENT_NAMES, rfc3339

from ..conftest import Live, until
from ..sse import Block
from .conftest import read_all, start
from .flows import TEXT, USAGE


def first(log: list[Event], type: str, **data: object) -> Event:
    return next(
        e
        for e in log
        if e.type == type
        and all(isinstance(e.data, dict) and e.data.get(k) == v for k, v in data.items())
    )


def block(blocks: list[Block], seq: int) -> bytes:
    return next(b.raw for b in blocks if b.id == str(seq))


def ts(event: Event) -> bytes:
    return rfc3339(event.ts).encode()


async def finish_pipeline(live: Live) -> str:
    exec_id = await start(live, "workflows", "pipeline", "cats")

    async def asked() -> bool:
        return bool((await live.engine.get(exec_id)).promises)

    await until(asked, 10)
    await live.engine.resolve_promise(exec_id, "approve", True)
    await live.finished(exec_id)
    return exec_id


async def test_workflow_frames(live: Live) -> None:
    exec_id = await finish_pipeline(live)
    snapshot = await live.engine.get(exec_id)
    log = await live.engine.events(exec_id, limit=1000)
    blocks = await read_all(live, "workflows", exec_id)
    started = first(log, EventType.WORKFLOW_STARTED)
    assert blocks[0].raw == (
        b'id: %d\nevent: workflow_start\ndata: {"workflowId":"pipeline","ts":"%s"}\n\n'
        % (started.seq, ts(started))
    )
    task = first(log, EventType.TASK_STARTED, kind="compose")
    assert block(blocks, task.seq) == (
        b'id: %d\nevent: workflow_status\ndata: {"status":"RUNNING","step":"compose",'
        b'"event":"TASK_STARTED","ts":"%s"}\n\n' % (task.seq, ts(task))
    )
    token = first(log, EventType.TOKEN)
    assert block(blocks, token.seq) == (
        b'id: %d\nevent: llm_chunk\ndata: {"content":"About cats\\n","ts":"%s"}\n\n'
        % (token.seq, ts(token))
    )
    call = first(log, EventType.TOOL_CALL)
    assert block(blocks, call.seq) == (
        b'id: %d\nevent: tool_call\ndata: {"toolName":"lookup","args":{"q":"cats"},'
        b'"toolCallId":"c1","ts":"%s"}\n\n' % (call.seq, ts(call))
    )
    state = first(log, EventType.STATE_SET)
    assert block(blocks, state.seq) == (
        b'id: %d\nevent: workflow_status\ndata: {"status":"RUNNING","step":"STATE_SET",'
        b'"data":{"key":"phase","value":"approved"},"ts":"%s"}\n\n' % (state.seq, ts(state))
    )
    end = log[-1]
    assert blocks[-1].raw == (
        b'id: %d\nevent: complete\ndata: {"status":"SUCCESS","result":{"text":"About cats\\ndone",'
        b'"approved":true},"usage":{"requests":2,"inputTokens":32,"outputTokens":12},'
        b'"durationMs":%d,"ts":"%s"}\n\n' % (end.seq, end.ts - snapshot.created_at, ts(end))
    )


async def test_text_agent_frames(live: Live) -> None:
    exec_id = await start(live, "agents", "writer", "cats")
    snapshot = await live.finished(exec_id)
    log = await live.engine.events(exec_id, limit=1000)
    blocks = await read_all(live, "agents", exec_id)
    created = first(log, EventType.TASK_CREATED)
    assert blocks[0].raw == (
        b'id: 1\nevent: agent_status\ndata: {"status":"PENDING","step":"writer",'
        b'"event":"TASK_CREATED","ts":"%s"}\n\n' % ts(created)
    )
    agent = first(log, EventType.AGENT_START)
    assert block(blocks, agent.seq) == (
        b'id: %d\nevent: agent_start\ndata: {"agentId":"writer","model":"test:model","ts":"%s"}\n\n'
        % (agent.seq, ts(agent))
    )
    result = first(log, EventType.TOOL_RESULT)
    assert block(blocks, result.seq) == (
        b'id: %d\nevent: agent_status\ndata: {"status":"RUNNING","step":"tool_result",'
        b'"data":{"toolName":"lookup","toolCallId":"c1","result":42},"ts":"%s"}\n\n'
        % (result.seq, ts(result))
    )
    tokens = [e for e in log if e.type == EventType.TOKEN]
    assert [block(blocks, e.seq) for e in tokens] == [
        b"id: %d\nevent: llm_chunk\n%s\n"
        % (e.seq, b"".join(b"data: %s\n" % line.encode() for line in text.split("\n")))
        for e, text in zip(tokens, TEXT, strict=True)
    ]
    end = log[-1]
    usage = orjson.dumps({k: sum(u[k] for u in USAGE) for k in USAGE[0]})
    assert blocks[-1].raw == (
        b'id: %d\nevent: complete\ndata: {"status":"SUCCESS","result":%s,"usage":%s,'
        b'"durationMs":%d,"ts":"%s"}\n\n'
        % (end.seq, orjson.dumps("".join(TEXT)), usage, end.ts - snapshot.created_at, ts(end))
    )


async def test_structured_agent_frames(live: Live) -> None:
    exec_id = await start(live, "agents", "classify", "buy now")
    await live.finished(exec_id)
    log = await live.engine.events(exec_id, limit=1000)
    blocks = await read_all(live, "agents", exec_id)
    deltas = [e for e in log if e.type == EventType.STRUCTURED_DELTA]
    assert [block(blocks, e.seq) for e in deltas] == [
        b'id: %d\nevent: structured_delta\ndata: {"partial":{"label":"sp"},"ts":"%s"}\n\n'
        % (deltas[0].seq, ts(deltas[0])),
        b'id: %d\nevent: structured_delta\ndata: {"partial":{"label":"spam","score":0.9},'
        b'"ts":"%s"}\n\n' % (deltas[1].seq, ts(deltas[1])),
    ]
    assert orjson.loads(blocks[-1].data or "")["result"] == {"label": "spam", "score": 0.9}


async def test_failing_task_frames(live: Live) -> None:
    exec_id = await start(live, "tasks", "boom", "no luck")
    snapshot = await live.finished(exec_id)
    log = await live.engine.events(exec_id, limit=1000)
    blocks = await read_all(live, "tasks", exec_id)
    begun = first(log, EventType.TASK_STARTED)
    assert block(blocks, begun.seq) == (
        b'id: %d\nevent: task_status\ndata: {"status":"RUNNING","step":"boom",'
        b'"event":"TASK_STARTED","ts":"%s"}\n\n' % (begun.seq, ts(begun))
    )
    token = first(log, EventType.TOKEN)
    assert block(blocks, token.seq) == b"id: %d\nevent: llm_chunk\ndata: partial\n\n" % token.seq
    end = log[-1]
    assert blocks[-1].raw == (
        b'id: %d\nevent: error\ndata: {"status":"FAILED","error":"no luck",'
        b'"message":"task \'boom\' failed: no luck","durationMs":%d,"ts":"%s"}\n\n'
        % (end.seq, end.ts - snapshot.created_at, ts(end))
    )


async def test_every_event_name_is_sent(live: Live) -> None:
    """The four streams above between them use all ten names."""
    seen: set[str] = set()
    pipeline = await finish_pipeline(live)
    seen |= {b.event or "" for b in await read_all(live, "workflows", pipeline)}
    for family, name, input in [
        ("agents", "writer", "x"),
        ("agents", "classify", "x"),
        ("tasks", "boom", "x"),
        ("tasks", "compose", ["a"]),
    ]:
        exec_id = await start(live, family, name, input)
        await live.finished(exec_id)
        seen |= {b.event or "" for b in await read_all(live, family, exec_id)}
    assert seen == set(EVENT_NAMES)
