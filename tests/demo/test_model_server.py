"""The scripted model server speaks OpenAI's APIs: what it sends parses as the SDK's types."""

from __future__ import annotations

import httpx
import orjson
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from runstream.demo.model_script import Reply, ToolCall, scripted, words
from runstream.demo.model_server import ModelServer

REPLY = Reply(
    text=words("Hello there"),
    tool_calls=[ToolCall("lookup", ['{"q":', ' "x"}'], id="call_1")],
    input_tokens=7,
)


async def test_whole_responses_are_valid_openai_objects() -> None:
    async with ModelServer(scripted(REPLY, REPLY)) as model, httpx.AsyncClient() as http:
        chat = await http.post(
            f"{model.url}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
        responses = await http.post(f"{model.url}/responses", json={"model": "m", "input": "hi"})
    completion = ChatCompletion.model_validate(chat.json())
    message = completion.choices[0].message
    assert message.content == "Hello there"
    assert message.tool_calls is not None and message.tool_calls[0].id == "call_1"
    assert completion.usage is not None and completion.usage.prompt_tokens == 7
    response = Response.model_validate(responses.json())
    assert response.output_text == "Hello there"
    assert [item.type for item in response.output] == ["message", "function_call"]
    assert [r.prompt() for r in model.requests] == ["hi", "hi"]


async def test_a_chat_stream_is_valid_chunks_then_done() -> None:
    async with ModelServer(scripted(REPLY)) as model, httpx.AsyncClient() as http:
        body = {
            "model": "m",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hi"}],
        }
        sent = await http.post(f"{model.url}/chat/completions", json=body)
    lines = [line[6:] for line in sent.text.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(orjson.loads(line)) for line in lines[:-1]]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    arguments = "".join(
        call.function.arguments or ""
        for c in chunks
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
        if call.function is not None
    )
    assert arguments == '{"q": "x"}'
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert model.completed == 1


async def test_errors_have_openai_error_bodies() -> None:
    failing = Reply(status=429, error="Rate limit reached")
    async with ModelServer(scripted(failing)) as model, httpx.AsyncClient() as http:
        answer = await http.post(f"{model.url}/chat/completions", json={"model": "m"})
        exhausted = await http.post(f"{model.url}/responses", json={"model": "m"})
    assert answer.status_code == 429
    assert answer.json()["error"] == {
        "message": "Rate limit reached",
        "type": "invalid_request_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert exhausted.status_code == 500
    assert "no reply" in exhausted.json()["error"]["message"]


async def test_a_responses_stream_is_valid_events_and_can_fail_mid_way() -> None:
    broken = Reply(text=words("one two three"), status=500, error="boom", fail_after=2)
    async with ModelServer(scripted(REPLY, broken)) as model, httpx.AsyncClient() as http:
        body = {"model": "m", "stream": True, "input": "hi"}
        whole = await http.post(f"{model.url}/responses", json=body)
        failed = await http.post(f"{model.url}/responses", json=body)
    events = TypeAdapter(list[ResponseStreamEvent]).validate_python(
        [orjson.loads(block.split("data: ", 1)[1]) for block in whole.text.split("\n\n") if block]
    )
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    arguments = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert (text, arguments) == ("Hello there", '{"q": "x"}')
    assert [e.sequence_number for e in events] == list(range(len(events)))
    last = orjson.loads(failed.text.strip().split("\n\n")[-1].split("data: ", 1)[1])
    assert last["type"] == "response.failed" and last["response"]["error"]["message"] == "boom"
    assert failed.text.count("response.output_text.delta") == 2 * 2  # event: and type
