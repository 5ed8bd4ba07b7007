"""What a scenario is: parameters, one measured run, headline figures and floors."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bench.stats import Figures, lookup

P = TypeVar("P")


@dataclass(frozen=True)
class Headline:
    """A figure the summary table shows, by its dotted path in the median figures."""

    label: str
    path: str
    unit: str = ""


@dataclass(frozen=True)
class Floor:
    """A bar a median figure must clear (SPEC §9), or a goal that is only reported."""

    path: str
    limit: float | bool
    higher_is_better: bool = False
    goal: bool = False
    """A goal (reported, not a failure) rather than a floor."""

    def describe(self) -> str:
        if isinstance(self.limit, bool):
            return "must be true" if self.limit else "must be false"
        op = "≥" if self.higher_is_better else "≤"
        return f"{op} {self.limit:g}" + (" (goal)" if self.goal else "")

    def met(self, figures: Figures) -> bool | None:
        """Whether the figure clears the bar; None when it is missing."""
        value = lookup(figures, self.path)
        if value is None:
            return None
        if isinstance(self.limit, bool):
            return bool(value) is self.limit
        if not isinstance(value, int | float):
            return None
        return value >= self.limit if self.higher_is_better else value <= self.limit


@dataclass(frozen=True)
class Scenario(Generic[P]):
    """One benchmark: how to size it, how to run it once, what to show and check."""

    name: str
    summary: str
    params: Callable[[bool], P]
    """The parameters, full-size or ``--quick``."""
    run: Callable[[P], Awaitable[Figures]]
    """One measured run; starts and stops its own server."""
    timeout_s: Callable[[P], float]
    """The longest one run may take before it is abandoned."""
    headlines: tuple[Headline, ...] = ()
    floors: tuple[Floor, ...] = ()

    def describe_params(self, params: Any) -> dict[str, Any]:
        if dataclasses.is_dataclass(params) and not isinstance(params, type):
            return dataclasses.asdict(params)
        return {}

    def verdicts(self, median: Figures) -> list[dict[str, Any]]:
        """Each floor with the median figure and whether it was met."""
        return [
            {
                "path": floor.path,
                "bar": floor.describe(),
                "goal": floor.goal,
                "value": lookup(median, floor.path),
                "met": floor.met(median),
            }
            for floor in self.floors
        ]
