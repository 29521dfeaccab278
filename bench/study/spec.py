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

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from bench.config.options import (
    Option,
    check_table,
    distinct_whole_numbers,
    flag,
    fraction,
    number,
    or_none,
    whole,
)
from bench.config.plan import SweepPlan, plan_sweep
from bench.config.sweepfile import MAX_POINTS, SweepConfigError, problem_list, read_document
from bench.results.ids import config_hash
from bench.results.paths import STUDY_RECORD_JSON, SWEEP_COPY
from bench.study.analysis import SpikeRule, Thresholds
from snn.files import replace_file

STUDY_OPTIONS: tuple[Option, ...] = (
    Option("seeds", tuple, (0, 1, 2), distinct_whole_numbers,
           "every point runs once per seed (the seed is not an axis of its own)"),
    Option("iterations", int, 150, whole(1),
           "training iterations per run (the most: budget_s may stop a run sooner)"),
    Option("budget_s", float, None, or_none(number(0.0, strict=True)),
           "training wall time per run in seconds, evaluations excluded; unset: no budget"),
    Option("stop_silent_after", int, 30, whole(0),
           "stop a run whose loss stayed exactly the same for this many iterations (its output "
           "neurons all stopped firing, or all fire: it scores every class alike); 0: never"),
    Option("give_up_after", int, 0, whole(0),
           "stop a run still below trained_accuracy at the first evaluation from this iteration on "
           "(it counts as never reaching the target); 0: never"),
    Option("eval_every", int, 25, whole(1),
           "test accuracy every N iterations (and at 0 and at the end)"),
    Option("target_accuracy", float, 0.8, fraction,
           "the accuracy time-to-accuracy measures, and claim (a)'s \"high accuracy\""),
    Option("few_batches", int, 100, whole(1),
           "claim (a)'s \"within a few batches\", in iterations: the early iteration its sensitivity "
           "and speed are judged at"),
    Option("margin", float, 0.05, fraction, "accuracy differences below this count as \"little\" (claim d)"),
    Option("trained_accuracy", float, 0.3, fraction,
           "a run trained when an evaluation reached this accuracy (claims b, c: a run that never "
           "left chance has no best lr and no curve to spike)"),
    Option("min_pairs", int, 5, whole(2),
           "claim (c): fewer pairs of trained runs than this cannot tell (5 is the fewest for which "
           "a one-sided signed-rank test can reach p < 0.05)"),
    Option("spike_k", float, 5.0, number(0.0, strict=True),
           "a loss spike is this many robust deviations (1.4826 x MAD) above the trailing median"),
    Option("spike_window", int, 20, whole(2), "the trailing losses a spike is measured against"),
    Option("spike_min_rise", float, 0.1, number(0.0, strict=True),
           "and at least this fraction above the trailing median"),
    Option("claims", bool, True, flag,
           "judge the user's DeepR claims (a)-(d) on these runs; false for a study of something else "
           "(study-approx.toml: the approximate variants), whose page then leaves the verdicts out"),
)


@dataclass(frozen=True)
class StudyOptions:
    """How each run of a study trains and is judged: the [study] table's values. The fields are
    STUDY_OPTIONS' names (a test holds them together); defaults, checks and help live there."""

    seeds: tuple[int, ...]
    iterations: int
    budget_s: float | None
    stop_silent_after: int
    give_up_after: int
    eval_every: int
    target_accuracy: float
    few_batches: int
    margin: float
    trained_accuracy: float
    min_pairs: int
    spike_k: float
    spike_window: int
    spike_min_rise: float
    claims: bool

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(target_accuracy=self.target_accuracy, few_batches=self.few_batches,
                          margin=self.margin, trained_accuracy=self.trained_accuracy,
                          min_pairs=self.min_pairs,
                          spikes=SpikeRule(k=self.spike_k, window=self.spike_window,
                                           min_rise=self.spike_min_rise))


