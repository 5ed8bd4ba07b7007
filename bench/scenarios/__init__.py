"""The scenarios, in the order ``bench/run.py`` runs them."""

from __future__ import annotations

from typing import Any

from bench.scenarios import (
    agent_tokens,
    claude_lines,
    idle,
    latency,
    resume,
    scaleout,
    sleeping,
    throughput,
    tokens,
)
from bench.scenarios.base import Floor, Headline, Scenario

ALL: tuple[Scenario[Any], ...] = (
    latency.SCENARIO,
    tokens.SCENARIO,
    agent_tokens.SCENARIO,
    idle.SCENARIO,
    throughput.SCENARIO,
    resume.SCENARIO,
    sleeping.SCENARIO,
    claude_lines.SCENARIO,
    scaleout.SCENARIO,
)
BY_NAME: dict[str, Scenario[Any]] = {s.name: s for s in ALL}

__all__ = ["ALL", "BY_NAME", "Floor", "Headline", "Scenario"]
