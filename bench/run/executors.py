"""Where groups of points run. The sweep runner asks an executor four things: which devices it
cannot reach, to make the data ready, to time groups (yielding each group's outcomes as it
finishes) and to profile a point. This process runs them here, one after another; the Ray
executor (bench.run.ray_executor) runs each as a task on a cluster. The runner and the store are the
same for both, so a sweep started with one resumes with the other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bench.config.devices import device_absence
from bench.measure.group import run_group
from bench.measure.point import PointFailure, PointResult, PointSkipped
from bench.profiling.run import profile_point
from bench.run.data_prep import prepare_data

if TYPE_CHECKING:
    from bench.config.plan import PlannedPoint
    from bench.profiling.options import ProfileOptions
    from bench.results.rows import ProfileSummary

Outcome = PointResult | PointFailure | PointSkipped


class Executor(Protocol):
    def device_absence(self, device: str) -> str | None:
        """Why points on `device` cannot run where this executor runs them, or None."""
        ...

    def prepare(self, points: list[PlannedPoint], stream: TextIO) -> None:
        """Make the points' data ready before timing (or leave it to each group, where it runs)."""
        ...

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        """Yield (index into `groups`, one outcome per point) as each group completes."""
        ...

    def profile(self, point: PlannedPoint, target: Path, options: ProfileOptions) -> ProfileSummary:
        """Profile one point into the folder `target` on this machine."""
        ...


def timed_group(points: list[PlannedPoint], **environment) -> list[Outcome]:
    """run_group on the points' configs, built where it runs; each outcome's environment gains
    when the group started and finished (its wall time beside the executor's) and `environment`."""
    started = time.time()
    outcomes = run_group([p.config() for p in points])
    stamps = {"group_started_unix": started, "group_finished_unix": time.time(), **environment}
    for outcome in outcomes:
        outcome.environment.update(stamps)
    return outcomes


class InProcessExecutor:
    """Groups one after another in this process: nothing else competes for the cores."""

    def device_absence(self, device: str) -> str | None:
        return device_absence(device)

    def prepare(self, points: list[PlannedPoint], stream: TextIO) -> None:
        prepare_data((p.settings for p in points), stream)

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        for index, points in enumerate(groups):
            yield index, timed_group(points)

    def profile(self, point: PlannedPoint, target: Path, options: ProfileOptions) -> ProfileSummary:
        return profile_point(point.settings, target, options)
