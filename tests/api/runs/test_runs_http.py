"""The runs API over HTTP (SPEC §7.3) against a real uvicorn and a real fake-CLI subprocess."""

from __future__ import annotations

import asyncio

import orjson

from runstream.model import EventType
from runstream.streaming.wire.runs import line_text

from ..conftest import Live
from ..sse import Block
from .helpers import (
    RUNS,
    Lines,
    alive,
    finished,
    gone,
    post_message,
    read_all,
    session_pid,
    start_run,
    texts,
    until_line,
)


async def test_a_message_posted_mid_turn_is_answered_once_before_the_final_result(
    live: Live,
) -> None:
    run_id = await start_run(live, "chat", "hello")
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen: list[Block] = []
        await until_line(stream, seen, "Looking at: hello")  # turn 1 is running
        queued = await post_message(live, run_id, "and the weather?")
        assert queued == {"success": True, "queue_size": queued["queue_size"], "run_id": run_id}
        assert queued["queue_size"] in (0, 1)
        rest = await read_all(stream)
    got = Lines(seen + rest.blocks)
    assert got.ids == list(range(1, len(got.ids) + 1))
    lines = got.data
    assert lines[0]["type"] == "system" and lines[0]["subtype"] == "init"
    said = texts(lines, "assistant")
    assert said.count("Looking at: and the weather?") == 1
    assert said.count("Answer: and the weather?") == 1
    results = [line for line in lines if line["type"] == "result"]
    assert [r["result"] for r in results] == ["Answer: hello", "Answer: and the weather?"]
    assert lines[-1] is results[-1], "the answer comes before the final result"
    assert got.end is not None and got.end["status"] == "completed"
    assert got.end["result"] == "Answer: and the weather?"

    log = [e async for e in live.engine.stream(run_id)]
    received = [e for e in log if e.type == EventType.MESSAGE_RECEIVED]
    consumed = [e for e in log if e.type == EventType.MESSAGE_CONSUMED]
    assert len(received) == len(consumed) == 1
    assert received[0].data == consumed[0].data
    first_result = next(e for e in log if e.type == "claude" and e.data["type"] == "result")
    assert consumed[0].seq < first_result.seq, "written to stdin while turn 1 ran"
    # The SSE data is the stored line, exactly.
    stored = [e for e in log if e.type == "claude"]
    assert [b.data for b in got.lines] == [line_text(e.data).decode() for e in stored]


async def test_three_quick_messages_keep_their_order(live: Live) -> None:
    run_id = await start_run(live, "chat", "first")
    sizes = [(await post_message(live, run_id, f"m{i}"))["queue_size"] for i in (1, 2, 3)]
    assert all(0 <= size <= 3 for size in sizes)
    status = await finished(live, run_id)
    assert status["status"] == "completed" and status["result"] == "Answer: m3"
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        lines = (await read_all(stream)).data
    results = [line["result"] for line in lines if line["type"] == "result"]
    assert results == ["Answer: first", "Answer: m1", "Answer: m2", "Answer: m3"]
    for text in ("m1", "m2", "m3"):
        assert texts(lines, "assistant").count(f"Looking at: {text}") == 1


