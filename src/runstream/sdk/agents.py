"""Agents: LLM tasks run by pydantic-ai, every delta, tool call and result in the log (SPEC §6).

``@app.agent(model=…, instructions=…, tools=[…], output=…)`` registers a task whose
function returns the user prompt. Each attempt then:

1. records ``agent_start`` (``agentId``, ``model``);
2. runs a pydantic-ai ``Agent`` with streaming, recording each provider text delta as a
   ``token``, each tool run as ``tool_call`` / ``tool_result`` and, for structured agents,
   each growing partial output as ``structured_delta`` (``agent_stream.StreamRecorder``);
3. records ``usage`` and returns the text, or the output object as JSON.

Retries belong to the task: the provider SDK's own retries are turned off
(``max_retries=0``), so every failed model call is a visible attempt in the log. A 5xx,
429 or connection error fails the attempt as retryable, any other 4xx for good.

pydantic-ai is imported, and the model built, at an agent's first run in a process (in a
thread, so the event loop keeps serving): declaring agents costs nothing, and
``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` are read then.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runstream.errors import TaskError
from runstream.model import EventType

if TYPE_CHECKING:
    from pydantic_ai import Agent
    from pydantic_ai.toolsets import FunctionToolset

    _Built = tuple[Agent[None, Any], FunctionToolset[None]]


class AgentSink(Protocol):
    """What the runner needs of the attempt's task context."""

    def token(self, text: str) -> None: ...
    def emit(self, type: str, data: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """What ``@app.agent`` declared; ``TaskDef.agent`` of an agent task."""

    name: str
    """The agent's (and its task's) name."""
    model: Any
    """A pydantic-ai model string (``openai-chat:gpt-4o-mini``) or ``Model`` object."""
    instructions: str | None
    tools: tuple[Any, ...]
    """Plain functions, sync or async (signature and docstring make the tool schema), or
    pydantic-ai ``Tool`` objects."""
    output: Any
    """The pydantic-ai output type (a pydantic model, …); ``None`` for a text agent."""

    @property
    def structured(self) -> bool:
        """Whether the agent returns an output object rather than text."""
        return self.output is not None

    @property
    def model_name(self) -> str:
        """The model as ``agent_start`` names it."""
        if isinstance(self.model, str):
            return self.model
        return str(getattr(self.model, "model_id", None) or type(self.model).__name__)

    def output_schema(self) -> dict[str, Any] | None:
        """The JSON schema of the output type; ``None`` for a text agent (or when the type
        is a pydantic-ai output marker that has no schema of its own)."""
        if self.output is None:
            return None
        from pydantic import TypeAdapter

        try:
            return TypeAdapter(self.output).json_schema()
        except Exception:
            return None


def declare(
    name: str,
    prompt: Callable[..., Awaitable[Any]],
    takes_input: bool,
    *,
    model: Any,
    instructions: str | None,
    tools: Sequence[Any],
    output: Any,
) -> tuple[AgentSpec, Callable[[Any, Any], Awaitable[Any]]]:
    """The spec of an agent and the task function that runs it.

    Args:
        name: The task's name.
        prompt: ``prompt(ctx[, input])``, the user's function returning the prompt.
        takes_input: Whether ``prompt`` takes the input.
        model: A pydantic-ai model string or ``Model``.
        instructions: The system instructions.
        tools: Tool functions (or pydantic-ai ``Tool`` objects).
        output: An output type, or ``None`` for text.
    """
    if not model:
        raise ValueError(f"agent {name!r} needs a model, e.g. model='openai-chat:gpt-4o-mini'")
    # pydantic-ai ``Tool`` objects (a function with options) are welcome too.
    if isinstance(tools, str | bytes) or not all(
        callable(t) or hasattr(t, "function") for t in tools
    ):
        raise TypeError(f"tools of agent {name!r} must be a list of functions")
    spec = AgentSpec(name, model, instructions, tuple(tools), output)
    runner = _Runner(spec, prompt, takes_input)
    return spec, runner.run


class _Runner:
    """Runs one agent for its task attempts; its pydantic-ai ``Agent`` is built at the first
    run, once per event loop (its locks and HTTP client belong to one loop)."""

    def __init__(
        self, spec: AgentSpec, prompt: Callable[..., Awaitable[Any]], takes_input: bool
    ) -> None:
        self.spec = spec
        self._prompt = prompt
        self._takes_input = takes_input
        self._agents: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Future[_Built]
        ] = weakref.WeakKeyDictionary()

    async def run(self, ctx: AgentSink, input: Any) -> Any:
        """The task function: prompt, stream the run into the log, return the output."""
        prompt = await (self._prompt(ctx, input) if self._takes_input else self._prompt(ctx))
        if not isinstance(prompt, str):
            raise TaskError(
                f"agent {self.spec.name} must return the prompt as a str, "
                f"not {type(prompt).__name__}",
                retryable=False,
            )
        agent, tools = await self._agent()
        from runstream.sdk.agent_stream import StreamRecorder, jsonable, recording

        recorder = StreamRecorder(ctx, structured=self.spec.structured)
        ctx.emit(EventType.AGENT_START, {"agentId": self.spec.name, "model": self.spec.model_name})
        try:
            # Entered per run: the provider's HTTP client is closed when no run uses it.
            async with agent:
                result = await agent.run(
                    prompt,
                    event_stream_handler=recorder.handle,
                    model_settings={"max_retries": 0},
                    toolsets=[recording(tools, recorder)],
                )
        except Exception as exc:
            failure = provider_failure(exc, self.spec.model_name)
            if failure is None:
                raise
            raise failure from exc
        usage = result.usage
        output = jsonable(result.output)
        recorder.finish(output)
        ctx.emit(
            EventType.USAGE,
            {
                "requests": usage.requests,
                "inputTokens": usage.input_tokens,
                "outputTokens": usage.output_tokens,
            },
        )
        return output

    async def _agent(self) -> _Built:
        loop = asyncio.get_running_loop()
        building = self._agents.get(loop)
        if building is None:
            # Importing pydantic-ai and building the model takes a second or more: not on the
            # loop, and once per loop. An attempt that stops waiting (its timeout, a cancel)
            # leaves the build to the next one; a failed build is tried again next time.
            building = self._agents[loop] = asyncio.ensure_future(asyncio.to_thread(self._build))
            building.add_done_callback(functools.partial(self._built, loop))
        return await asyncio.shield(building)

    def _built(self, loop: asyncio.AbstractEventLoop, building: asyncio.Future[_Built]) -> None:
        if not building.cancelled() and building.exception() is not None:
            self._agents.pop(loop, None)

    def _build(self) -> _Built:
        from pydantic_ai import Agent
        from pydantic_ai.exceptions import UserError
        from pydantic_ai.models import infer_model
        from pydantic_ai.toolsets import FunctionToolset

        spec = self.spec
        try:
            agent = Agent(
                infer_model(spec.model, provider_factory=_provider),
                instructions=spec.instructions,
                output_type=str if spec.output is None else spec.output,
                name=spec.name,
            )
            # The tools join each run wrapped by the run's recorder (agent_stream.recording).
            return agent, FunctionToolset(list(spec.tools))
        except UserError as err:
            # A missing API key, an unknown provider: no retry can fix it.
            raise TaskError(f"agent {spec.name}: {err}", retryable=False) from err


