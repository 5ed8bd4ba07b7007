"""Request and response bodies of the v0 API (seed 002); pydantic stays at the HTTP edge."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runstream.streaming.wire.v0 import EVENT_NAMES


class V0StartRequest(BaseModel):
    """Start a workflow, agent or task execution."""

    model_config = ConfigDict(extra="forbid")

    input: Any = Field(default=None, description="The one argument passed to the function.")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class V0StreamEvent(BaseModel):
    """One Server-Sent Event of a v0 stream."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, description="The event's seq: resume after it.")
    event: str | None = Field(default=None, json_schema_extra={"enum": list(EVENT_NAMES)})
    data: str | None = Field(default=None, description="JSON, or a text chunk's plain text.")
    retry: int | None = Field(default=None, ge=0, description="Reconnection delay, in ms.")


class Started(_Out):
    """Where to find the execution just started."""

    exec_id: str = Field(description="The execution's id (a UUID).")
    exec_url: str = Field(description="Its status path; append ``/stream`` to watch it.")


class StartAccepted(_Out):
    """The answer to a start: 202 Accepted."""

    data: Started
    message: str


Usage = dict[str, int]


class ExecutionStatus(_Out):
    """An execution in the v0 vocabulary."""

    exec_id: str
    status: Literal["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELED"]
    input: Any
    output: Any
    error: str | None
    usage: Usage | None = Field(
        description="The ``usage`` events summed (``requests``, ``inputTokens``, "
        "``outputTokens``); null when there were none."
    )
    created_at: str = Field(description="RFC 3339, UTC.")
    updated_at: str = Field(description="RFC 3339, UTC.")


class StatusOut(_Out):
    """The answer to a status read."""

    data: ExecutionStatus
