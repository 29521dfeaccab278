"""Run a study into a results directory, resumably, one run after another.

    for each run (a point and one of its seeds) not yet stored:
        train it (bench.study.train) → one StudyRunRow, or an ErrorRow when it raises
        → one atomic append to results.jsonl
    render the study report

The store is the sweeps' (bench.store): `kill -9` loses at most the run in flight, and
rerunning the command resumes; error rows are retried. Runs are never concurrent: their
training times are compared.
"""

from __future__ import annotations

import shutil
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from bench.data_prep import prepare_data
from bench.devices import device_absence
from bench.paths import SWEEP_COPY
from bench.progress import Progress
from bench.record import skipped_row
from bench.rows import ErrorRow, StudyRunRow
from bench.store import ResultStore
from bench.study.spec import Study
from bench.study.train import train_run
from bench.sweep import new_run_id

SECONDS_PER_ITERATION_GUESS = 0.3  # for the first ETA only; the bar corrects it as runs finish


@dataclass
class StudySummary:
    planned: int
    already_done: int
    trained: int
    failed: int
    skipped: int
    interrupted: bool


def completed_runs(store: ResultStore) -> set[str]:
    return {r.point_id for r in store.rows() if isinstance(r, StudyRunRow)}


def run_study(study: Study, out_dir: str | Path, stream: TextIO | None = None) -> StudySummary:
    stream = stream or sys.stderr
    plan = study.plan.judged_by(device_absence)
    store = ResultStore(out_dir)
    with store.exclusive():
        if plan.source and Path(plan.source).is_file():
            shutil.copyfile(plan.source, store.directory / SWEEP_COPY)
        done = completed_runs(store)
        skipped = [p for p in plan.points if p.skip_reason and p.point_id not in done]
        store.append([skipped_row(p, {"sweep": plan.name, "run_id": new_run_id()}) for p in skipped])
        todo = [p for p in plan.points if p.point_id not in done and p.skip_reason is None]
        if todo:
            prepare_data((p.settings["data_root"] for p in todo), stream)
        already = sum(p.point_id in done for p in plan.points)
        print(f"study {plan.name!r}: {len(plan.points)} runs planned, {already} already done, "
              f"{len(skipped)} skipped, {len(todo)} to train -> {store.path}", file=stream)
        guess = study.options.iterations * SECONDS_PER_ITERATION_GUESS
        progress = Progress(len(todo), guess * len(todo), stream=stream, unit="runs")
        trained = failed = 0
        interrupted = False
        try:
            for point in todo:
                head = {"sweep": plan.name, "run_id": new_run_id(), "point_id": point.point_id,
                        "group_id": point.group_id, "settings": point.settings}
                try:
                    row = StudyRunRow(**head, **asdict(train_run(point.config(), study.options)))
                    trained += 1
                except Exception as error:  # one run's failure must not lose the others
                    row = ErrorRow(**head, error=f"{type(error).__name__}: {error}",
                                   traceback="".join(traceback.format_exception(error)), env={})
                    progress.write(f"error in {point.label} seed {point.settings['seed']}: {row.error}")
                    failed += 1
                store.append([row])
                progress.group_done(1, guess, note=point.label)
            progress.close()
        except KeyboardInterrupt:
            progress.close()
            interrupted = True
            print(f"interrupted: {trained + failed} run(s) stored; run the same command again to resume",
                  file=stream)
    return StudySummary(planned=len(plan.points), already_done=already, trained=trained, failed=failed,
                        skipped=len(skipped), interrupted=interrupted)
