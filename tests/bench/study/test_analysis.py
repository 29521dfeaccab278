"""The study's pure rules on constructed curves and results: spikes, time-to-accuracy, verdicts."""

import math

import numpy as np
import pytest

from bench.config.settings import normalise
from bench.config.variants import REFERENCES
from bench.study.analysis import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Reach,
    Run,
    SpikeRule,
    against_references,
    fell_silent,
    first_reach,
    loss_spikes,
    paired_difference,
    time_to_accuracy,
    verdict_a,
    verdict_b,
    verdict_c,
    verdict_d,
)
from bench.study.spec import default_options

RULE = SpikeRule(k=5, window=20, min_rise=0.1)
THRESHOLDS = default_options().thresholds  # the [study] table's defaults


def _decaying(n=200, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    return list(2.4 * np.exp(-np.arange(n) / 60) + 0.3 + rng.normal(0, noise, n))


def test_a_single_spike_is_found_where_it_starts():
    losses = _decaying()
    losses[120] += 1.5
    losses[121] += 1.2  # the same spike, still high: counted once
    assert loss_spikes(losses, RULE) == [120]


def test_a_plateau_has_no_spikes():
    assert loss_spikes([1.0] * 200, RULE) == []


def test_noise_alone_makes_no_spikes():
    assert all(loss_spikes(_decaying(seed=s, noise=0.05), RULE) == [] for s in range(20))


def test_a_step_up_that_stays_is_one_spike():
    losses = [0.5] * 100 + [2.0] * 100
    assert loss_spikes(losses, RULE) == [100]  # then the trailing median catches up


def test_a_diverged_loss_is_a_spike_and_ends_the_count():
    losses = _decaying(100)
    losses[60] = math.nan
    losses[80] += 3
    assert loss_spikes(losses, RULE) == [60]


def test_a_run_whose_loss_ends_flat_fell_silent_and_a_noisy_one_did_not():
    silent = _decaying(100)[:60] + [math.log(11)] * 40
    assert fell_silent(silent, window=20)
    assert not fell_silent(_decaying(100), window=20)
    assert not fell_silent([math.log(11)] * 10, window=20)  # too short to tell


def test_first_reach_is_the_first_evaluation_at_or_above_the_target():
    evals = [[0, 0.0, 0.1], [25, 5.0, 0.79], [50, 10.0, 0.8], [75, 15.0, 0.9]]
    assert first_reach(evals, 0.8) == Reach(seconds=10.0, iterations=50)
    assert first_reach(evals, 0.95) == Reach(None, None)


def test_time_to_accuracy_drops_the_fastest_and_slowest_and_averages_the_rest():
    tta = time_to_accuracy([Reach(10.0, 50), Reach(20.0, 100), Reach(30.0, 150), Reach(90.0, 400),
                            Reach(5.0, 20)])
    assert (tta.runs, tta.reached, tta.kept) == (5, 5, 3)
    assert tta.mean_seconds == pytest.approx(20.0) and tta.mean_iterations == pytest.approx(100)


def test_a_run_that_never_reaches_the_target_is_counted_not_dropped():
    one_missing = time_to_accuracy([Reach(10.0, 50), Reach(20.0, 100), Reach(None, None)])
    # the fastest (10 s) and the slowest (never) are dropped: the middle run's 20 s remains
    assert (one_missing.reached, one_missing.kept, one_missing.mean_seconds) == (2, 1, 20.0)
    two_missing = time_to_accuracy([Reach(10.0, 50), Reach(None, None), Reach(None, None)])
    assert math.isinf(two_missing.mean_seconds) and "not reached (1 of 3" in two_missing.text


def test_time_to_accuracy_of_two_runs_keeps_both():
    tta = time_to_accuracy([Reach(10.0, 50), Reach(30.0, 150)])
    assert tta.kept == 2 and tta.mean_seconds == 20.0


def test_paired_difference_is_a_t_interval_of_the_per_seed_differences():
    diff = paired_difference([0.9, 0.8, 0.85], [0.7, 0.65, 0.7])
    assert diff.mean == pytest.approx(0.1667, abs=1e-3) and diff.low > 0 and diff.high < 0.3


# -- verdicts on constructed results ---------------------------------------------------------

BASE = {"variant": "pipeline:fastest", "connectivity": 0.1, "lr": 0.005, "lr_rule": "fixed",
        "optimiser": "adam", "layer_type": "conv2d"}
DENSE = {**BASE, "variant": "deepr:none+forward:fused", "connectivity": 1.0}


def _run(settings, seed, final, losses=None, reach_at=None):
    evals = [[0, 0.0, 0.1]]
    if reach_at is not None:
        evals.append([reach_at, reach_at * 0.2, max(final, 0.8)])
    evals.append([150, 30.0, final])
    return Run(point_id=f"{sorted(settings.items())}{seed}", settings=normalise({**settings, "seed": seed}),
               losses=losses if losses is not None else _decaying(150, seed=seed), evals=evals)


def test_claim_a_is_supported_when_lr_matters_and_the_best_lr_reaches_the_target_soon():
    runs = [_run({**BASE, "lr": lr}, s, final, reach_at=50 if lr == 0.005 else None)
            for lr, final in ((0.0005, 0.3), (0.005, 0.9), (0.05, 0.5)) for s in range(3)]
    assert verdict_a(runs, THRESHOLDS).verdict == SUPPORTED


def test_claim_a_is_not_supported_when_every_lr_learns_alike():
    runs = [_run({**BASE, "lr": lr}, s, 0.85 + 0.01 * s, reach_at=50) for lr in (0.0005, 0.005, 0.05)
            for s in range(3)]
    assert verdict_a(runs, THRESHOLDS).verdict == NOT_SUPPORTED


def test_claim_a_is_inconclusive_without_a_learning_rate_axis():
    assert verdict_a([_run(BASE, s, 0.9) for s in range(3)], THRESHOLDS).verdict == INCONCLUSIVE


def _rules(c, fixed, scaled):
    low = {**BASE, "connectivity": c, "lr": 0.0005}
    return ([_run({**low, "lr_rule": "fixed"}, s, a) for s, a in enumerate(fixed)]
            + [_run({**low, "lr_rule": "per_connectivity"}, s, a) for s, a in enumerate(scaled)])


def test_claim_b_follows_the_per_seed_gain_of_lr_over_connectivity():
    assert verdict_b(_rules(0.01, [0.4, 0.45, 0.42], [0.8, 0.82, 0.79]), THRESHOLDS).verdict == SUPPORTED
    assert verdict_b(_rules(0.01, [0.8, 0.82, 0.79], [0.5, 0.45, 0.52]), THRESHOLDS).verdict == NOT_SUPPORTED
    assert verdict_b(_rules(0.01, [0.4, 0.9, 0.5], [0.8, 0.5, 0.7]), THRESHOLDS).verdict == INCONCLUSIVE
    assert verdict_b([_run(BASE, 0, 0.9)], THRESHOLDS).verdict == INCONCLUSIVE


def _spiky(seed, spikes):
    losses = _decaying(150, seed=seed)
    for i in range(spikes):
        losses[40 + 25 * i] += 2.0
    return losses


def test_claim_c_compares_spikes_at_the_lowest_and_highest_connectivity():
    spiky = [_run({**BASE, "connectivity": 0.01}, s, 0.7, losses=_spiky(s, 3)) for s in range(4)]
    calm = [_run(DENSE, s, 0.9, losses=_spiky(s, 0)) for s in range(4)]
    assert verdict_c(spiky + calm, THRESHOLDS).verdict == SUPPORTED
    calm_low = [_run({**BASE, "connectivity": 0.01}, s, 0.7, losses=_spiky(s, 0)) for s in range(4)]
    assert verdict_c(calm_low + calm, THRESHOLDS).verdict == NOT_SUPPORTED
    assert verdict_c(calm, THRESHOLDS).verdict == INCONCLUSIVE


def test_claim_d_is_judged_on_the_best_deepr_configuration_against_dense():
    dense = [_run(DENSE, s, a) for s, a in enumerate([0.90, 0.91, 0.89])]
    close = [_run(BASE, s, a) for s, a in enumerate([0.89, 0.90, 0.89])]
    far = [_run({**BASE, "connectivity": 0.01}, s, a) for s, a in enumerate([0.5, 0.55, 0.52])]
    assert verdict_d(dense + close + far, THRESHOLDS).verdict == SUPPORTED
    assert verdict_d(dense + far, THRESHOLDS).verdict == NOT_SUPPORTED
    assert verdict_d(close, THRESHOLDS).verdict == INCONCLUSIVE


def test_claim_d_decides_nothing_when_the_dense_runs_learned_nothing():
    dense = [_run(DENSE, s, a) for s, a in enumerate([0.09, 0.10, 0.09])]  # chance: 1 / 11
    deepr = [_run(BASE, s, a) for s, a in enumerate([0.55, 0.60, 0.57])]
    verdict = verdict_d(dense + deepr, THRESHOLDS)
    assert verdict.verdict == INCONCLUSIVE and "learned nothing" in verdict.figure


def test_a_fast_variant_that_learns_worse_than_its_reference_shows_up():
    exact = {**BASE, "variant": "deepr:exact+forward:fused"}
    notebook = {**BASE, "variant": "deepr:notebook+forward:fused"}
    runs = [_run(exact, s, a) for s, a in enumerate([0.6, 0.62, 0.58])] + \
           [_run(notebook, s, a) for s, a in enumerate([0.9, 0.88, 0.91])]
    (comparison,) = against_references(runs, REFERENCES)
    assert comparison.component == "deepr" and comparison.reference == "deepr:notebook+forward:fused"
    assert comparison.learns_worse and "learns worse" in comparison.text
