"""Run a study into a results directory, resumably, one run after another.

    for each run (a point and one of its seeds) not yet stored:
        train it (bench.study.train) → one StudyRunRow, or an ErrorRow when it raises
        → one atomic append to results.jsonl
    render the study report

The store is the sweeps' (bench.results.store): `kill -9` loses at most the run in flight, and
rerunning the command resumes; error rows are retried. Runs are never concurrent: their
training times are compared.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from bench.config.devices import device_absence
from bench.config.plan import PlannedPoint
from bench.results.rows import ErrorRow, Row, StageRow, StudyRunRow
from bench.run.core import RunKind, new_run_id, one_at_a_time, run_plan
from bench.run.data_prep import prepare_data
from bench.study.spec import Study, write_record
from bench.study.train import train_run

SECONDS_PER_ITERATION_GUESS = 0.3  # for the first ETA only; the bar corrects it as runs finish


@dataclass
class StudySummary:
    planned: int
    already_done: int
    trained: int
    failed: int
    skipped: int
    interrupted: bool


def trained_points(rows: list[Row]) -> set[str]:
    return {r.point_id for r in rows if isinstance(r, StudyRunRow)}


STUDY = RunKind(name="study", unit="runs", planned_unit="runs", verb="train", completed=trained_points, foreign=StageRow)


def run_study(study: Study, out_dir: str | Path, stream: TextIO | None = None) -> StudySummary:
    stream = stream or sys.stderr
    plan = study.plan.judged_by(device_absence)

    def train_one(point: PlannedPoint) -> tuple[list[Row], str | None]:
        head = {"sweep": plan.name, "run_id": new_run_id(), "point_id": point.point_id,
                "group_id": point.group_id, "settings": point.settings}
        try:
            return [StudyRunRow(**head, **asdict(train_run(point.config(), study.options)))], None
        except Exception as error:  # one run's failure must not lose the others
            row = ErrorRow(**head, error=f"{type(error).__name__}: {error}",
                           traceback="".join(traceback.format_exception(error)), env={})
            return [row], row.error

    def untrained(stored: list[Row]) -> list[list[PlannedPoint]]:
        done = trained_points(stored)
        return [[p] for p in plan.points if p.point_id not in done and p.skip_reason is None]

    write_record(study, out_dir)  # what the report judges by: the options, and only these runs
    guess = study.options.iterations * SECONDS_PER_ITERATION_GUESS
    tally = run_plan(plan, out_dir, STUDY,
                     units=untrained,
                     estimate=lambda run: guess,
                     prepare=lambda runs: prepare_data((p.settings for p in runs), stream),
                     execute=lambda units: one_at_a_time(units, train_one), stream=stream)
    return StudySummary(planned=tally.planned, already_done=tally.already_done, trained=tally.done,
                        failed=tally.failed, skipped=tally.skipped, interrupted=tally.interrupted)
