"""A checked sweep (bench.config.sweepfile) → the list of points to time, grouped for side-by-side timing.

Each point's settings are normalised (bench.config.settings), so two spellings of one point are one
point with one id. Points that may share a DataLoader (bench.config.point_config.loader_key) form a group and
are timed in turn. A point whose device is absent here is planned as skipped, with the reason.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.config.devices import device_absence
from bench.config.point_config import group_key, point_config
from bench.config.settings import PLUGIN_SETTINGS, Settings, normalise, point_label
from bench.config.sweepfile import (
    MAX_POINTS,
    SweepConfigError,
    SweepSpec,
    check_sweep,
    problem_list,
    read_sweep,
)
from bench.config.variants import REFERENCES
from bench.plugins.reference import absolute_reference
from bench.profiling.selection import ProfileSelection
from bench.results.ids import config_hash

DeviceJudge = Callable[[str], 'str | None']  # a device name → why it is absent here, or None

__all__ = ["PlannedPoint", "SweepConfigError", "SweepPlan", "load_sweep", "plan_sweep"]


@dataclass(frozen=True)
class PlannedPoint:
    settings: Settings
    point_id: str  # hash of the settings: the key completed points are resumed by
    group_id: str  # hash of what the points timed side by side share (bench.config.point_config.loader_key)
    skip_reason: str | None = None  # set when the device is not on this machine
    run_index: int = 0  # which of its `runs` a unit times it in (SweepPlan.pending)

    @property
    def label(self) -> str:
        return point_label(self.settings)

    def config(self):
        return point_config(self.settings)


@dataclass(frozen=True)
class SweepPlan:
    name: str
    points: list[PlannedPoint]
    references: dict = field(default_factory=lambda: dict(REFERENCES))
    description: str = ""
    duplicates: int = 0  # points the file asked for more than once (counted, run once)
    source: str = ""
    profile: ProfileSelection | None = None  # points to profile after timing, if any
    check: dict = field(default_factory=dict)  # the [check] table (bench.config.check_options)
    groups: list[list[PlannedPoint]] = field(init=False, repr=False)

    def profiled_points(self) -> list[PlannedPoint]:
        """The points the [profile] table selects that can run here."""
        if self.profile is None:
            return []
        return [p for p in self.points if p.skip_reason is None and self.profile.selects(p.settings)]

    def pending(self, done: set[tuple[str, int]]) -> list[list[PlannedPoint]]:
        """The group runs still to time, run by run: for run r of `runs`, each group's points
        whose (point id, r) is not in `done` and that are not skipped, each marked with r.

        Runs are the unit of repetition (bench.stats.combine_runs): every group's run 0, then
        every group's run 1, ..., so a group's runs are minutes apart, not back to back. Each
        run shuffles the groups' order and each group's point order (seeded by the run and the
        group, so a resumed sweep keeps them): no point always steps first, no group always
        follows the same neighbour."""
        units = []
        for r in range(max((p.settings.runs for p in self.points), default=0)):
            groups = [list(g) for g in self.groups]  # shuffled whole, then filtered: a resume keeps the order
            random.Random(f"runs:{r}").shuffle(groups)
            for group in groups:
                random.Random(f"{group[0].group_id}:{r}").shuffle(group)
                group[:] = [replace(p, run_index=r) for p in group
                            if r < p.settings.runs and (p.point_id, r) not in done and p.skip_reason is None]
            units += [g for g in groups if g]
        return units

    def judged_by(self, device_absence) -> SweepPlan:
        """This plan with each point's skip reason from `device_absence(device)`: the devices an
        executor reaches (a Ray cluster's GPUs) are not always this machine's."""
        absence = {d: device_absence(d) for d in dict.fromkeys(p.settings.device for p in self.points)}
        points = [replace(p, skip_reason=absence[p.settings.device]) for p in self.points]
        return replace(self, points=points)

    def __post_init__(self) -> None:
        by_group: dict[str, list[PlannedPoint]] = {}
        for point in self.points:
            by_group.setdefault(point.group_id, []).append(point)
        object.__setattr__(self, "groups", list(by_group.values()))


def plan_point(settings: dict, judge: DeviceJudge = device_absence) -> PlannedPoint:
    """One point: normalised settings, its id, its group, and `judge`'s reason its device is
    absent here (SettingError when it cannot run)."""
    settings = normalise(settings)
    group = group_key(point_config(settings))  # the dataclasses check what the table cannot
    return PlannedPoint(settings=settings, point_id=settings.id,
                        group_id=config_hash(group),
                        skip_reason=judge(settings.device))


def _combos(spec: SweepSpec) -> list[dict]:
    combos: list[dict] = []
    if spec.grid or not spec.points:
        axes = list(spec.grid)
        combos += [{**spec.fixed, **dict(zip(axes, values))}
                   for values in itertools.product(*(spec.grid[a] for a in axes))]
    return combos + [{**spec.fixed, **point} for point in spec.points]


def _describe(combo: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in combo.items()) or "the defaults"


def point_count(spec: SweepSpec) -> int:
    """How many points the spec asks for, counted before anything is expanded."""
    grid = math.prod(len(values) for values in spec.grid.values()) if spec.grid or not spec.points else 0
    return grid + len(spec.points)


def plan_sweep(spec: SweepSpec | dict, source: str = "<sweep>",
               data_override: str | None = None, max_points: int = MAX_POINTS,
               judge: DeviceJudge = device_absence) -> SweepPlan:
    """Every point of the spec (a SweepSpec, or a parsed TOML document, checked first), the data
    root overridden when given; SweepConfigError listing every point that cannot run and why,
    or for a sweep of more than `max_points` points (a grid typo can ask for millions)."""
    if isinstance(spec, dict):
        spec = check_sweep(spec, source)
    if (count := point_count(spec)) > max_points:
        axes = " x ".join(f"{len(v)} {k}" for k, v in spec.grid.items())
        raise SweepConfigError(
            f"{spec.source}: {count} points ({axes}{' + ' if spec.points else ''}"
            f"{len(spec.points) or ''}{' explicit' if spec.points else ''}) is more than "
            f"--max-points {max_points}: shrink the grid, or pass --max-points {count} to run it")
    problems: list[str] = []
    points: dict[str, PlannedPoint] = {}
    combos = _combos(spec)
    base = Path(spec.source).parent if Path(spec.source).is_file() else Path.cwd()
    for combo in combos:
        if data_override is not None:
            combo["data_root"] = data_override
        for name in PLUGIN_SETTINGS:  # a file path: from the sweep file's folder
            if isinstance(combo.get(name), str):
                combo[name] = absolute_reference(combo[name], base)
        try:
            planned = plan_point(combo, judge)
        except ValueError as error:
            problems.append(f"point ({_describe(combo)}): {error}")
            continue
        points.setdefault(planned.point_id, planned)
    if problems:
        problems = list(dict.fromkeys(problems))
        raise SweepConfigError(problem_list(spec.source, problems))
    return SweepPlan(name=spec.name, points=list(points.values()), references=spec.references,
                     description=spec.description, duplicates=len(combos) - len(points),
                     source=spec.source, profile=spec.profile, check=spec.check)


def load_sweep(path: str | Path, data_override: str | None = None,
               max_points: int = MAX_POINTS, judge: DeviceJudge = device_absence) -> SweepPlan:
    """A sweep file's plan; `judge` says which devices are absent (torch-free for `list`)."""
    return plan_sweep(read_sweep(path), data_override=data_override, max_points=max_points,
                      judge=judge)