def check_options(table: dict, problems: list[str]) -> StudyOptions:
    """The [study] table's options, defaults filled in; each problem appended to `problems`."""
    return StudyOptions(**check_table("[study]", table, STUDY_OPTIONS, problems))


def default_options() -> StudyOptions:
    """A study's options when its [study] table sets nothing."""
    return check_options({}, [])


@dataclass(frozen=True)
class Study:
    plan: SweepPlan  # one point per run (its seed among its settings)
    options: StudyOptions


def check_study(document: dict, source: str = "<study>", data_override: str | None = None,
                max_points: int = MAX_POINTS) -> Study:
    """A parsed study file → Study; SweepConfigError listing every problem."""
    document = dict(document)
    problems: list[str] = []
    if "study" not in document:
        problems.append("there is no [study] table, so nothing says how long each run trains: add one "
                        "(every key has a default, so an empty [study] trains "
                        f"{check_options({}, []).iterations} iterations over seeds "
                        f"{list(check_options({}, []).seeds)}), or pass the options as flags")
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
    plan = dataclasses.replace(plan, points=[dataclasses.replace(p, point_id=run_key(p.settings, options))
                                             for p in plan.points])
    return Study(plan=plan, options=options)


# they change what a run trains and records (trained_accuracy only through give_up_after)
TRAINING_OPTIONS = ("iterations", "budget_s", "stop_silent_after", "give_up_after", "trained_accuracy",
                    "eval_every")


def run_key(settings, options: StudyOptions) -> str:
    """A run's id: its settings and the options that change its training, hashed. A run stored
    under other iterations, budget, stopping rules or evaluation interval is another run, never
    reused."""
    training = {name: getattr(options, name) for name in TRAINING_OPTIONS}
    if not options.give_up_after:
        del training["trained_accuracy"]  # then only a threshold of the verdicts
    return config_hash({**settings.as_dict(), "study": training})


@dataclass(frozen=True)
class StudyRecord:
    """What a study's results were trained for: its options (file and flags) and the ids of the
    runs its file asks for now. Written beside the results; the report judges by it."""

    options: StudyOptions
    runs: tuple[str, ...]


def write_record(study: Study, results_dir: str | Path) -> None:
    path = Path(results_dir) / STUDY_RECORD_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps({"options": dataclasses.asdict(study.options),
                                   "runs": [p.point_id for p in study.plan.points]}, indent=2))


def stored_record(results_dir: str | Path) -> StudyRecord:
    """The record beside a study's results; without it (results from before it was recorded, or
    a record deleted) the file copy's [study] options and no run list: the report then judges the
    stored runs those options trained (`run_key`), never runs of other options pooled with them."""
    results_dir = Path(results_dir)
    recorded = results_dir / STUDY_RECORD_JSON
    if recorded.is_file():
        try:
            data = json.loads(recorded.read_text())
            table, runs, where = data["options"], tuple(data["runs"]), recorded
        except (ValueError, KeyError, TypeError) as error:  # cut short, or not a record
            raise SweepConfigError(f"{recorded} is damaged ({type(error).__name__}: {error}): delete it and "
                                   "the report judges the runs its file copy's [study] options trained, or "
                                   "rerun the study file with the same --out to write it again") from None
    else:
        table, runs, where = read_document(results_dir / SWEEP_COPY).get("study", {}), None, results_dir / SWEEP_COPY
    problems: list[str] = []
    options = check_options(table, problems)
    if problems:
        raise SweepConfigError(problem_list(str(where), problems))
    return StudyRecord(options=options, runs=runs)


def load_study(path: str | Path, data_override: str | None = None, max_points: int = MAX_POINTS,
               overrides: dict | None = None) -> Study:
    """A study file's Study; `overrides`: [study] options given as flags, over the file's."""
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError(f"study file {path} does not exist: pass a TOML file such as "
                               "bench/configs/study.toml")
    document = read_document(path)
    if overrides:
        table = document.get("study", {})
        document["study"] = {**(table if isinstance(table, dict) else {}), **overrides}
    return check_study(document, source=str(path), data_override=data_override, max_points=max_points)
