"""bench.report.compare: a change between two results folders is judged across each side's runs."""

import dataclasses

import pandas as pd

from bench.measure.stages import ROW_STAGES
from bench.report.compare import compare
from bench.report.load import load_results
from bench.results.store import ResultStore
from tests.bench.make_rows import settings, stage_row

THREE_RUNS = settings(runs=3)


def _folder(path, step_medians: list[float]):
    """A results folder holding one point timed in len(step_medians) runs."""
    store = ResultStore(path)
    for r, median in enumerate(step_medians):
        store.append([dataclasses.replace(stage_row("a", f"g{r}", stage, median, point_settings=THREE_RUNS,
                                                    env={"host": "h", "data_fingerprint": "d"}), run_index=r)
                      for stage in ROW_STAGES])
    return load_results(path)


def _one(current, baseline) -> pd.Series:
    (row,) = [row for _, row in compare(current, baseline).iterrows()]
    return row


def test_a_shift_as_large_as_the_spread_between_runs_is_not_a_regression(tmp_path):
    # one run's steps say +-5%; the runs themselves differ by +-10%: a 10% change is not shown
    row = _one(_folder(tmp_path / "new", [0.110, 0.121, 0.099]), _folder(tmp_path / "old", [0.100, 0.110, 0.090]))
    assert row["ci_low"] < 1 < row["ci_high"] and "regression" not in row["flag"]
    assert row["interval"] == "Welch t across 3 and 3 runs"
    assert row["current_runs_ms"] == "110, 121, 99" and row["baseline_runs_ms"] == "100, 110, 90"


def test_a_shift_beyond_the_spread_between_runs_is_a_regression(tmp_path):
    row = _one(_folder(tmp_path / "new", [0.150, 0.151, 0.149]), _folder(tmp_path / "old", [0.100, 0.101, 0.099]))
    assert row["ci_low"] > 1 and "regression" in row["flag"]


def test_one_run_a_side_falls_back_to_the_steps_and_says_so(tmp_path):
    row = _one(_folder(tmp_path / "new", [0.150]), _folder(tmp_path / "old", [0.100]))
    assert row["interval"].endswith("(a rerun may land outside it)")
