"""The one run core: a plan's points run into a results directory, resumably, a unit at a time.

    lock the store; copy the plan's file beside it
    points already stored: done; points whose device is absent: one skipped row each, once
    for each unit (a sweep's timing group, a study's run) not done:
        execute it → rows → one atomic append; count its failures; advance the progress bar
    Ctrl-C: stop, keep what is stored, say how to resume

Sweeps (bench.run.sweep) and studies (bench.study.runner) differ only in what a unit is, how it
executes, which stored rows mark a point done, and what follows the last unit; this loop, the
store, the skipped rows and the run ids are theirs in common.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench.config.plan import PlannedPoint, SweepPlan
from bench.plugins.checks import changed_plugins, check_plugins
from bench.results.outcome_rows import skipped_row
from bench.results.paths import SWEEP_COPY
from bench.results.rows import Row, SkippedRow
from bench.results.store import ResultStore, StoreWriteError
from bench.run.data_prep import stale_points
from bench.run.progress import Progress

# What executing the units yields, as each finishes: (unit index, rows to store, labels of the
# points that failed with their error).
UnitResult = tuple[int, list[Row], list[tuple[str, str]]]


@dataclass(frozen=True)
class RunKind:
    """What sets a sweep and a study apart, in words and in what marks a point done."""

    name: str  # "sweep", "study": the headline's first word
    unit: str  # what the progress bar counts: "point runs", "runs"
    planned_unit: str  # what the plan lists: "points" (each timed in `runs` runs), "runs"
    verb: str  # what is done to a point: "time", "train"
    completed: Callable[[list[Row]], set[str]]  # point ids the stored rows mark as done
    foreign: type  # a row of the other kind: its directory is not this kind's to write into


@dataclass
class RunTally:
    planned: int
    already_done: int
    done: int  # points timed or trained now
    failed: int
    skipped: int  # device absent here, or the variant does not apply to the model or data
    interrupted: bool


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _skipped_once(stored: list[Row], plan: SweepPlan, points: list[PlannedPoint]) -> list[SkippedRow]:
    """A skipped row for each point whose device is absent, unless the store already says so
    (with the same reason): a resume adds nothing it already holds."""
    said = {(r.point_id, r.reason) for r in stored if isinstance(r, SkippedRow)}
    run = {"sweep": plan.name, "run_id": new_run_id()}
    return [skipped_row(p, run) for p in points if (p.point_id, p.skip_reason) not in said]


def run_plan(plan: SweepPlan, out_dir: str | Path, kind: RunKind, *,
             units: Callable[[list[Row]], list[list[PlannedPoint]]],
             estimate: Callable[[list[PlannedPoint]], float],
             prepare: Callable[[list[PlannedPoint]], None],
             execute: Callable[[list[list[PlannedPoint]]], Iterable[UnitResult]],
             stream: TextIO, after: Callable[[ResultStore], None] | None = None,
             on_exit: Callable[[ResultStore], None] | None = None) -> RunTally:
    """Run `plan` into `out_dir` (see the module's docstring). `units(stored)` splits what the
    stored rows leave to do into units; `prepare` sees every point about to run (data, devices) before the
    first; `execute` runs the units, yielding each one's rows as it finishes; `after` runs once
    the last unit is stored (not after Ctrl-C); `on_exit` after that or after Ctrl-C, before
    the lock is released."""
    store = ResultStore(out_dir)
    with store.exclusive():
        stored = store.rows()  # read once: what is done, what was skipped, whose directory it is
        # Rows that read other data than their data set holds now count as not done (their
        # history stays in the store; the new rows are the current word).
        stale, data_warnings = stale_points(stored, plan.points)
        for warning in data_warnings:
            print(f"warning: {warning}", file=stream)
        stored = [r for r in stored if r.point_id not in stale]
        if any(isinstance(r, kind.foreign) for r in stored):
            other = "study" if kind.name == "sweep" else "sweep"
            raise StoreWriteError(f"{store.directory} holds a {other}'s results: a sweep and a study "
                                  "cannot share one --out (each keeps its file copy and report there): "
                                  f"pass another --out for this {kind.name}")
        if plan.source and Path(plan.source).is_file():
            shutil.copyfile(plan.source, store.directory / SWEEP_COPY)
        done = kind.completed(stored)
        already = sum(p.point_id in done for p in plan.points)
        skipped = [p for p in plan.points if p.skip_reason and p.point_id not in done]
        store.append(_skipped_once(stored, plan, skipped))
        for reason, count in Counter(p.skip_reason for p in skipped).items():
            print(f"skipping {count} point(s): {reason}", file=stream)
        todo = units(stored)
        for warning in changed_plugins(stored, [p.settings for p in plan.points]):
            print(f"warning: {warning}", file=stream)
        if todo:
            check_plugins([p.settings for unit in todo for p in unit])  # before data and timing
            prepare([p for unit in todo for p in unit])
        estimates = [estimate(unit) for unit in todo]
        count = sum(map(len, todo))
        print(f"{kind.name} {plan.name!r}: {len(plan.points)} {kind.planned_unit} planned, {already} already "
              f"done, {len(skipped)} skipped; {count} {kind.unit} to {kind.verb}"
              + (f" in {len(todo)} group run(s)" if count != len(todo) else "") + f" -> {store.path}",
              file=stream)
        progress = Progress(count, sum(estimates), stream=stream, unit=kind.unit)  # drawn at once
        tally = RunTally(planned=len(plan.points), already_done=already, done=0, failed=0,
                         skipped=len(skipped), interrupted=False)
        try:
            try:
                _consume(execute(todo), todo, estimates, store, progress, tally)
            finally:  # the bar ends its line before any message: a full disk's is a line of its own
                progress.close()
            if after is not None:
                after(store)
        except KeyboardInterrupt:
            tally.interrupted = True
            print(f"interrupted: {tally.done + tally.failed} {kind.unit} stored; run the same "
                  "command again to resume", file=stream)
        if on_exit is not None:
            on_exit(store)
    return tally


def _consume(results: Iterable[UnitResult], units: list[list[PlannedPoint]], estimates: list[float],
             store: ResultStore, progress: Progress, tally: RunTally) -> None:
    for index, rows, failures in results:
        store.append(rows)  # one atomic append per unit: kill -9 loses at most the unit in flight
        for label, error in failures:
            progress.write(f"error in {label}: {error}")
        unit = units[index]
        skipped = sum(isinstance(r, SkippedRow) for r in rows)  # a variant that does not apply
        tally.failed += len(failures)
        tally.skipped += skipped
        tally.done += len(unit) - len(failures) - skipped
        progress.group_done(len(unit), estimates[index], note=f"{unit[0].label}: {len(unit)} done")


def one_at_a_time(units: list[list[PlannedPoint]],
                  run_one: Callable[[PlannedPoint], tuple[list[Row], str | None]]) -> Iterator[UnitResult]:
    """`execute` for units of one point run here in turn: `run_one` gives its rows, and its error
    when it failed."""
    for index, (point,) in enumerate(units):
        rows, error = run_one(point)
        yield index, rows, [] if error is None else [(point.label, error)]
