"""Run a planned sweep into a results directory, resumably.

    for each group of points not yet timed (points that differ only in variant/connectivity):
        time them side by side (the executor) → rows → one atomic append to results.jsonl
    export results.csv and ratios.csv

Points already in the store (by point id) are skipped, so rerunning the same command after a
crash, a Ctrl-C or a `kill -9` picks up where it stopped. Errors are rows, not exits.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench.env import busy_warning, oversubscription_warning
from bench.executors import Executor, InProcessExecutor
from bench.paths import PROFILE_ERROR, PROFILE_SUMMARY, SWEEP_COPY, profile_dir
from bench.plan import PlannedPoint, SweepPlan
from bench.progress import Progress, estimate_group_seconds
from bench.record import group_rows, skipped_row, unpaired_ratio_rows
from bench.store import ResultStore


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


def pending_groups(plan: SweepPlan, done: set[str]) -> list[list[PlannedPoint]]:
    groups = [[p for p in g if p.point_id not in done and p.skip_reason is None] for g in plan.groups]
    return [g for g in groups if g]


def run_sweep(plan: SweepPlan, out_dir: str | Path, executor: Executor | None = None,
              stream: TextIO | None = None) -> SweepSummary:
    stream = stream or sys.stderr  # looked up per call: a caller may have replaced sys.stderr
    executor = executor or InProcessExecutor()
    plan = plan.judged_by(executor.device_absence)  # which devices it reaches: Ray's GPUs, say
    store = ResultStore(out_dir)
    with store.exclusive():
        if plan.source and Path(plan.source).is_file():
            shutil.copyfile(plan.source, store.directory / SWEEP_COPY)
        done = store.completed_ids()
        already = sum(p.point_id in done for p in plan.points)
        skipped = [p for p in plan.points if p.skip_reason and p.point_id not in done]
        store.append([skipped_row(p, {"sweep": plan.name, "run_id": new_run_id()}) for p in skipped])
        for reason, count in Counter(p.skip_reason for p in skipped).items():
            print(f"skipping {count} point(s): {reason}", file=stream)
        groups = pending_groups(plan, done)
        if groups:
            executor.prepare([p for g in groups for p in g], stream)
        if warning := busy_warning():
            print(f"warning: {warning}", file=stream)
        crowded = Counter((p.settings["threads"], p.settings["num_workers"]) for g in groups for p in g)
        for (threads, workers), count in crowded.items():
            if warning := oversubscription_warning(threads, workers):
                print(f"warning: {count} point(s): {warning}", file=stream)
        estimates = [estimate_group_seconds([p.settings for p in g]) for g in groups]
        to_time = sum(map(len, groups))
        print(f"sweep {plan.name!r}: {len(plan.points)} points planned, {already} already done, "
              f"{len(skipped)} skipped, {to_time} to time in {len(groups)} group(s) -> "
              f"{store.path}", file=stream)
        progress = Progress(to_time, sum(estimates), stream=stream)  # draws its bar at once
        timed = failed = 0
        interrupted = False
        try:
            for index, outcomes in executor.run(groups):
                group = groups[index]
                run = {"sweep": plan.name, "run_id": new_run_id(), "group_wall_s": _group_wall_s(outcomes)}
                rows, failures = group_rows(group, outcomes, plan.references, run)
                store.append(rows)
                for point, failure in failures:
                    progress.write(f"error in {point.label}: {failure.error}")
                failed += len(failures)
                timed += len(group) - len(failures)
                progress.group_done(len(group), estimates[index],
                                    note=f"{group[0].label}: {len(group)} point(s) done")
            progress.close()
            store.append(unpaired_ratio_rows(store.current_rows(), plan.references, plan.name))
            profiled, profile_failed = profile_selected(plan, store.directory, stream, executor)
        except KeyboardInterrupt:
            progress.close()
            interrupted = True
            profiled = profile_failed = 0
            print(f"interrupted: {timed + failed} point(s) stored; run the same command again to "
                  "resume", file=stream)
        results_csv, ratios_csv = store.export_csv()
    return SweepSummary(planned=len(plan.points), already_done=already, timed=timed, failed=failed,
                        skipped=len(skipped), interrupted=interrupted, results_csv=results_csv,
                        ratios_csv=ratios_csv, profiled=profiled, profile_failed=profile_failed)


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
    """The group's own wall time, stamped where it ran (bench.executors.timed_group)."""
    env = next((o.environment for o in outcomes if "group_finished_unix" in o.environment), None)
    return None if env is None else round(env["group_finished_unix"] - env["group_started_unix"], 3)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
