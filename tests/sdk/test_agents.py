"""Agents on pydantic-ai: streamed into the log as the model answers, both OpenAI APIs."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from pydantic import BaseModel
from pydantic_ai import ModelRetry, Tool
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.output import NativeOutput
from pydantic_ai.providers.openai import OpenAIProvider

import runstream as rs
from runstream.demo.model_script import ModelRequest, Reply, ToolCall, words

from .conftest import APIS, engine, grows, model_server, of_type, run_to_end, tokens


def weather(city: str) -> dict[str, object]:
    """The weather in a city."""
    return {"city": city, "sky": "sunny", "celsius": 21}


async def population(city: str) -> int:
    """How many people live in a city."""
    await asyncio.sleep(0.01)
    return 2_100_000


class Verdict(BaseModel):
    label: str
    score: float
    reasons: list[str]


def answer_with_tool_outputs(request: ModelRequest) -> Reply:
    """The model's second turn: it repeats what the tools told it."""
    return Reply(text=words(f"Tools said: {' | '.join(request.tool_outputs())}."))


@pytest.mark.parametrize("api", APIS)
async def test_a_text_agent_streams_tools_tokens_and_usage(
    api: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")

    @app.agent(model=f"{api}:gpt-test", instructions="Answer briefly.", tools=[weather, population])
    async def city(ctx: rs.AgentContext, name: str) -> str:
        assert ctx.attempt == 1
        return f"Tell me about {name}"

    first = Reply(
        tool_calls=[
            ToolCall("weather", ['{"ci', 'ty": "Pa', 'ris"}']),
            ToolCall("population", ['{"city"', ': "Paris"}']),
        ],
        input_tokens=30,
        output_tokens=11,
    )
    async with (
        model_server(monkeypatch, first, answer_with_tool_outputs) as model,
        engine(app, db_url) as running,
    ):
        handle = await running.start_task(city, "Paris")
        events = await run_to_end(handle)
        result = await handle.result()

    expected = 'Tools said: {"city":"Paris","sky":"sunny","celsius":21} | 2100000.'
    assert result == expected
    assert tokens(events) == result
    assert [ev.data for ev in of_type(events, "token")] == words(expected)

    agent_types = [ev.type for ev in events if ev.type.islower()]
    assert agent_types[:5] == [
        "agent_start",
        "tool_call",
        "tool_call",
        "tool_result",
        "tool_result",
    ]
    assert agent_types[-1] == "usage"
    assert of_type(events, "agent_start")[0].data == {"agentId": "city", "model": f"{api}:gpt-test"}
    calls = {ev.data["toolName"]: ev.data for ev in of_type(events, "tool_call")}
    assert calls["weather"]["args"] == {"city": "Paris"}
    assert calls["population"]["args"] == {"city": "Paris"}
    results = {ev.data["toolName"]: ev.data for ev in of_type(events, "tool_result")}
    assert results["weather"]["result"] == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert results["population"]["result"] == 2_100_000
    for name in ("weather", "population"):
        assert results[name]["toolCallId"] == calls[name]["toolCallId"]
    assert of_type(events, "usage")[0].data == {
        "requests": 2,
        "inputTokens": 30 + 12,
        "outputTokens": 11 + len(words(expected)),
    }
    task_events = [ev for ev in events if ev.type.islower()]
    assert {(ev.task_id, ev.attempt) for ev in task_events} == {(handle.id, 1)}

    # What the model was sent: the prompt, the instructions, then both tools' returns.
    assert [r.api for r in model.requests] == ["chat" if api == "openai-chat" else "responses"] * 2
    assert model.requests[0].prompt() == "Tell me about Paris"
    assert "Answer briefly." in str(model.requests[0].body)
    assert model.requests[1].tool_outputs() == [
        '{"city":"Paris","sky":"sunny","celsius":21}',
        "2100000",
    ]


@pytest.mark.parametrize("api", APIS)
async def test_the_first_token_is_in_the_log_while_the_model_still_writes(
    api: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")

    @app.agent(model=f"{api}:gpt-test")
    async def slow(ctx: rs.AgentContext) -> str:
        return "Count slowly"

    reply = Reply(text=["one ", "two ", "three ", "four ", "five ", "six"], delay=0.5)
    async with (
        model_server(monkeypatch, reply, record_sends=True) as model,
        engine(app, db_url) as running,
    ):
        handle = await running.start_task(slow)
        first_seen: float | None = None
        async for event in handle.stream():
            if event.type == "token" and first_seen is None:
                first_seen = asyncio.get_running_loop().time()
                assert model.completed == 0, "the model had already finished"
        finished = asyncio.get_running_loop().time()
        events = await run_to_end(handle)

    assert first_seen is not None and finished - first_seen > 1.2
    first = of_type(events, "token")[0]
    # Stored soon after the model sent it (margins for a busy machine), seconds before the
    # model sent its last delta.
    assert first.ts <= model.sent[0] * 1000 + 1000
    assert first.ts < model.sent[-1] * 1000 - 1500
    assert [ev.data for ev in of_type(events, "token")] == list(reply.text)


@pytest.mark.parametrize(("api", "native"), [(api, False) for api in APIS] + [("openai", True)])
async def test_structured_deltas_grow_into_the_output(
    api: str, native: bool, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")

    @app.agent(model=f"{api}:gpt-test", output=NativeOutput(Verdict) if native else Verdict)
    async def classify(ctx: rs.AgentContext, text: str) -> str:
        return f"Classify: {text}"

    document = '{"label": "positive", "score": 0.875, "reasons": ["clear", "kind \\"words\\""]}'
    fragments = [document[i : i + 7] for i in range(0, len(document), 7)]
    reply = (
        Reply(text=fragments)
        if native
        else Reply(text=["Let me think. "], tool_calls=[ToolCall("final_result", fragments)])
    )
    async with model_server(monkeypatch, reply), engine(app, db_url) as running:
        handle = await running.start_task(classify, "what a lovely day")
        events = await run_to_end(handle)
        result = await handle.result()

    assert result == {"label": "positive", "score": 0.875, "reasons": ["clear", 'kind "words"']}
    partials = [ev.data["partial"] for ev in of_type(events, "structured_delta")]
    assert len(partials) >= 5
    assert partials[-1] == result
    for before, after in itertools.pairwise(partials):
        assert before != after and grows(before, after), (before, after)
    assert tokens(events) == ("" if native else "Let me think. ")


async def test_a_tool_that_raises_is_recorded_and_fails_the_attempt(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")
    calls: list[int] = []

    def flaky(n: int) -> int:
        """Fails in two ways before it works."""
        calls.append(n)
        if n == 1:
            raise ModelRetry("n must be even")
        raise ValueError(f"no luck with {n}")

    @app.agent(model="openai-chat:gpt-test", tools=[flaky])
    async def tries(ctx: rs.AgentContext) -> str:
        return "Call flaky"

    script = (
        Reply(tool_calls=[ToolCall("flaky", ['{"n": 1}'])]),
        Reply(tool_calls=[ToolCall("flaky", ['{"n": 3}'])]),
    )
    async with model_server(monkeypatch, *script) as model, engine(app, db_url) as running:
        handle = await running.start_task(tries)
        events = await run_to_end(handle)
        with pytest.raises(rs.ExecutionFailed, match="ValueError: no luck with 3"):
            await handle.result()

    assert calls == [1, 3]
    retried, raised = [ev.data for ev in of_type(events, "tool_result")]
    assert retried["outcome"] == "retried" and "n must be even" in retried["error"]
    assert raised == {
        "toolName": "flaky",
        "toolCallId": of_type(events, "tool_call")[1].data["toolCallId"],
        "result": None,
        "error": "ValueError: no luck with 3",
        "outcome": "raised",
    }
    # pydantic-ai told the model about the ModelRetry, as it does without runstream.
    assert "n must be even" in model.requests[1].tool_outputs()[0]
    assert of_type(events, "TASK_FAILED")[0].data["error"] == "ValueError: no luck with 3"


async def test_an_agent_in_a_workflow_streams_on_the_workflow_log(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")

    @app.agent(model="openai-chat:gpt-test", tools=[Tool(weather, max_retries=0)])
    async def forecast(ctx: rs.AgentContext, city: str) -> str:
        return f"Weather in {city}?"

    @app.task()
    async def shout(ctx: rs.TaskContext, text: str) -> str:
        return text.upper()

    @app.workflow()
    async def report(ctx: rs.WorkflowContext, city: str) -> str:
        text: str = await ctx.task(forecast, city)
        loud: str = await ctx.task(shout, text)
        return loud

    first = Reply(tool_calls=[ToolCall("weather", ['{"city": "Oslo"}'])])
    async with (
        model_server(monkeypatch, first, answer_with_tool_outputs),
        engine(app, db_url) as running,
    ):
        handle = await running.start(report, "Oslo")
        events = await run_to_end(handle)
        result = await handle.result()
        snapshot = await running.get(handle.id)

    agent_task = next(t for t in snapshot.tasks if t.kind == "forecast")
    agent_events = [ev for ev in events if ev.type.islower()]
    assert {ev.task_id for ev in agent_events} == {agent_task.id}
    assert {ev.execution_id for ev in events} == {handle.id}
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))
    assert result == tokens(events).upper()
    started = of_type(events, "TASK_STARTED")[0].seq
    completed = of_type(events, "TASK_COMPLETED")[0].seq
    assert all(started < ev.seq < completed for ev in agent_events)


async def test_a_model_object_and_a_bad_prompt(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rs.App("agents")
    async with model_server(monkeypatch, Reply(text=["Hi ", "there"])) as model:
        chat = OpenAIChatModel(
            "gpt-object", provider=OpenAIProvider(base_url=model.url, api_key="k")
        )

        @app.agent(model=chat)
        async def greet(ctx: rs.AgentContext) -> str:
            return "Say hi"

        @app.agent(model="openai-chat:gpt-test", retries=3)
        async def broken(ctx: rs.AgentContext) -> str:
            return 42  # type: ignore[return-value]

        async with engine(app, db_url) as running:
            good = await running.start_task(greet)
            bad = await running.start_task(broken)
            assert await good.result(timeout=20) == "Hi there"
            with pytest.raises(rs.ExecutionFailed, match="must return the prompt as a str"):
                await bad.result(timeout=20)
            events = await run_to_end(good)
            bad_events = await run_to_end(bad)

    assert of_type(events, "agent_start")[0].data["model"] == chat.model_id
    assert len(of_type(bad_events, "TASK_STARTED")) == 1, "a bad prompt is not retried"
    assert len(model.requests) == 1


def test_declaring_agents_checks_its_arguments() -> None:
    app = rs.App("agents")

    async def prompt(ctx: rs.AgentContext) -> str:
        return "x"

    with pytest.raises(ValueError, match="needs a model"):
        app.agent(model="")(prompt)
    with pytest.raises(TypeError, match="tools of agent 'prompt' must be a list of functions"):
        app.agent(model="openai-chat:x", tools=["nope"])(prompt)
    with pytest.raises(ValueError, match="retries must be >= 0"):
        app.agent(model="openai-chat:x", retries=-1)
    app.agent(model="openai-chat:x", output=Verdict)(prompt)
    spec = app.get_task("prompt").agent
    assert spec is not None and spec.structured and spec.name == "prompt"
    schema = spec.output_schema()
    assert schema is not None and set(schema["properties"]) == {"label", "score", "reasons"}
    assert app.get_task("prompt").takes_input
