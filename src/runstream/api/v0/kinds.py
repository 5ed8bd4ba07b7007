"""What the app's names are in v0 terms: workflows, agents and plain tasks.

An agent is a task whose definition carries agent information (``@app.agent``); its
stream is JSON when the agent has an output schema and plain text otherwise. This is
the only module that asks the registry those two questions.
"""

from __future__ import annotations

from runstream.api.errors import HttpError
from runstream.errors import ExecutionNotFound
from runstream.model import ExecutionType, Snapshot
from runstream.sdk.registry import App, TaskDef
from runstream.streaming.wire.v0 import Family


def agent_of(task: TaskDef) -> object | None:
    """The agent a task runs, or None for a plain task."""
    return getattr(task, "agent", None)


def has_output_schema(task: TaskDef) -> bool:
    """True when the task is an agent declared with an output schema (``output=``)."""
    agent = agent_of(task)
    return agent is not None and getattr(agent, "output", None) is not None


def family_of_name(app: App, name: str) -> Family | None:
    """Which v0 family a registered name belongs to; None when nothing has that name."""
    if name in app.workflows:
        return Family.WORKFLOWS
    task = app.tasks.get(name)
    if task is None:
        return None
    return Family.AGENTS if agent_of(task) is not None else Family.TASKS


def check_startable(app: App, family: Family, name: str) -> None:
    """Make sure ``name`` can be started under ``/api/v0/{family}/…``.

    Raises:
        HttpError: 404 when nothing has that name, 400 when it is of another family.
    """
    found = family_of_name(app, name)
    param = f"{family.noun}_id"
    if found is None:
        raise HttpError(404, "not_found", f"no {family.noun} named {name!r}", param=param)
    if found is not family:
        raise HttpError(
            400,
            "wrong_kind",
            f"{name!r} is {_a(found.noun)}, not {_a(family.noun)}: start it with "
            f"POST /api/v0/{found.value}/{name}/executions",
            param=param,
        )


def check_family(app: App, family: Family, snapshot: Snapshot) -> None:
    """Make sure an execution belongs to ``family`` (another family's id is unknown there).

    Raises:
        ExecutionNotFound: It does not.
    """
    if family_of(app, snapshot) is not family:
        raise ExecutionNotFound(snapshot.id)


def family_of(app: App, snapshot: Snapshot) -> Family:
    """The family of an execution (a task no longer registered counts as a plain task)."""
    if snapshot.type is ExecutionType.WORKFLOW:
        return Family.WORKFLOWS
    task = app.tasks.get(snapshot.kind)
    return Family.AGENTS if task is not None and agent_of(task) is not None else Family.TASKS


def is_text(app: App, snapshot: Snapshot) -> bool:
    """Text mode: an agent or task without an output schema (workflows are always JSON)."""
    if snapshot.type is ExecutionType.WORKFLOW:
        return False
    task = app.tasks.get(snapshot.kind)
    return task is None or not has_output_schema(task)


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun
