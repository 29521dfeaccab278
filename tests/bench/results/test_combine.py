"""The figures across a point's runs (bench.results.combine), from rows made as the store makes them."""

import dataclasses

import numpy as np
import pytest

from bench.results.combine import combined_rows, likely_cause
from bench.stats import INTERVAL_STEPS
from tests.bench.make_rows import ratio_row, timed_rows


def _runs(point_id: str, steps: list[float], env=None) -> list:
    """Every stage row of `point_id` in one run per step median, run r in group run "g<r>"."""
    rows = []
    for r, step in enumerate(steps):
        rows += [dataclasses.replace(row, run_index=r, run_id=f"g{r}", env=(env or [{}] * len(steps))[r] | {"host": "h"})
                 for row in timed_rows(point_id, f"g{r}", step)]
    return rows


def _ratios(ratios: list[float], cis=None) -> list:
    cis = cis or [(m * 0.97, m * 1.03) for m in ratios]
    return [dataclasses.replace(ratio_row("a", f"g{r}", ratio=m, ci=ci, reference_point_id="ref"), run_index=r)
            for r, (m, ci) in enumerate(zip(ratios, cis))]


def _combined(rows, kind):
    return [r for r in combined_rows(rows) if r.KIND == kind]


def test_a_stage_across_runs_is_the_geometric_mean_of_its_runs_medians_with_a_t_interval():
    rows = _runs("a", [0.10, 0.11, 0.12])
    (step,) = [r for r in _combined(rows, "stage") if r.stage == "step"]
    assert step.run_index is None and step.run_id == "g0+g1+g2"
    assert step.median_s == pytest.approx(np.exp(np.log([0.10, 0.11, 0.12]).mean()))
    assert step.ci_low_s < 0.10 and step.ci_high_s > 0.12
    assert step.run_medians_s == [0.10, 0.11, 0.12] and step.interval == "t across 3 runs"
    assert step.n == 3 * 7 and len(step.samples_s) == 21  # every run's steps, pooled
    forward = next(r for r in _combined(rows, "stage") if r.stage == "forward")
    assert forward.share_of_step == pytest.approx(forward.median_s / step.median_s)


def test_one_run_keeps_its_own_figures_marked_as_over_its_steps():
    rows = _runs("a", [0.10])
    (step,) = [r for r in _combined(rows, "stage") if r.stage == "step"]
    (own,) = [r for r in rows if r.stage == "step"]
    assert (step.median_s, step.ci_low_s, step.ci_high_s) == (0.10, own.ci_low_s, own.ci_high_s)
    assert step.interval == INTERVAL_STEPS


def test_a_ratio_across_runs_lists_each_runs_ratio_beside_the_combined_interval():
    rows = _runs("a", [0.05, 0.05, 0.05]) + _runs("ref", [0.1, 0.1, 0.1]) + _ratios([0.50, 0.52, 0.51])
    (ratio,) = _combined(rows, "ratio")
    assert ratio.run_ratios == [0.50, 0.52, 0.51] and ratio.interval == "t across 3 runs"
    assert ratio.ratio_ci_low < 0.50 and ratio.ratio_ci_high > 0.52 and ratio.significant
    assert ratio.run_id == "g0+g1+g2" and ratio.reference_run_id == "g0+g1+g2"  # the combined stage rows'
    assert ratio.unstable_runs == ""


def test_runs_that_disagree_beyond_their_own_intervals_are_flagged_with_the_likely_cause():
    envs = [{"load_avg_1m_before": 0.1, "load_avg_1m_after": 0.2},
            {"load_avg_1m_before": 1.9, "load_avg_1m_after": 2.0},
            {"load_avg_1m_before": 0.1, "load_avg_1m_after": 0.1}]
    rows = (_runs("a", [0.05, 0.09, 0.05], envs) + _runs("ref", [0.1, 0.1, 0.1])
            + _ratios([0.50, 0.90, 0.51], [(0.49, 0.51), (0.88, 0.92), (0.50, 0.52)]))
    (ratio,) = _combined(rows, "ratio")
    assert ratio.unstable_runs.startswith("unstable across runs")
    assert "load average ranged 0.1-2.0" in ratio.unstable_runs


def test_likely_causes_name_hosts_load_and_clock_or_say_none_was_recorded():
    assert "different hosts (a, b)" in likely_cause([{"host": "a"}, {"host": "b"}])
    assert "CPU clock ranged 2000-2600 MHz" in likely_cause([{"cpu_mhz": 2600.0}, {"cpu_mhz": 2000.0}])
    assert likely_cause([{"host": "a", "cpu_mhz": 2600.0}, {"host": "a", "cpu_mhz": 2590.0}]).startswith("no cause recorded")
