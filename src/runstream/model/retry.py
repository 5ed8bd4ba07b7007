"""Retry policy for tasks: exponential backoff with jitter and a cap."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before each retry of a failed task attempt."""

    initial_interval: float = 1.0
    """Seconds before the first retry."""
    backoff_coefficient: float = 2.0
    """Each further retry waits this many times longer than the one before."""
    maximum_interval: float = 60.0
    """Cap on the wait, in seconds, before jitter."""
    jitter: float = 0.1
    """Fraction of the wait added or removed at random (0.1 = ±10%)."""

    def __post_init__(self) -> None:
        if self.initial_interval < 0 or self.maximum_interval < 0:
            raise ValueError("retry intervals must not be negative")
        if self.backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = self.initial_interval * self.backoff_coefficient ** max(attempt - 1, 0)
        base = min(base, self.maximum_interval)
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))

    def to_json(self) -> dict[str, float]:
        return {
            "initial_interval": self.initial_interval,
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval": self.maximum_interval,
            "jitter": self.jitter,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> RetryPolicy:
        return cls(**raw) if raw else cls()
