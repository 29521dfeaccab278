import pandas as pd
import pytest

from bench.report import findings
from bench.report.load import label

SETTINGS = {"layer_type": "conv2d", "num_workers": 0, "device": "cpu", "variant": "deepr:none",
            "connectivity": 1.0, "batch_size": 16}


def _stages(points: list[dict]) -> pd.DataFrame:
    """Stage rows as the store holds them, for points given as settings + {stage: median_s}."""
    rows = []
    for i, point in enumerate(points):
        settings = {**SETTINGS, **point.get("settings", {})}
        step = sum(point["stages"].values())
        for stage, median in {**point["stages"], "step": step}.items():
            rows.append({**settings, "point_id": f"p{i}", "stage": stage, "median_s": median,
                         "ci_low_s": median * 0.9, "ci_high_s": median * 1.1, "iqr_s": median * 0.01,
                         "unstable": point.get("unstable", {}).get(stage, False),
                         "share_of_step": median / step,
                         "samples_per_s": settings["batch_size"] / step if stage == "step" else None,
                         "connectivity_measured": point.get("measured", settings["connectivity"]),
                         "active_connections": 10, "total_connections": 100})
    frame = pd.DataFrame(rows)
    frame["config"] = frame.apply(label, axis=1)
    return frame


LOADING_BOUND = {"stages": {"data_wait": 0.3, "forward": 0.1, "backward": 0.1, "rewiring": 0.001}}
WORKERS = {"settings": {"num_workers": 2}, "stages": {"data_wait": 0.01, "forward": 0.15, "backward": 0.1,
                                                      "rewiring": 0.001}}


def test_the_fastest_configuration_is_the_one_with_the_most_samples_per_second():
    sentence = findings.fastest(_stages([LOADING_BOUND, WORKERS]))
    assert sentence.startswith("Fastest configuration: conv2d | 2 workers") and "61.3 samples/s" in sentence


def test_the_biggest_stage_counts_configurations_where_it_dominates():
    sentence = findings.biggest_stage(_stages([LOADING_BOUND, WORKERS, LOADING_BOUND]))
    assert sentence.startswith("Biggest stage: data_wait, the largest part of the step in 2 of 3")


def test_best_num_workers_is_named_per_device_and_layer_type():
    (sentence,) = findings.best_workers(_stages([LOADING_BOUND, WORKERS]))
    assert sentence == "Best num_workers on cpu for conv2d: 2 (261 ms per step; 501 ms at 0)."


def test_best_variant_per_stage_is_the_largest_significant_speedup():
    ratios = pd.DataFrame([
        {"config": "a", "stage": "rewiring", "component": "deepr", "reference_variant": "deepr:notebook",
         "speedup": 2.5, "ratio_median": 0.4, "ratio_ci_low": 0.38, "ratio_ci_high": 0.42, "significant": True},
        {"config": "b", "stage": "rewiring", "component": "deepr", "reference_variant": "deepr:notebook",
         "speedup": 4.0, "ratio_median": 0.25, "ratio_ci_low": 0.1, "ratio_ci_high": 1.2, "significant": False},
        {"config": "c", "stage": "forward", "component": "deepr", "reference_variant": "deepr:notebook",
         "speedup": 1.5, "ratio_median": 0.67, "ratio_ci_low": 0.6, "ratio_ci_high": 0.7, "significant": True},
    ])
    sentences = findings.best_variants(ratios)
    assert sentences[0].startswith("Best for forward: c is 1.50x")
    assert sentences[1].startswith("Best for rewiring: a is 2.50x")  # b is not significant
    assert len(findings.speedup_table(ratios, relevant_only=True)) == 2  # deepr changes rewiring


def test_drift_is_the_measured_over_the_asked_connectivity():
    notebook = {"settings": {"variant": "deepr:notebook", "connectivity": 0.1}, "measured": 0.096,
                "stages": {"forward": 0.1, "rewiring": 0.002}}
    table = findings.drift_table(_stages([LOADING_BOUND, notebook]))
    assert list(table["variant"]) == ["deepr:notebook"]
    assert table["drift_percent"].iloc[0] == pytest.approx(-4.0)


def test_rewiring_is_set_beside_its_elementwise_floor():
    exact = {"settings": {"variant": "deepr:exact", "connectivity": 0.1},
             "stages": {"forward": 0.1, "rewiring": 0.0006, "elementwise_floor": 0.00003}}
    table = findings.rewiring_table(_stages([exact]))
    assert table["x_floor"].iloc[0] == pytest.approx(20.0)


def test_only_unstable_stages_of_the_step_are_listed():
    noisy = {**LOADING_BOUND, "unstable": {"data_wait": True, "elementwise_floor": True}}
    table = findings.unstable(_stages([noisy]))
    assert list(table["stage"]) == ["data_wait"]
    assert "1 stage measurement(s) are unstable" in findings.headline(_stages([noisy]), pd.DataFrame())[-1]
