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
                                  measured=point.get("measured"), deaths=point.get("deaths", ()),
                                  env=point.get("env")))
    return frame(rows)


def _ratio_row(variant: str, stage: str, ratio: float, ci: tuple[float, float], paired=True,
               component="deepr"):
    return ratio_row(variant, "r", stage, ratio, ci, paired=paired, component=component,
                     point_settings=settings(variant=variant, connectivity=0.1))


LOADING_BOUND = {"stages": {"data_wait": 0.3, "forward": 0.1, "backward": 0.1, "rewiring": 0.001}}
WORKERS = {"settings": {"num_workers": 2}, "stages": {"data_wait": 0.01, "forward": 0.15, "backward": 0.1,
                                                      "rewiring": 0.001}}


def test_the_fastest_configuration_is_the_one_with_the_most_samples_per_second():
    (sentence,) = findings.fastest(_stages([LOADING_BOUND, WORKERS]))
    assert sentence.startswith("Fastest conv2d on cpu: conv2d | deepr:none | 2 workers") and "61.3 samples/s" in sentence


def test_configurations_are_never_ranked_across_layer_types():
    linear = {"settings": {"layer_type": "linear"}, "stages": {"data_wait": 0.01, "forward": 0.01}}
    sentences = findings.fastest(_stages([LOADING_BOUND, linear]))
    assert [s.split(":")[0] for s in sentences] == ["Fastest conv2d on cpu", "Fastest linear on cpu"]


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
    (sentence,) = findings.best_variants(ratios)  # deepr's forward ratio is not a finding
    assert sentence.startswith("Best for rewiring (conv2d, cpu): conv2d | deepr:exact c=0.1 | 0 workers | cpu is 2.50x")
    assert "correcting for 2 comparisons" in sentence
    assert len(findings.speedup_table(ratios, relevant_only=True)) == 2  # deepr changes rewiring


def test_a_component_is_never_credited_with_a_stage_it_does_not_touch():
    # "Best for loss: deepr:exact 1.05x faster" was noise: DeepR runs after the loss.
    ratios = frame([_ratio_row("deepr:exact", "loss", 0.95, (0.9, 0.99)),
                    _ratio_row("deepr:exact", "optimiser", 0.9, (0.85, 0.95))])
    corrected = findings.with_corrected_significance(ratios)
    assert not corrected["tested"].any() and not corrected["significant_holm"].any()
    (sentence,) = findings.best_variants(ratios)
    assert sentence.startswith("No variant was shown faster") and "recommends no change" in sentence


def test_significance_is_corrected_across_every_comparison_on_the_page():
    # Each alone clears 5% (p = 0.03); twenty of them at once do not (Holm: 0.05/20 first).
    ratios = frame([_ratio_row("deepr:exact", "rewiring", 0.9, (0.85, 0.97)) for _ in range(20)])
    ratios["p_value"] = 0.03
    corrected = findings.with_corrected_significance(ratios)
    assert corrected["significant"].all() and not corrected["significant_holm"].any()
    assert findings.best_variants(corrected)[0].startswith("No variant was shown faster")


def test_an_unpaired_framing_comparison_is_a_finding_that_says_it_is_unpaired():
    ratios = frame([_ratio_row("framing:bincount", "data_wait", 0.2, (0.15, 0.25), paired=False,
                               component="framing")])
    (sentence,) = findings.best_variants(ratios)
    assert sentence.startswith("Best for data_wait (conv2d, cpu):") and "5.00x faster" in sentence
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
    assert "1 stage measurement(s) in 1 configuration(s) are unstable" in findings.headline(
        _stages([noisy]), pd.DataFrame())[-1]


def test_unstable_measurements_are_counted_per_configuration_with_their_known_cause():
    noisy = {**LOADING_BOUND, "unstable": {"data_wait": True, "forward": True}}
    crowded = {**WORKERS, "unstable": {"data_wait": True}, "env": {"host": "h", "cores": 2, "threads": 2}}
    summary = findings.unstable_summary(_stages([noisy, crowded]))
    assert list(summary["unstable_stages"]) == [2, 1]
    # make_rows records 3 measured steps
    assert summary["cause"].iloc[0] == "only 7 measured steps"
    assert summary["cause"].iloc[1].startswith("2 workers + 2 threads on 2 cores")


