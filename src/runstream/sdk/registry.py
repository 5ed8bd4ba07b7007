"""``rs.App``: the registry of workflows and tasks that an engine runs."""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from runstream.errors import UnknownKind
from runstream.model import RetryPolicy
from runstream.sdk import agents
from runstream.sdk.agents import AgentSpec

if TYPE_CHECKING:
    from runstream.sdk.claude_code import ClaudeCode

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True, slots=True)
class WorkflowDef:
    """A registered workflow."""

    name: str
    fn: Callable[..., Awaitable[Any]]
    """``fn(ctx)`` or ``fn(ctx, input)``."""
    takes_input: bool


@dataclass(frozen=True, slots=True)
class TaskDef:
    """A registered task."""

    name: str
    fn: Callable[..., Awaitable[Any]]
    """``fn(ctx)`` or ``fn(ctx, input)``."""
    takes_input: bool
    retries: int
    """Retries after the first attempt."""
    timeout: float | None
    """Seconds one attempt may run."""
    retry_policy: RetryPolicy
    agent: AgentSpec | None = None
    """What the agent is, for a task declared with ``@app.agent``."""
    accepts_messages: bool = False
    """Messages posted to its standalone executions reach the running attempt (``ctx.inbox``)."""
    recoveries: int | None = None
    """Lost workers the task survives (None: the engine's ``recovery_limit``; 0: losing its
    worker fails it, for work that must not start over)."""


def _check_limits(retries: int, timeout: float | None) -> None:
    if retries < 0:
        raise ValueError("retries must be >= 0")
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be > 0")


def _takes_input(fn: Callable[..., Any], what: str) -> bool:
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{what} {fn.__qualname__} must be an async function")
    params = list(inspect.signature(fn).parameters.values())
    if not params or len(params) > 2:
        raise TypeError(f"{what} {fn.__qualname__} takes (ctx) or (ctx, input)")
    return len(params) == 2


class App:
    """A named collection of workflows and tasks.

    Example::

        app = rs.App("demo")

        @app.task(retries=3)
        async def fetch(ctx: rs.TaskContext, url: str) -> dict: ...
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.workflows: dict[str, WorkflowDef] = {}
        self.tasks: dict[str, TaskDef] = {}

    def workflow(self, name: str | None = None) -> Callable[[F], F]:
        """Register an async ``fn(ctx: WorkflowContext[, input])`` as a workflow."""

        def register(fn: F) -> F:
            wf_name = name or fn.__name__
            self._check_free(wf_name)
            self.workflows[wf_name] = WorkflowDef(wf_name, fn, _takes_input(fn, "workflow"))
            fn.__runstream_name__ = wf_name  # type: ignore[attr-defined]
            return fn

        return register

    def task(
        self,
        name: str | None = None,
        *,
        retries: int = 0,
        timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
        recoveries: int | None = None,
    ) -> Callable[[F], F]:
        """Register an async ``fn(ctx: TaskContext[, input])`` as a task; ``recoveries``
        bounds how many lost workers (lease expiries) it survives, apart from ``retries``."""
        _check_limits(retries, timeout)
        if recoveries is not None and recoveries < 0:
            raise ValueError("recoveries must be >= 0")

        def register(fn: F) -> F:
            task_name = name or fn.__name__
            self._check_free(task_name)
            self.tasks[task_name] = TaskDef(
                task_name,
                fn,
                _takes_input(fn, "task"),
                retries,
                timeout,
                retry_policy or RetryPolicy(),
                recoveries=recoveries,
            )
            fn.__runstream_name__ = task_name  # type: ignore[attr-defined]
            return fn

        return register

    def agent(
        self,
        name: str | None = None,
        *,
        model: Any,
        instructions: str | None = None,
        tools: Sequence[Any] = (),
        output: Any = None,
        retries: int = 0,
        timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Callable[[F], F]:
        """Register an async ``fn(ctx: AgentContext[, input]) -> str`` returning the user
        prompt as an agent: a task that runs an LLM loop with tools on pydantic-ai and
        streams it into the log (``docs/agents.md``).

        Args:
            name: The task name; the function's name by default.
            model: A pydantic-ai model string (``"openai-chat:gpt-4o-mini"``) or ``Model``.
            instructions: The system instructions.
            tools: Plain functions, sync or async, that the model may call (or
                pydantic-ai ``Tool`` objects).
            output: An output type (e.g. a pydantic model); ``None`` returns the text.
            retries: Retries after the first attempt.
            timeout: Seconds one attempt may run.
            retry_policy: Backoff between attempts.
        """
        _check_limits(retries, timeout)

        def register(fn: F) -> F:
            task_name = name or fn.__name__
            self._check_free(task_name)
            spec, run = agents.declare(
                task_name,
                fn,
                _takes_input(fn, "agent"),
                model=model,
                instructions=instructions,
                tools=tools,
                output=output,
            )
            policy = retry_policy or RetryPolicy()
            self.tasks[task_name] = TaskDef(
                task_name, run, True, retries, timeout, policy, agent=spec
            )
            fn.__runstream_name__ = task_name  # type: ignore[attr-defined]
            return fn

        return register

    def claude_code(
        self,
        name: str,
        command: Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        instructions: str | None = None,
        *,
        turn_start_timeout: float = 30.0,
    ) -> ClaudeCode:
        """Register a task that runs a Claude Code session (SPEC §6).

        Args:
            name: The task's name.
            command: The program and its arguments; default ``claude -p --output-format
                stream-json --input-format stream-json --verbose``, or
                ``RUNSTREAM_CLAUDE_COMMAND`` when that is set.
            cwd: Working directory of the process (the server's when None).
            env: Variables added to the inherited environment.
            instructions: Passed as ``--append-system-prompt``.
            turn_start_timeout: Seconds a turn expected after a ``result`` (to answer
                messages written while the previous one ran) has to begin before those
                messages count as answered and stdin may close.

        Returns:
            The task, usable wherever a task function is (``ctx.task``, ``start_task``).
        """
        from runstream.sdk.claude_code import ClaudeCode

        self._check_free(name)
        task = ClaudeCode(
            name,
            command=None if command is None else tuple(command),
            cwd=None if cwd is None else os.fspath(cwd),
            env=dict(env or {}),
            instructions=instructions,
            turn_start_timeout=turn_start_timeout,
        )
        # A session is not replayed (docs/claude-code.md): losing its worker ends the run.
        self.tasks[name] = TaskDef(
            name, task, True, 0, None, RetryPolicy(), accepts_messages=True, recoveries=0
        )
        return task

    def _check_free(self, name: str) -> None:
        if name in self.workflows or name in self.tasks:
            raise ValueError(f"{name!r} is already registered on app {self.name!r}")

    def get_workflow(self, ref: str | Callable[..., Any]) -> WorkflowDef:
        """The workflow registered under ``ref`` (a name or the decorated function)."""
        name = kind_name(ref)
        try:
            return self.workflows[name]
        except KeyError:
            raise UnknownKind(name, "workflow") from None

    def get_task(self, ref: str | Callable[..., Any]) -> TaskDef:
        """The task registered under ``ref`` (a name or the decorated function)."""
        name = kind_name(ref)
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownKind(name, "task") from None


def kind_name(ref: str | Callable[..., Any]) -> str:
    """The registered name of a workflow or task given by name or function."""
    if isinstance(ref, str):
        return ref
    return str(getattr(ref, "__runstream_name__", getattr(ref, "__name__", ref)))
