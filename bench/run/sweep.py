"""Run a planned sweep into a results directory, resumably, on the run core (bench.run.core).

    for each group of points not yet timed (points that differ only in variant/connectivity):
        time them side by side (the executor) → rows → one atomic append to results.jsonl
    then: unpaired ratios, the [profile] table's profiles; export results.csv and ratios.csv

Points already in the store (by point id) are skipped, so rerunning the same command after a
crash, a Ctrl-C or a `kill -9` picks up where it stopped. Errors are rows, not exits.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench.config.plan import PlannedPoint, SweepPlan
from bench.measure.environment import busy_warning, oversubscription_warning
from bench.measure.point import PointSkipped
from bench.results.outcome_rows import group_rows, unpaired_ratio_rows
from bench.results.paths import PROFILE_ERROR, PROFILE_SUMMARY, profile_dir
from bench.results.rows import StudyRunRow
from bench.results.store import ResultStore, completed_points, completed_runs
from bench.run.core import RunKind, new_run_id, run_plan
from bench.run.executors import Executor, InProcessExecutor
from bench.run.progress import estimate_group_seconds


@dataclass
class SweepSummary:
    planned: int
    already_done: int
    timed: int
    failed: int
    skipped: int
    interrupted: bool
    results_csv: Path
    ratios_csv: Path
    profiled: int = 0
    profile_failed: int = 0


SWEEP = RunKind(name="sweep", unit="point runs", planned_unit="points", verb="time", completed=completed_points,
                foreign=StudyRunRow)


def run_sweep(plan: SweepPlan, out_dir: str | Path, executor: Executor | None = None,
              stream: TextIO | None = None) -> SweepSummary:
    stream = stream or sys.stderr  # looked up per call: a caller may have replaced sys.stderr
    executor = executor or InProcessExecutor()
    plan = plan.judged_by(executor.device_absence)  # which devices it reaches: Ray's GPUs, say
    profiles = [0, 0]  # (profiled, failed), once every group is stored
    csvs: list[Path] = []

    def prepare(points: list[PlannedPoint]) -> None:
        executor.prepare(points, stream)
        if warning := busy_warning():
            print(f"warning: {warning}", file=stream)
        crowded = Counter((p.settings.threads, p.settings.num_workers) for p in points)
        for (threads, workers), count in crowded.items():
            if warning := oversubscription_warning(threads, workers):
                print(f"warning: {count} point(s): {warning}", file=stream)

    def execute(groups: list[list[PlannedPoint]]):
        for index, outcomes in executor.run(groups):
            outcomes = rerun_disturbed(groups[index], outcomes, executor, stream)
            run = {"sweep": plan.name, "run_id": new_run_id(), "group_wall_s": _group_wall_s(outcomes)}
            rows, failures = group_rows(groups[index], outcomes, plan.references, run)
            for point, outcome in zip(groups[index], outcomes):
                if isinstance(outcome, PointSkipped):
                    print(f"skipped {point.label}: {outcome.reason}", file=stream)
            yield index, rows, [(point.label, failure.error) for point, failure in failures]

    def after(store: ResultStore) -> None:
        store.append(unpaired_ratio_rows(store.current_rows(), plan.references, plan.name))
        profiles[:] = profile_selected(plan, store.directory, stream, executor)

    tally = run_plan(plan, out_dir, SWEEP, units=lambda stored: plan.pending(completed_runs(stored)),
                     prepare=prepare, execute=execute,
                     estimate=lambda group: estimate_group_seconds([p.settings for p in group]),
                     stream=stream, after=after, on_exit=lambda store: csvs.extend(store.export_csv()))
    return SweepSummary(planned=tally.planned, already_done=tally.already_done, timed=tally.done,
                        failed=tally.failed, skipped=tally.skipped, interrupted=tally.interrupted,
                        results_csv=csvs[0], ratios_csv=csvs[1], profiled=profiles[0],
                        profile_failed=profiles[1])


def _disturbed(outcomes) -> str:
    """Why the machine disturbed this group run (bench.measure.interference), or ""."""
    return next((o.environment["disturbed"] for o in outcomes if o.environment.get("disturbed")), "")


def rerun_disturbed(points: list[PlannedPoint], outcomes: list, executor: Executor, stream: TextIO) -> list:
    """The group run timed again while the machine disturbed it, at most `disturbed_reruns`
    times (each in a fresh run of the executor); the last attempt's outcomes, with each earlier
    attempt's reasons and evidence in env["disturbed_attempts"]."""
    limit = max(p.settings.disturbed_reruns for p in points)
    attempts = []
    while (why := _disturbed(outcomes)) and len(attempts) < limit:
        attempts.append({"disturbed": why, "interference": next(
            o.environment.get("interference") for o in outcomes if o.environment.get("disturbed"))})
        print(f"timing {points[0].label} (run {points[0].run_index}) again, {len(attempts)} of at most "
              f"{limit}: the machine disturbed it: {why}", file=stream)
        ((_, outcomes),) = list(executor.run([points]))
    if attempts:
        for outcome in outcomes:
            outcome.environment["disturbed_attempts"] = attempts
        if why := _disturbed(outcomes):
            print(f"warning: {points[0].label} (run {points[0].run_index}) stayed disturbed after "
                  f"{limit} rerun(s): it is stored, kept out of the answers, and timed again when the "
                  f"sweep is resumed; run it on a quiet machine ({why})", file=stream)
    return outcomes


def profile_selected(plan: SweepPlan, directory: Path, stream: TextIO,
                     executor: Executor) -> tuple[int, int]:
    """Profile the points the sweep's [profile] table selects, after all timing is done, into
    DIR/profiles/<point id>/. Points profiled before are kept; a failure is written beside them
    as error.txt and the others go on. Returns (profiled, failed)."""
    profiled = failed = 0
    for point in plan.profiled_points():
        target = profile_dir(directory, point.point_id)
        if (target / PROFILE_SUMMARY).exists():
            continue
        print(f"profiling {point.label} -> {target}", file=stream)
        try:
            summary = executor.profile(point, target, plan.profile.options)
        except Exception as error:  # one point's failure must not lose the others
            failed += 1
            target.mkdir(parents=True, exist_ok=True)
            (target / PROFILE_ERROR).write_text("".join(traceback.format_exception(error)))
            print(f"profiling failed for {point.label}: {type(error).__name__}: {error}", file=stream)
            continue
        (target / PROFILE_ERROR).unlink(missing_ok=True)
        profiled += 1
        print(f"  line_profiler x{summary.line_overhead:.2f}, torch.profiler "
              f"x{summary.trace_overhead:.2f} the unprofiled step time", file=stream)
    return profiled, failed


def _group_wall_s(outcomes) -> float | None:
    """The group's own wall time, stamped where it ran (bench.run.executors.timed_group)."""
    env = next((o.environment for o in outcomes if "group_finished_unix" in o.environment), None)
    return None if env is None else round(env["group_finished_unix"] - env["group_started_unix"], 3)
