"""Provider failures are task attempt failures: 5xx, 429 and broken connections are retried,
other 4xx are not, and a cancelled or timed-out attempt aborts its HTTP request."""

from __future__ import annotations

import asyncio
import importlib
import time

import pytest

import runstream as rs
from runstream.demo.model_script import Reply, words

from .conftest import APIS, engine, model_server, of_type, run_to_end, tokens

FAST_RETRY = rs.RetryPolicy(initial_interval=0.05, maximum_interval=0.1, jitter=0.0)


def agent_app(api: str = "openai-chat", **options: object) -> rs.App:
    app = rs.App("agents")

    @app.agent(model=f"{api}:gpt-test", retry_policy=FAST_RETRY, **options)  # type: ignore[arg-type]
    async def writer(ctx: rs.AgentContext) -> str:
        return "Write something"

    return app


@pytest.mark.parametrize("api", APIS)
async def test_a_500_mid_stream_is_retried_and_its_tokens_stay_with_attempt_1(
    api: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Reply(
        text=words("The first try breaks off here"),
        status=500,
        error="The server had an error while processing your request",
        fail_after=3,
    )
    good = Reply(text=words("The second try makes it."))
    async with (
        model_server(monkeypatch, broken, good) as model,
        engine(agent_app(api, retries=2), db_url) as running,
    ):
        handle = await running.start_task("writer")
        events = await run_to_end(handle)
        result = await handle.result()

    assert result == "The second try makes it."
    assert tokens(events, attempt=1) == "The first try "
    assert tokens(events, attempt=2) == result
    failed = of_type(events, "TASK_FAILED")
    assert len(failed) == 1 and failed[0].data["willRetry"] is True and failed[0].attempt == 1
    assert failed[0].data["error"] == (
        "model " + api + ":gpt-test answered HTTP 500: "
        "The server had an error while processing your request"
    )
    assert [ev.attempt for ev in of_type(events, "agent_start")] == [1, 2]
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("first", "message"),
    [
        (Reply(status=429, error="Rate limit reached"), "answered HTTP 429: Rate limit reached"),
        (Reply(status=503, error="Overloaded"), "answered HTTP 503: Overloaded"),
        (Reply(text=words("a stream cut mid way"), cut_after=2), "unreachable: Connection error"),
    ],
)
async def test_retryable_failures(
    first: Reply, message: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        model_server(monkeypatch, first, Reply(text=["fine"])) as model,
        engine(agent_app(retries=1), db_url) as running,
    ):
        handle = await running.start_task("writer")
        assert await handle.result(timeout=20) == "fine"
        events = await run_to_end(handle)

    failed = of_type(events, "TASK_FAILED")[0]
    assert failed.data["willRetry"] is True
    assert message in failed.data["error"]
    assert len(model.requests) == 2
    if first.cut_after:
        assert tokens(events, attempt=1) == "a stream "


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("status", "error"), [(401, "Incorrect API key provided"), (400, "Invalid 'messages'")]
)
async def test_client_errors_are_not_retried(
    api: str, status: int, error: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        model_server(monkeypatch, Reply(status=status, error=error)) as model,
        engine(agent_app(api, retries=3), db_url) as running,
    ):
        handle = await running.start_task("writer")
        with pytest.raises(rs.ExecutionFailed) as failure:
            await handle.result(timeout=20)
        events = await run_to_end(handle)

    expected = f"model {api}:gpt-test answered HTTP {status}: {error}"
    assert failure.value.error == expected
    failed = of_type(events, "TASK_FAILED")
    assert len(failed) == 1 and failed[0].data["willRetry"] is False
    assert len(model.requests) == 1


async def test_an_unreachable_model_is_retried_then_fails(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with model_server(monkeypatch) as model:
        pass  # its port is closed now
    monkeypatch.setenv("OPENAI_BASE_URL", model.url)
    async with engine(agent_app(retries=1), db_url) as running:
        handle = await running.start_task("writer")
        with pytest.raises(rs.ExecutionFailed, match="unreachable: Connection error"):
            await handle.result(timeout=20)
        events = await run_to_end(handle)
    assert [ev.data["willRetry"] for ev in of_type(events, "TASK_FAILED")] == [True, False]


async def test_no_api_key_without_a_base_url_fails_at_once(db_url: str) -> None:
    async with engine(agent_app("openai", retries=3), db_url) as running:
        handle = await running.start_task("writer")
        with pytest.raises(rs.ExecutionFailed, match="OPENAI_API_KEY"):
            await handle.result(timeout=20)
        events = await run_to_end(handle)
    assert len(of_type(events, "TASK_STARTED")) == 1


async def test_cancelling_stops_the_model_call(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endless = Reply(text=[f"word{i} " for i in range(200)], delay=0.1)
    async with (
        model_server(monkeypatch, endless) as model,
        engine(agent_app(), db_url, lease_timeout=0.6) as running,
    ):
        handle = await running.start_task("writer")
        async for event in handle.stream():
            if event.type == "token":
                break
        cancelled_at = time.time()
        await running.cancel(handle.id, reason="enough")
        events = await run_to_end(handle)
        async with asyncio.timeout(5):
            while True:
                if model.abandoned:
                    break
                await asyncio.sleep(0.01)

    # The HTTP request is aborted within a heartbeat (a third of the lease), not after 20 s.
    assert model.abandoned[0] - cancelled_at < 1.5
    assert model.completed == 0
    assert events[-1].type == "TASK_CANCELLED"
    assert 0 < len(of_type(events, "token")) < 30


async def test_a_timed_out_attempt_aborts_its_request(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first agent run of a process imports pydantic-ai's OpenAI model (over a second
    # here): the 0.5 s timeout is to cut a model request, not that.
    await asyncio.to_thread(importlib.import_module, "pydantic_ai.models.openai")
    slow = Reply(text=[f"word{i} " for i in range(100)], delay=0.1)
    async with (
        model_server(monkeypatch, slow, Reply(text=["quick"])) as model,
        engine(agent_app(retries=1, timeout=0.5), db_url) as running,
    ):
        handle = await running.start_task("writer")
        assert await handle.result(timeout=20) == "quick"
        events = await run_to_end(handle)
    assert of_type(events, "TASK_FAILED")[0].data["error"] == "timed out after 0.5s"
    assert len(model.abandoned) == 1


@pytest.mark.parametrize("api", APIS)
async def test_an_empty_api_key_with_a_base_url_is_fine(
    api: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with model_server(monkeypatch, Reply(text=["local"])):
        monkeypatch.setenv("OPENAI_API_KEY", "")
        async with engine(agent_app(api), db_url) as running:
            handle = await running.start_task("writer")
            assert await handle.result(timeout=20) == "local"
