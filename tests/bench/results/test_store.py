import dataclasses
import json

import pandas as pd
import pytest

from bench.measure.stages import ROW_STAGES
from bench.results.rows import SCHEMA_VERSION, SchemaVersionError, StageRow
from bench.results.store import ResultStore, StoreBusyError, StoreWriteError, completed_runs
from tests.bench.make_rows import SPREAD, error_row, ratio_row, settings, skipped_row, stage_row

ONE_RUN = settings(runs=1)  # a point timed in one run: complete once that run is stored


def _timed(point_id, run_id, stages=ROW_STAGES):
    return [stage_row(point_id, run_id, stage, point_settings=ONE_RUN) for stage in stages]


def test_appended_rows_read_back_in_order_as_the_same_types(tmp_path):
    store = ResultStore(tmp_path)
    written = _timed("a", "r1") + _timed("b", "r2")
    store.append(written[:2])
    store.append(written[2:])
    assert store.rows() == written
    assert all(isinstance(r, StageRow) for r in store.rows())
    assert store.completed_ids() == {"a", "b"}


def test_a_torn_final_line_is_not_a_row_and_is_cut_before_the_next_append(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1"))
    with open(store.path, "a") as handle:
        handle.write('{"kind": "stage", "point_id": "b", "ru')  # a write cut short by kill -9
    with pytest.warns(UserWarning, match=r"a torn final line \(\d+ bytes, line \d+\) .* run the same sweep again"):
        assert store.completed_ids() == {"a"}  # read, and said: never dropped silently
    with pytest.warns(UserWarning, match="torn final line"):
        store.append(_timed("b", "r2"))
    lines = store.path.read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 2 * len(ROW_STAGES)


def test_errors_and_skips_do_not_count_as_completed(tmp_path):
    store = ResultStore(tmp_path)
    store.append([error_row("a", "r1"), skipped_row("b", "r1")])
    assert store.completed_ids() == set()


def test_current_rows_keep_the_latest_timing_of_each_point(tmp_path):
    store = ResultStore(tmp_path)
    store.append([error_row("a", "r1")])
    store.append(_timed("a", "r2"))
    store.append(_timed("a", "r3"))
    store.append([error_row("b", "r3")])
    current = store.current_rows()
    assert {(r.point_id, r.run_id, r.KIND) for r in current} == {
        ("a", "r3", "stage"), ("b", "r3", "error")}


def test_a_ratio_is_current_only_while_both_of_its_runs_are(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1") + _timed("ref", "r0"))
    store.append([ratio_row("a", "r1", reference_point_id="ref", reference_run_id="r0", paired=False)])
    assert sum(r.KIND == "ratio" for r in store.current_rows()) == 1
    store.append(_timed("ref", "r5"))  # the reference was timed again: the old ratio is stale
    assert sum(r.KIND == "ratio" for r in store.current_rows()) == 0


def test_csv_export_flattens_settings_and_environment(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1") + [ratio_row("a", "r1", reference_point_id="a")])
    results, ratios = store.export_csv()
    frame = pd.read_csv(results)
    assert set(frame["env.host"]) == {"h"} and json.loads(frame["samples_s"][0]) == pytest.approx([0.1 * f for f in SPREAD])
    assert {"layer_type", "variant", "connectivity", "config", "kind"} <= set(frame)
    # the figure across runs first (run_index empty; one run: its own), then each run's
    exported = pd.read_csv(ratios)
    assert list(exported["ratio_median"]) == [0.5, 0.5] and list(exported["run_index"].isna()) == [True, False]


def test_a_store_of_another_schema_version_is_refused_naming_both(tmp_path):
    store = ResultStore(tmp_path)
    old = {**stage_row().to_dict(), "schema": 1}
    store.path.write_text(json.dumps(old) + "\n")
    with pytest.raises(SchemaVersionError, match=f"schema version 1, and this snn-bench reads version {SCHEMA_VERSION}"):
        store.rows()


def test_a_second_writer_is_turned_away(tmp_path):
    store = ResultStore(tmp_path)
    with store.exclusive(), pytest.raises(StoreBusyError, match="another snn-bench sweep"):
        with ResultStore(tmp_path).exclusive():
            pass


def test_a_point_missing_any_stage_row_is_not_done_and_runs_again(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1") + _timed("b", "r1", stages=ROW_STAGES[:-1]))
    assert store.completed_ids() == {"a"}
    assert {r.point_id for r in store.current_rows()} == {"a"}


def test_a_garbage_line_is_reported_by_number_and_its_point_runs_again(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1"))
    lines = store.path.read_text().splitlines(keepends=True)
    lines[2] = "this is not a row\n"
    store.path.write_text("".join(lines))
    with pytest.warns(UserWarning, match="unreadable line.s. 3;"):
        assert store.completed_ids() == set()


@pytest.mark.parametrize("cut", [0, 1, 100, 1000, -1])
def test_a_write_cut_short_keeps_nothing_of_the_group_and_a_resume_stores_it_once(tmp_path, monkeypatch, cut):
    import os

    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1"))
    before = store.path.read_bytes()
    real_write = os.write

    def short_write(fd, data):  # a full disk: the kernel takes only part of the group
        return real_write(fd, data[:cut if cut >= 0 else len(data) - 1])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(StoreWriteError, match="none of them were kept"):
        store.append(_timed("b", "r2") + _timed("c", "r2"))
    assert store.path.read_bytes() == before
    monkeypatch.setattr(os, "write", real_write)
    store.append(_timed("b", "r3") + _timed("c", "r3"))  # the resume
    rows = store.rows()
    assert {r.point_id for r in rows} == {"a", "b", "c"}
    assert len(rows) == 3 * len(ROW_STAGES)  # each point exactly once, none partial


def test_an_unwritable_results_folder_is_a_user_error_before_anything_is_timed(tmp_path, monkeypatch):
    import builtins
    import os

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(StoreWriteError, match="pass a writable --out"):
        ResultStore(tmp_path).append(_timed("a", "r1"))
    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(StoreWriteError, match="pass a writable --out"):
        with ResultStore(tmp_path / "new").exclusive():
            pass


def _run(point_id, run_id, run_index, runs=3):
    return [dataclasses.replace(r, run_index=run_index) for r in
            [stage_row(point_id, run_id, stage, point_settings=settings(runs=runs)) for stage in ROW_STAGES]]


def test_a_point_is_done_when_every_one_of_its_runs_is(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_run("a", "g0", 0) + _run("a", "g1", 1))
    assert store.completed_ids() == set()
    assert completed_runs(store.rows()) == {("a", 0), ("a", 1)}  # a resume times run 2 alone
    store.append(_run("a", "g2", 2))
    assert store.completed_ids() == {"a"}


def test_a_disturbed_run_is_timed_again_by_a_resume_unless_reruns_are_off(tmp_path):
    busy = {"disturbed": "other processes used 40% of the 2 core(s)"}

    def run(point_id, run_id, reruns, env):
        return [dataclasses.replace(r, run_index=0) for r in
                [stage_row(point_id, run_id, stage, env=env,
                           point_settings=settings(runs=1, disturbed_reruns=reruns)) for stage in ROW_STAGES]]

    store = ResultStore(tmp_path)
    store.append(run("a", "g0", 2, busy) + run("off", "g0", 0, busy))
    assert completed_runs(store.rows()) == {("off", 0)}  # "a" is timed again; "off" asked for no rerun
    store.append(run("a", "g1", 2, {"disturbed": ""}))  # the resume, on a quiet machine
    assert store.completed_ids() == {"a", "off"}
    assert {r.run_id for r in store.current_rows() if r.point_id == "a"} == {"g1"}


def test_current_rows_keep_every_run_and_a_failed_runs_error(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_run("a", "g0", 0) + _run("a", "g1", 1))
    store.append([dataclasses.replace(error_row("a", "g2", point_settings=_run("a", "g2", 2)[0].settings), run_index=2)])
    current = store.current_rows()
    assert {(r.run_index, r.KIND) for r in current} == {(0, "stage"), (1, "stage"), (2, "error")}
    store.append(_run("a", "g3", 2))  # the resume timed run 2: its error is history
    assert {(r.run_index, r.run_id) for r in store.current_rows()} == {(0, "g0"), (1, "g1"), (2, "g3")}


def test_csv_export_holds_the_figures_across_runs_and_each_runs(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_run("a", "g0", 0) + _run("a", "g1", 1) + _run("a", "g2", 2))
    results, _ = store.export_csv()
    steps = pd.read_csv(results).query("stage == 'step'")
    assert sorted(steps["run_index"].fillna(-1)) == [-1, 0, 1, 2]  # empty: across runs
    assert steps[steps["run_index"].isna()]["interval"].item() == "t across 3 runs"


def test_a_torn_final_line_is_said_once_by_the_report_command(tmp_path):
    import subprocess
    import sys

    store = ResultStore(tmp_path)
    store.append(_timed("a", "r1"))
    with open(store.path, "a") as handle:
        handle.write('{"kind": "stage", "point_id": "b", "ru')  # a write cut short by kill -9
    # in a process of its own: pytest records warnings instead of letting them print
    done = subprocess.run([sys.executable, "-m", "bench", "report", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("snn-bench: warning: ") and "a torn final line" in lines[0]