_OPENAI = frozenset({"openai", "openai-chat", "openai-responses"})


def _provider(name: str) -> Any:
    """pydantic-ai's provider for a model string's prefix, except that an OpenAI model
    aimed at a local server (``OPENAI_BASE_URL``) gets a placeholder key when
    ``OPENAI_API_KEY`` is empty: pydantic-ai does so only when the variable is unset, and
    servers such as Ollama or llama.cpp take any key."""
    from pydantic_ai.providers import infer_provider

    if (
        name in _OPENAI
        and os.environ.get("OPENAI_BASE_URL")
        and not os.environ.get("OPENAI_API_KEY")
    ):
        from pydantic_ai.providers.openai import OpenAIProvider

        return OpenAIProvider(api_key="api-key-not-set")
    return infer_provider(name)


_RETRYABLE_STATUS = frozenset({408, 409, 429})


def provider_failure(exc: BaseException, model: str) -> TaskError | None:
    """The attempt failure for an error of the model provider; ``None`` for other errors.

    5xx, 408, 409, 429 and connection errors are retryable; any other 4xx (a bad request,
    a wrong key, an unknown model, an exhausted quota) is not. The message names the
    provider's error.
    """
    from pydantic_ai import exceptions as ai

    if isinstance(exc, ai.ModelHTTPError):
        body = exc.body
        detail = body.get("message") if isinstance(body, dict) else body
        code = body.get("code") if isinstance(body, dict) else None
        retryable = exc.status_code >= 500 or exc.status_code in _RETRYABLE_STATUS
        if isinstance(exc, ai.ModelQuotaExceededError | ai.ModelRequestRejectedError):
            retryable = False
        message = f"model {model} answered HTTP {exc.status_code}: {detail or exc.message}"
        return TaskError(message, retryable=retryable, code=str(code) if code else None)
    if isinstance(exc, ai.ModelConnectionError):
        root: BaseException = exc
        while root.__cause__ is not None:
            root = root.__cause__
        reason = f" ({type(root).__name__}: {root})" if root is not exc else ""
        return TaskError(f"model {model} unreachable: {exc.message}{reason}", retryable=True)
    if isinstance(exc, ai.ModelAPIError):
        retryable = not isinstance(exc, ai.ModelQuotaExceededError | ai.ModelRequestRejectedError)
        return TaskError(f"model {model} failed: {exc.message}", retryable=retryable)
    if isinstance(exc, ai.UsageLimitExceeded):
        return TaskError(f"agent usage limit: {exc.message}", retryable=False)
    if isinstance(exc, ai.UnexpectedModelBehavior):
        return TaskError(f"model {model} misbehaved: {exc.message}", retryable=True)
    return None
