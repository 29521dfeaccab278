import json

import pandas as pd
import pytest

from bench.store import ResultStore, StoreBusyError


def _rows(point_id, run_id, kind="stage", stages=("forward", "step")):
    if kind != "stage":
        return [{"kind": kind, "point_id": point_id, "run_id": run_id, "status": kind}]
    return [{"kind": "stage", "status": "ok", "point_id": point_id, "run_id": run_id,
             "stage": s, "median_s": 0.1, "samples_s": [0.1, 0.1], "env": {"host": "h"}}
            for s in stages]


def test_appended_rows_read_back_in_order(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_rows("a", "r1"))
    store.append(_rows("b", "r2"))
    assert [(r["point_id"], r["stage"]) for r in store.rows()] == [
        ("a", "forward"), ("a", "step"), ("b", "forward"), ("b", "step")]
    assert store.completed_ids() == {"a", "b"}


def test_a_torn_final_line_is_not_a_row_and_is_cut_before_the_next_append(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_rows("a", "r1"))
    with open(store.path, "a") as handle:
        handle.write('{"kind": "stage", "point_id": "b", "ru')  # a write cut short by kill -9
    assert store.completed_ids() == {"a"}
    with pytest.warns(UserWarning, match="torn final line"):
        store.append(_rows("b", "r2"))
    lines = store.path.read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 4


def test_errors_and_skips_do_not_count_as_completed(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_rows("a", "r1", kind="error") + _rows("b", "r1", kind="skipped"))
    assert store.completed_ids() == set()


def test_current_rows_keep_the_latest_timing_of_each_point(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_rows("a", "r1", kind="error"))
    store.append(_rows("a", "r2"))
    store.append(_rows("a", "r3"))
    store.append(_rows("b", "r3", kind="error"))
    current = store.current_rows()
    assert {(r["point_id"], r["run_id"], r["kind"]) for r in current} == {
        ("a", "r3", "stage"), ("b", "r3", "error")}


def test_csv_export_flattens_the_environment(tmp_path):
    store = ResultStore(tmp_path)
    store.append(_rows("a", "r1") + [{"kind": "ratio", "point_id": "a", "run_id": "r1",
                                      "stage": "step", "ratio_median": 0.5}])
    results, ratios = store.export_csv()
    frame = pd.read_csv(results)
    assert list(frame["env.host"]) == ["h", "h"] and json.loads(frame["samples_s"][0]) == [0.1, 0.1]
    assert list(pd.read_csv(ratios)["ratio_median"]) == [0.5]


def test_a_second_writer_is_turned_away(tmp_path):
    store = ResultStore(tmp_path)
    with store.exclusive(), pytest.raises(StoreBusyError, match="another snn-bench sweep"):
        with ResultStore(tmp_path).exclusive():
            pass
