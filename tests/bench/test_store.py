import json

import pandas as pd
import pytest

from bench.rows import SCHEMA_VERSION, SchemaVersionError, StageRow
from bench.store import ResultStore, StoreBusyError
from tests.bench.make_rows import error_row, ratio_row, skipped_row, stage_row


def _timed(point_id, run_id, stages=("forward", "step")):
    return [stage_row(point_id, run_id, stage) for stage in stages]


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
    assert store.completed_ids() == {"a"}
    with pytest.warns(UserWarning, match="torn final line"):
        store.append(_timed("b", "r2"))
    lines = store.path.read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 4


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
    assert list(frame["env.host"]) == ["h", "h"] and json.loads(frame["samples_s"][0]) == pytest.approx([0.095, 0.1, 0.105])
    assert {"layer_type", "variant", "connectivity", "config", "kind"} <= set(frame)
    assert list(pd.read_csv(ratios)["ratio_median"]) == [0.5]


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