def _deepr(variant, deaths, **extra):
    return {"settings": {"variant": variant, "connectivity": 0.1, **extra}, "deaths": deaths,
            "stages": {"forward": 0.1, "rewiring": 0.001}}


def _rewiring_pair(exact_id, notebook_id, **extra):
    """The rewiring ratio bench.results.outcome_rows writes for an exact point against its notebook partner."""
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


def test_a_paired_step_finding_with_workers_says_its_data_wait_is_the_groups():
    with_workers = frame([ratio_row("p", "r", "step", 0.5, (0.45, 0.55), component="forward",
                                    point_settings=settings(variant="forward:fused", num_workers=2))])
    (sentence,) = findings.best_variants(with_workers)
    assert sentence.endswith(findings.SHARED_LOADER_CAVEAT)
    without = frame([ratio_row("p", "r", "step", 0.5, (0.45, 0.55), component="forward",
                               point_settings=settings(variant="forward:fused"))])
    assert findings.SHARED_LOADER_CAVEAT not in findings.best_variants(without)[0]


def test_whole_pipelines_are_not_filed_as_one_components_best():
    ratios = frame([ratio_row("p0", "r", "rewiring", 0.1, (0.09, 0.11), paired=False, component="pipeline",
                              point_settings=settings(variant="pipeline:fastest", connectivity=0.1)),
                    _ratio_row("deepr:exact", "rewiring", 0.4, (0.38, 0.42))])
    (sentence,) = findings.best_variants(ratios)
    assert "2.50x faster than deepr:notebook" in sentence


def test_the_workload_comparisons_share_the_page_s_one_holm_family():
    # Alone, a ratio at p = 0.03 clears 5%; with a sparsity comparison at p = 0.03 on the same
    # page, the family of two needs 0.025 first, and neither is a finding.
    ratios = frame([_ratio_row("deepr:exact", "rewiring", 0.9, (0.85, 0.97))])
    ratios["p_value"] = 0.03
    assert findings.with_corrected_significance(ratios)["significant_holm"].all()
    sparsity = pd.DataFrame([{"layer_type": "conv2d", "stage": "forward", "ratio": 0.9,
                              "ci_low": 0.85, "ci_high": 0.97, "p_value": 0.03}])
    page_ratios, page_sparsity = findings.correct_page_family(ratios, sparsity)
    assert not page_ratios["significant_holm"].any() and not page_sparsity["significant_holm"].any()
    sparsity["p_value"] = 0.001  # the family's smaller p now passes at 0.025, then 0.03 at 0.05
    page_ratios, page_sparsity = findings.correct_page_family(ratios, sparsity)
    assert page_ratios["significant_holm"].all() and page_sparsity["significant_holm"].all()


def test_the_fastest_pipelines_stages_are_set_beside_their_floors_with_gflops():
    fastest = {"settings": {"variant": "pipeline:fastest", "connectivity": 0.1},
               "stages": {"forward": 0.060, "backward": 0.090, "rewiring": 0.002, "elementwise_floor": 0.001,
                          "synapses_forward_floor": 0.040, "synapses_backward_floor": 0.060,
                          "data_wait": 0.006, "data_wait_floor": 0.004}}
    plain = {"settings": {"variant": "deepr:notebook", "connectivity": 0.1},
             "stages": {"forward": 0.5, "rewiring": 0.02, "elementwise_floor": 0.001}}
    stages = _stages([fastest, plain])
    workload = pd.DataFrame({"point_id": ["p0", "p1"], "dense_synops": [1e7, 1e7]})
    table = findings.limits_table(stages, workload).set_index("stage")
    assert list(table.index) == ["data_wait", "forward", "backward", "rewiring", "forward+backward"]  # the floored point only
    assert table.loc["data_wait", "x_floor"] == pytest.approx(1.5) and pd.isna(table.loc["data_wait", "gflops"])
    assert table.loc["forward", "x_floor"] == pytest.approx(1.5)
    assert table.loc["forward+backward", "x_floor"] == pytest.approx(0.150 / 0.100)
    # 2 FLOPs a MAC, 1e7 MACs a sample, batch 16, in 60 ms: 5.33 GFLOP/s
    assert table.loc["forward", "gflops"] == pytest.approx(2 * 1e7 * 16 / 0.060 / 1e9)
    assert table.loc["forward", "floor_gflops"] == pytest.approx(2 * 1e7 * 16 / 0.040 / 1e9)
    assert pd.isna(table.loc["rewiring", "gflops"])
