"""Where groups of points run. The sweep runner only needs `run(groups)`, yielding each group's
outcomes as it finishes, so an executor that farms groups out to other processes or machines
(a Ray executor is planned) slots in without touching the runner or the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from bench.interleave import run_group
from bench.point import PointConfig, PointFailure, PointResult

Outcome = PointResult | PointFailure


class Executor(Protocol):
    def run(self, groups: list[list[PointConfig]]) -> Iterator[tuple[int, list[Outcome]]]:
        """Yield (index into `groups`, one outcome per config) as each group completes."""
        ...


class InProcessExecutor:
    """Groups one after another in this process: nothing else competes for the cores."""

    def run(self, groups: list[list[PointConfig]]) -> Iterator[tuple[int, list[Outcome]]]:
        for index, configs in enumerate(groups):
            yield index, run_group(configs)
