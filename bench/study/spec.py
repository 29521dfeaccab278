"""A study file (TOML) → a checked Study: a sweep file's [settings], [grid] and [[points]] (the
usual settings, learning rate, lr rule, connectivity, variant and optimiser among them, checked
as sweeps check them) plus a [study] table saying how long each run trains, how often it is
evaluated, over which seeds, and the thresholds of the verdicts.

    name = "study"
    [settings]
    variant = "pipeline:fastest"
    [grid]
    lr = [5e-4, 5e-3, 5e-2]
    connectivity = [0.1, 0.01]
    [study]
    seeds = [0, 1, 2]          # every point runs once per seed (not an axis of its own)
    iterations = 150           # and/or budget_s = 60: training wall time per run
    eval_every = 25            # test accuracy every N iterations (and at 0 and at the end)
    target_accuracy = 0.8      # for time-to-accuracy and claim (a)

Every problem in the file is reported at once, as for sweeps.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from bench.plan import SweepPlan, plan_sweep
from bench.study.analysis import SpikeRule, Thresholds
from bench.sweepfile import MAX_POINTS, SweepConfigError, problem_list


@dataclass(frozen=True)
class StudyOptions:
    """How each run of a study trains and is judged ([study] in the file)."""

    seeds: tuple[int, ...] = (0, 1, 2)
    iterations: int = 150  # training iterations per run (the most; budget_s may stop it sooner)
    budget_s: float | None = None  # training wall time per run, evaluations excluded
    eval_every: int = 25
    target_accuracy: float = 0.8
    few_batches: int = 100  # claim (a): "within a few batches", in iterations
    margin: float = 0.05  # accuracy differences below it count as "little"
    spike_k: float = 5.0
    spike_window: int = 20
    spike_min_rise: float = 0.1

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(target_accuracy=self.target_accuracy, few_batches=self.few_batches,
                          margin=self.margin,
                          spikes=SpikeRule(k=self.spike_k, window=self.spike_window,
                                           min_rise=self.spike_min_rise))


# key → (what a valid value is, check)
def _whole(least: int):
    return (f"a whole number ≥ {least}",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= least)


def _positive():
    return ("a number > 0", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0)


def _fraction():
    return ("a number in (0, 1]",
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1)


CHECKS = {
    "seeds": ("a non-empty list of distinct whole numbers",
              lambda v: isinstance(v, list) and v and len(set(v)) == len(v)
              and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in v)),
    "iterations": _whole(1), "budget_s": _positive(), "eval_every": _whole(1),
    "target_accuracy": _fraction(), "few_batches": _whole(1), "margin": _fraction(),
    "spike_k": _positive(), "spike_window": _whole(2), "spike_min_rise": _positive(),
}
assert set(CHECKS) == {f.name for f in fields(StudyOptions)}


def check_options(table: dict, problems: list[str]) -> StudyOptions:
    if not isinstance(table, dict):
        problems.append(f"[study] must be a table, got {table!r}")
        return StudyOptions()
    values = {}
    for key, value in table.items():
        if key not in CHECKS:
            problems.append(f"[study]: unknown key {key!r}; use {', '.join(CHECKS)}")
            continue
        shape, ok = CHECKS[key]
        if not ok(value):
            problems.append(f"[study].{key} must be {shape}, got {value!r}")
            continue
        values[key] = tuple(value) if key == "seeds" else value
    return StudyOptions(**values)


@dataclass(frozen=True)
class Study:
    plan: SweepPlan  # one point per run (its seed among its settings)
    options: StudyOptions


def check_study(document: dict, source: str = "<study>", data_override: str | None = None,
                max_points: int = MAX_POINTS) -> Study:
    """A parsed study file → Study; SweepConfigError listing every problem."""
    document = dict(document)
    problems: list[str] = []
    options = check_options(document.pop("study", {}), problems)
    for where, table in (("[settings]", document.get("settings", {})), ("[grid]", document.get("grid", {})),
                         *((f"[[points]] #{n}", p) for n, p in enumerate(document.get("points", []), 1))):
        if isinstance(table, dict) and "seed" in table:
            problems.append(f"{where}: seed is set by [study].seeds in a study (every point runs once "
                            "per seed): move it there")
    if "profile" in document:
        problems.append("[profile] belongs in sweep files: a study trains, it does not profile")
    if problems:
        raise SweepConfigError(problem_list(source, problems))
    seeds = list(options.seeds)
    grid, points = document.get("grid") or {}, document.get("points") or []
    if isinstance(grid, dict) and (grid or not points):  # the grid (or the defaults) per seed
        document["grid"] = {**grid, "seed": seeds}
    if isinstance(points, list) and points:  # and each explicit point per seed
        document["points"] = [{**p, "seed": s} if isinstance(p, dict) else p for p in points for s in seeds]
    plan = plan_sweep(document, data_override=data_override, max_points=max_points, source=source)
    return Study(plan=plan, options=options)


def _document(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SweepConfigError(f"{path} is not valid TOML: {error}") from error


def study_options(path: str | Path) -> StudyOptions:
    """The [study] table of a study file (a results directory keeps a copy of its file)."""
    problems: list[str] = []
    options = check_options(_document(Path(path)).get("study", {}), problems)
    if problems:
        raise SweepConfigError(problem_list(str(path), problems))
    return options


def load_study(path: str | Path, data_override: str | None = None, max_points: int = MAX_POINTS) -> Study:
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError(f"study file {path} does not exist: pass a TOML file such as "
                               "bench/configs/study.toml")
    return check_study(_document(path), source=str(path), data_override=data_override, max_points=max_points)
