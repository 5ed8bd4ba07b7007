"""Request and response bodies of the runs API (seed 001)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatusName = Literal["pending", "running", "completed", "failed", "cancelled"]


class RunMessage(BaseModel):
    """A prompt (to start a run) or a message for the running session."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="The text of the user line.")


class RunStarted(BaseModel):
    """A run that was just created."""

    run_id: str
    status: RunStatusName
    workflow_name: str


class RunStatus(BaseModel):
    """Where a run is."""

    run_id: str
    status: RunStatusName
    workflow_name: str
    result: str | None = Field(description="The ``result`` of the last ``result`` line.")
    error: str | None
    started_at: str | None = Field(description="ISO 8601 UTC; null while pending.")
    completed_at: str | None = Field(description="ISO 8601 UTC; null until it ends.")


class MessageQueued(BaseModel):
    """A message accepted for the running session."""

    success: Literal[True]
    queue_size: int = Field(description="Messages accepted and not yet written to the session.")
    run_id: str
