import pandas as pd
import pytest

from bench.report import findings
from bench.report.load import frame
from tests.bench.make_rows import ratio_row, settings, stage_row


def _stages(points: list[dict]) -> pd.DataFrame:
    """The report's stage table of points given as settings + {stage: median_s}."""
    rows = []
    for i, point in enumerate(points):
        step = sum(point["stages"].values())
        for stage, median in {**point["stages"], "step": step}.items():
            rows.append(stage_row(f"p{i}", f"run-{i}", stage, median, step,
                                  point_settings=settings(**point.get("settings", {})),
                                  unstable=point.get("unstable", {}).get(stage, False),
                                  measured=point.get("measured"), deaths=point.get("deaths", ())))
    return frame(rows)


def _ratio_row(variant: str, stage: str, ratio: float, ci: tuple[float, float], paired=True,
               component="deepr"):
    return ratio_row(variant, "r", stage, ratio, ci, paired=paired, component=component,
                     point_settings=settings(variant=variant, connectivity=0.1))


LOADING_BOUND = {"stages": {"data_wait": 0.3, "forward": 0.1, "backward": 0.1, "rewiring": 0.001}}
WORKERS = {"settings": {"num_workers": 2}, "stages": {"data_wait": 0.01, "forward": 0.15, "backward": 0.1,
                                                      "rewiring": 0.001}}


def test_the_fastest_configuration_is_the_one_with_the_most_samples_per_second():
    sentence = findings.fastest(_stages([LOADING_BOUND, WORKERS]))
    assert sentence.startswith("Fastest configuration: conv2d | deepr:none | 2 workers") and "61.3 samples/s" in sentence


def test_the_biggest_stage_counts_configurations_where_it_dominates():
    sentence = findings.biggest_stage(_stages([LOADING_BOUND, WORKERS, LOADING_BOUND]))
    assert sentence.startswith("Biggest stage: data_wait, the largest part of the step in 2 of 3")


def test_best_num_workers_is_named_per_device_and_layer_type():
    (sentence,) = findings.best_workers(_stages([LOADING_BOUND, WORKERS]))
    assert sentence == "Best num_workers on cpu for conv2d: 2 (261 ms per step; 501 ms at 0)."


def test_best_variant_per_stage_is_the_largest_significant_speedup():
    ratios = frame([
        _ratio_row("deepr:exact", "rewiring", 0.4, (0.38, 0.42)),
        _ratio_row("deepr:exact+forward:multistep", "rewiring", 0.25, (0.1, 1.2)),  # not significant
        _ratio_row("deepr:exact+framing:bincount", "forward", 0.67, (0.6, 0.7)),
    ])
    sentences = findings.best_variants(ratios)
    assert sentences[0].startswith("Best for forward: conv2d | deepr:exact+framing:bincount c=0.1")
    assert "1.49x" in sentences[0]
    assert sentences[1].startswith("Best for rewiring: conv2d | deepr:exact c=0.1 | 0 workers | cpu is 2.50x")
    assert len(findings.speedup_table(ratios, relevant_only=True)) == 2  # deepr changes rewiring


def test_an_unpaired_framing_comparison_is_a_finding_that_says_it_is_unpaired():
    ratios = frame([_ratio_row("framing:bincount", "data_wait", 0.2, (0.15, 0.25), paired=False,
                               component="framing")])
    (sentence,) = findings.best_variants(ratios)
    assert sentence.startswith("Best for data_wait:") and "5.00x faster" in sentence
    assert "unpaired" in sentence
    assert list(findings.speedup_table(ratios, relevant_only=True)["paired"]) == [False]


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


def _deepr(variant, deaths, **extra):
    return {"settings": {"variant": variant, "connectivity": 0.1, **extra}, "deaths": deaths,
            "stages": {"forward": 0.1, "rewiring": 0.001}}


def _rewiring_pair(exact_id, notebook_id, **extra):
    """The rewiring ratio bench.record writes for an exact point against its notebook partner."""
    return frame([ratio_row(exact_id, f"run-{exact_id[1:]}", "rewiring", 0.1, (0.09, 0.11),
                            reference_point_id=notebook_id,
                            point_settings=settings(variant="deepr:exact", connectivity=0.1, **extra))])


def test_matched_work_pairs_exact_with_the_notebook_at_the_same_settings():
    stages = _stages([_deepr("deepr:notebook", [10.0, 5.0]), _deepr("deepr:exact", [20.0, 10.0]),
                      _deepr("deepr:notebook", [1.0], lr=0.1)])  # another lr: not exact's partner
    table = findings.deepr_matching(stages, _rewiring_pair("p1", "p0"))
    assert len(table) == 1
    assert table["noise_and_l1"].iloc[0] == "off for both"
    assert table["exact_over_notebook_deaths"].iloc[0] == pytest.approx(2.0)
    statement = findings.matching_statement(table)
    assert statement.startswith("Matched on noise") and "2.00–2.00x the notebook's" in statement


def test_exact_drawing_noise_the_notebook_lacks_is_reported_as_not_matched():
    stages = _stages([_deepr("deepr:notebook", [10.0]), _deepr("deepr:exact", [10.0], temperature=1e-3)])
    table = findings.deepr_matching(stages, _rewiring_pair("p1", "p0", temperature=1e-3))
    assert table["noise_and_l1"].iloc[0] == "exact only (T=0.001, alpha=0)"
    assert findings.matching_statement(table).startswith("Not matched: in 1 of 1 pairs")


def test_the_pipelines_step_comparison_leads_the_findings():
    ratios = frame([ratio_row("p0", "r", "step", 0.4, (0.35, 0.45), paired=False, component="pipeline",
                              point_settings=settings(variant="pipeline:fastest", connectivity=0.1))])
    sentences = findings.headline(_stages([LOADING_BOUND]), ratios)  # its biggest: data_wait
    assert sentences[0].startswith("pipeline:fastest against pipeline:notebook (")
    assert "the training step is 2.50x faster" in sentences[0] and "unpaired" in sentences[0]
    assert sentences[0].endswith("Its biggest stage is now data_wait, 60% of its step: the next "
                                 "thing to make faster.")