async def test_messages_after_the_end_are_refused(live: Live) -> None:
    run_id = await start_run(live, "chat", "hi")
    await finished(live, run_id)
    late = await live.http.post(f"{RUNS}/{run_id}/messages", json={"message": "too late"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invalid_state"
    native = await live.http.post(
        live.path(run_id, "/messages", kind="task"), json={"message": "too late"}
    )
    assert native.status_code == 409


async def test_the_native_api_takes_messages_for_a_claude_task(live: Live) -> None:
    run_id = await start_run(live, "chat_slow", "slowly")
    sent = await live.http.post(live.path(run_id, "/messages", kind="task"), json={"message": "x"})
    assert sent.status_code == 202 and "messageId" in sent.json()
    snapshot = (await live.http.get(live.path(run_id, kind="task"))).json()
    assert snapshot["kind"] == "chat_slow" and snapshot["type"] == "task"
    await live.http.post(live.path(run_id, "/cancel", kind="task"))
    # A task that is not a Claude Code session takes no messages.
    plain = await live.http.post(
        "/api/orgs/default/task-executions", json={"kind": "flood", "input": 3}
    )
    refused = await live.http.post(
        live.path(plain.json()["id"], "/messages", kind="task"), json={"message": "x"}
    )
    assert refused.status_code == 409
    assert "takes no messages" in refused.json()["error"]["message"]


async def test_resume_at_every_line_gives_exactly_the_rest(live: Live) -> None:
    run_id = await start_run(live, "chat", "count")
    await post_message(live, run_id, "again")
    await finished(live, run_id)
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        full = await read_all(stream)
    total = len(full.ids)
    assert full.ids == list(range(1, total + 1)) and total >= 10
    for after in range(total + 1):
        headers = {"Last-Event-ID": str(after)}
        async with live.stream(f"{RUNS}/{run_id}/stream", headers) as stream:
            if after == total:
                assert stream.status == 204
                continue
            assert stream.status == 200
            rest = await read_all(stream)
        assert rest.ids == list(range(after + 1, total + 1))
        assert [b.raw for b in rest.lines] == [b.raw for b in full.lines[after:]]
        assert rest.end == full.end
    # The query parameter works too, for clients that cannot set headers.
    async with live.stream(f"{RUNS}/{run_id}/stream?lastEventId={total - 1}") as stream:
        assert (await read_all(stream)).ids == [total]


async def test_a_dropped_stream_resumes_mid_run_without_gaps(live: Live) -> None:
    run_id = await start_run(live, "chat", "one")
    await post_message(live, run_id, "two")
    seen: list[Block] = []
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        await until_line(stream, seen, "Looking at: one")
        stream.reset()
    last = max(int(b.id) for b in seen if b.id is not None)
    async with live.stream(f"{RUNS}/{run_id}/stream", {"Last-Event-ID": str(last)}) as stream:
        rest = await read_all(stream)
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        full = await read_all(stream)
    joined = [b.raw for b in seen if b.id is not None] + [b.raw for b in rest.lines]
    assert joined == [b.raw for b in full.lines]


async def test_a_failing_cli_fails_the_run_with_its_stderr(live: Live) -> None:
    run_id = await start_run(live, "chat_fail", "anything")
    status = await finished(live, run_id)
    assert status["status"] == "failed"
    assert "exited with code 2 without a result" in status["error"]
    assert "fake-claude: cannot reach the model" in status["error"]
    assert status["started_at"] is not None and status["completed_at"] is not None
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        got = await read_all(stream)
    assert [line["type"] for line in got.data] == ["system"]
    assert got.end is not None and got.end["status"] == "failed"


async def test_cancel_kills_the_subprocess(live: Live) -> None:
    run_id = await start_run(live, "chat_slow", "take your time")
    pid = await session_pid(live, run_id)
    assert alive(pid)
    async with live.stream(f"{RUNS}/{run_id}/stream") as stream:
        cancelled = await live.http.post(live.path(run_id, "/cancel", kind="task"))
        assert cancelled.status_code == 202
        await gone(pid, 3.0)  # the run saw its cancel in its log: SIGTERM at once
        got = await read_all(stream)
    assert got.end is not None and got.end["status"] == "cancelled"
    status = (await live.http.get(f"{RUNS}/claude-code/run/{run_id}/status")).json()
    assert status["status"] == "cancelled"
    await asyncio.sleep(0.2)
    assert live.engine._worker is not None and live.engine._worker.running == 0


async def test_status_and_start_errors(live: Live) -> None:
    start = f"{RUNS}/claude-code/run"
    missing = await live.http.post(f"{start}/chat", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "message"
    empty = await live.http.post(f"{start}/chat", json={"message": "  "})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "message"
    unknown = await live.http.post(f"{start}/nope", json={"message": "hi"})
    assert unknown.status_code == 404
    not_claude = await live.http.post(f"{start}/flood", json={"message": "hi"})
    assert not_claude.status_code == 404

    run_id = await start_run(live, "chat", "status please")
    early = (await live.http.get(f"{start}/{run_id}/status")).json()
    assert early["status"] in ("pending", "running") and early["completed_at"] is None
    done = await finished(live, run_id)
    assert done["status"] == "completed" and done["result"] == "Answer: status please"
    assert done["workflow_name"] == "chat" and done["error"] is None
    assert done["started_at"] <= done["completed_at"]

    workflow = await live.start("kinds")
    for path in (f"{start}/{workflow}/status", f"{RUNS}/{workflow}/stream"):
        assert (await live.http.get(path)).status_code == 404
    bad = await live.http.get(f"{start}/not-a-uuid/status")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "run_id"
    garbage = await live.http.get(f"{RUNS}/{run_id}/stream", headers={"Last-Event-ID": "x"})
    assert garbage.status_code == 400
    empty_message = await live.http.post(f"{RUNS}/{run_id}/messages", json={"message": ""})
    assert empty_message.status_code == 400
    assert orjson.loads(empty_message.content)["error"]["param"] == "message"


async def test_openapi_documents_the_runs_api(live: Live) -> None:
    schema = (await live.http.get("/openapi.json")).json()
    stream = schema["paths"][f"{RUNS}/{{run_id}}/stream"]["get"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    assert {"204", "400", "404"} <= set(stream["responses"])
    params = {(p["in"], p["name"]) for p in stream["parameters"]}
    assert {("header", "Last-Event-ID"), ("query", "lastEventId")} <= params
    start = schema["paths"][f"{RUNS}/claude-code/run/{{workflow_name}}"]["post"]
    assert start["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunStarted"
    }
    messages = schema["paths"][f"{RUNS}/{{run_id}}/messages"]["post"]
    assert {"202", "400", "404", "409"} <= set(messages["responses"])


async def test_bodies_follow_the_storage_rules(live: Live) -> None:
    start = f"{RUNS}/claude-code/run/chat"
    surrogate = b'{"message": "hi \\ud800"}'
    for body, param in ((surrogate, "message"), (b'{"message": ', "body")):
        response = await live.http.post(
            start, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == param
