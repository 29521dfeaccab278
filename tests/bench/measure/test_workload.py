"""Workload metrics in a sweep: counted after timing on each trained network, stored as rows beside
the stage rows, and reported beside wall time."""

import pandas as pd
import pytest

from bench.config.plan import plan_sweep
from bench.report.load import load_results
from bench.report.render import render_report
from bench.report.workload import sparsity_against_dense, sparsity_sentences
from bench.results.rows import StageRow, WorkloadRow
from bench.results.store import ResultStore
from bench.run.sweep import run_sweep

TINY = {"num_steps": 8, "batch_size": 8, "threads": 1, "warmup_steps": 1, "measured_steps": 4, "runs": 1}


@pytest.fixture(scope="module")
def swept(tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("workload")
    plan = plan_sweep({"name": "w", "settings": {**TINY, "data_root": str(tiny_root), "workload_batches": 1},
                       "grid": {"layer_type": ["conv2d", "linear"], "variant": ["none", "exact"],
                                "connectivity": [0.1]}})
    run_sweep(plan, out)
    return out


def test_each_timed_point_gets_its_workload_row(swept):
    rows = ResultStore(swept).current_rows()
    workload = {r.point_id: r for r in rows if isinstance(r, WorkloadRow)}
    timed = {r.point_id for r in rows if isinstance(r, StageRow)}
    assert set(workload) == timed and len(timed) == 4
    for row in workload.values():
        assert row.error is None and row.samples == 8  # one test batch
        assert row.dense_synops > row.effective_macs + row.effective_acs > 0
        assert 0 <= row.activation_sparsity <= 1 and row.counting_overhead > 0
        assert row.sparse_footprint_bytes < row.footprint_bytes or row.settings.variant == "deepr:none"
        if row.settings.variant == "deepr:exact":
            assert row.connection_sparsity == pytest.approx(0.9, abs=0.01)  # DeepR keeps 10%
        else:
            assert row.connection_sparsity == 0.0


def test_workload_batches_off_counts_nothing(tiny_root, tmp_path):
    plan = plan_sweep({"name": "w", "settings": {**TINY, "data_root": str(tiny_root)}, "grid": {}})
    run_sweep(plan, tmp_path)
    assert not [r for r in ResultStore(tmp_path).rows() if isinstance(r, WorkloadRow)]


def test_the_report_sets_the_metrics_beside_the_times(swept, tmp_path):
    page = render_report(swept, tmp_path).read_text()
    assert "Workload metrics and sparsity" in page and "dense SynOps / sample" in page
    assert (tmp_path / "time_vs_sparsity.png").stat().st_size > 0
    results = load_results(swept)
    comparisons = sparsity_against_dense(results.stages)
    assert set(comparisons["stage"]) == {"forward", "backward"}
    assert set(comparisons["layer_type"]) == {"conv2d", "linear"}


def _comparison(ratio, low, high, shown=True):
    return {"layer_type": "conv2d", "config": "c", "stage": "forward", "forward": "reference",
            "deepr": "exact", "connectivity": 0.1, "ratio": ratio, "ci_low": low, "ci_high": high,
            "significant_holm": shown}


def test_the_sentence_says_whether_dense_kernels_profit_from_sparsity():
    (same,) = sparsity_sentences(pd.DataFrame([_comparison(1.01, 0.97, 1.05)]))
    assert "do not profit from DeepR's sparsity" in same and "no difference was shown" in same
    (faster,) = sparsity_sentences(pd.DataFrame([_comparison(0.5, 0.45, 0.55)]))
    assert "sparsity saved time" in faster and "2.00x" in faster
    (chance,) = sparsity_sentences(pd.DataFrame([_comparison(0.97, 0.93, 0.999, shown=False)]))
    assert "no difference was shown" in chance  # one of many comparisons, not significant after Holm
    (nothing,) = sparsity_sentences(pd.DataFrame())
    assert nothing.startswith("Nothing was shown")
