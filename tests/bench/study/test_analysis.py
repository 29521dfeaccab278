"""The study's pure rules on constructed curves and results: spikes, time-to-accuracy, verdicts."""

import dataclasses
import math

import numpy as np
import pytest

from bench.config.settings import normalise
from bench.config.variants import REFERENCES
from bench.study.analysis import (
    CANNOT_TELL,
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


def test_time_to_accuracy_counts_evaluation_time_separately_as_mlperf_does():
    evals = [[0, 0.0, 0.1, 0.5], [25, 5.0, 0.79, 1.0], [50, 10.0, 0.8, 1.5]]  # 0.5 s per evaluation
    reach = first_reach(evals, 0.8)
    assert (reach.seconds, reach.seconds_with_eval) == (10.0, 11.5)
    tta = time_to_accuracy([reach, Reach(20.0, 100, 23.0)])
    assert tta.mean_seconds == 15.0 and tta.mean_seconds_with_eval == pytest.approx(17.25)
    assert "15.0 s of training (17.2 s with evaluation)" in tta.text


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
# Each rule on runs where the claim is true, false, and where the runs cannot tell.

BASE = {"variant": "pipeline:fastest", "connectivity": 0.1, "lr": 0.005, "lr_rule": "fixed",
        "optimiser": "adam", "layer_type": "conv2d"}
DENSE = {**BASE, "variant": "deepr:none+forward:fused", "connectivity": 1.0}
EARLY = THRESHOLDS.few_batches


def _run(settings, seed, final, losses=None, reach_at=None, early=None):
    """A run evaluated at 0, at the early iteration (`early`, else the final accuracy), and at 150."""
    evals = [[0, 0.0, 0.1, 0.1]]
    if reach_at is not None and reach_at < EARLY:
        evals.append([reach_at, reach_at * 0.2, max(final, 0.8), 0.2])
    evals.append([EARLY, EARLY * 0.2, final if early is None else early, 0.3])
    evals.append([150, 30.0, final, 0.4])
    return Run(point_id=f"{sorted(settings.items())}{seed}", settings=normalise({**settings, "seed": seed}),
               losses=losses if losses is not None else _decaying(150, seed=seed), evals=evals)


LRS = (0.001, 0.01, 0.1, 0.5, 1.0)


def _grid(settings, accuracy_by_lr, seeds=range(3), jitter=0.01):
    return [_run({**settings, "lr": lr}, s, accuracy_by_lr[lr] + jitter * s) for lr in LRS for s in seeds]


def test_claim_a_is_supported_when_deepr_moves_more_with_lr_than_dense_and_its_chosen_lr_is_fast():
    deepr = _grid(BASE, {0.001: 0.2, 0.01: 0.5, 0.1: 0.6, 0.5: 0.85, 1.0: 0.3})
    dense = _grid(DENSE, {0.001: 0.85, 0.01: 0.84, 0.1: 0.8, 0.5: 0.78, 1.0: 0.8})
    verdict = verdict_a(deepr + dense, THRESHOLDS)
    assert verdict.verdict == SUPPORTED and "lr 0.5" in verdict.figure


def test_claim_a_is_not_supported_when_dense_is_the_more_sensitive():
    deepr = _grid(BASE, {0.001: 0.85, 0.01: 0.84, 0.1: 0.86, 0.5: 0.83, 1.0: 0.85})
    dense = _grid(DENSE, {0.001: 0.85, 0.01: 0.5, 0.1: 0.1, 0.5: 0.1, 1.0: 0.1})
    assert verdict_a(deepr + dense, THRESHOLDS).verdict == NOT_SUPPORTED


def test_claim_a_cannot_tell_without_a_dense_arm_on_the_same_lr_grid():
    deepr = _grid(BASE, {0.001: 0.2, 0.01: 0.5, 0.1: 0.6, 0.5: 0.85, 1.0: 0.3})
    assert verdict_a(deepr, THRESHOLDS).verdict == CANNOT_TELL


def test_claim_a_cannot_tell_where_runs_end_before_its_early_iteration():
    """Runs of 4 iterations under few_batches = 100: their accuracy "at iteration 100" would be
    iteration 4's. The same runs judged at an iteration they reached support the claim."""
    def short(runs):
        return [dataclasses.replace(r, evals=[[0, 0.0, 0.1, 0.1], [4, 0.8, r.evals[1][2], 0.3]]) for r in runs]
    deepr = short(_grid(BASE, {0.001: 0.2, 0.01: 0.5, 0.1: 0.6, 0.5: 0.85, 1.0: 0.3}))
    dense = short(_grid(DENSE, {0.001: 0.85, 0.01: 0.84, 0.1: 0.8, 0.5: 0.78, 1.0: 0.8}))
    verdict = verdict_a(deepr + dense, dataclasses.replace(THRESHOLDS, few_batches=100))
    assert verdict.verdict == CANNOT_TELL
    assert "30 run(s) ended at iteration 4, before few_batches = 100" in verdict.figure
    assert verdict_a(deepr + dense, dataclasses.replace(THRESHOLDS, few_batches=4)).verdict == SUPPORTED
    diverged = [dataclasses.replace(r, stopped_by="diverged") for r in deepr + dense]  # accuracy stays
    assert verdict_a(diverged, dataclasses.replace(THRESHOLDS, few_batches=100)).verdict == SUPPORTED


def test_claim_a_judges_speed_at_an_lr_chosen_on_the_other_seeds():
    # lr 0.5 is best on seeds 1 and 2 only; seed 0 is judged at 0.5, where it is slow
    runs = _grid(DENSE, {0.001: 0.85, 0.01: 0.84, 0.1: 0.8, 0.5: 0.78, 1.0: 0.8})
    for lr, by_seed in ((0.5, (0.2, 0.9, 0.9)), (0.1, (0.95, 0.1, 0.1))):
        runs += [_run({**BASE, "lr": lr}, s, a) for s, a in enumerate(by_seed)]
    runs += [_run({**BASE, "lr": lr}, s, 0.1) for lr in (0.001, 0.01, 1.0) for s in range(3)]
    verdict = verdict_a(runs, THRESHOLDS)
    assert "seed 0 (lr 0.5): 20%" in verdict.figure and "2 of 3 reaching" in verdict.figure
    assert verdict.verdict == CANNOT_TELL


def _best_lr_at(c, best, seeds=range(3), variant=BASE["variant"]):
    """DeepR at connectivity c on the lr grid, trained best at `best` (per seed, or one for all)."""
    per_seed = best if isinstance(best, tuple) else (best,) * len(seeds)
    return [_run({**BASE, "variant": variant, "connectivity": c, "lr": lr}, s,
                 0.9 if lr == per_seed[s] else 0.5) for lr in LRS for s in seeds]


def test_claim_b_is_supported_when_the_best_lr_scales_as_one_over_connectivity_and_exceeds_dense():
    runs = _best_lr_at(1.0, 0.01) + _best_lr_at(0.1, 0.1) + _best_lr_at(0.01, (0.5, 1.0, 0.5))
    runs += [_run({**DENSE, "lr": lr}, s, 0.9 if lr == 0.001 else 0.5) for lr in LRS for s in range(3)]
    grid = [0.0001, *LRS, 5.0]  # the grid brackets every best lr
    runs += [_run({**BASE, "connectivity": c, "lr": lr}, s, 0.1) for c in (1.0, 0.1, 0.01)
             for lr in (0.0001, 5.0) for s in range(3)]
    runs += [_run({**DENSE, "lr": lr}, s, 0.1) for lr in (0.0001, 5.0) for s in range(3)]
    verdict = verdict_b(runs, THRESHOLDS)
    assert len(grid) == 7 and verdict.verdict == SUPPORTED, verdict.figure
    assert "claimed -1" in verdict.figure


def test_claim_b_is_not_supported_when_the_lr_effect_is_equal_at_every_connectivity():
    runs = _best_lr_at(1.0, 0.1) + _best_lr_at(0.1, 0.1) + _best_lr_at(0.01, 0.1)
    runs += [_run({**DENSE, "lr": lr}, s, 0.9 if lr == 0.1 else 0.5) for lr in LRS for s in range(3)]
    assert verdict_b(runs, THRESHOLDS).verdict == NOT_SUPPORTED


def test_claim_b_cannot_tell_from_a_single_connectivity_or_when_no_lr_trained():
    assert verdict_b(_best_lr_at(0.1, 0.1), THRESHOLDS).verdict == CANNOT_TELL
    flat = [_run({**BASE, "connectivity": c, "lr": lr}, s, 0.1) for c in (0.1, 0.01) for lr in LRS for s in range(3)]
    assert verdict_b(flat, THRESHOLDS).verdict == CANNOT_TELL


def _spiky(seed, spikes):
    losses = _decaying(150, seed=seed)
    for i in range(spikes):
        losses[40 + 25 * i] += 2.0
    return losses


def _pairs(low_final, low_spikes, dense_spikes, lrs=(0.001, 0.01), seeds=range(3)):
    low = [_run({**BASE, "connectivity": 0.01, "lr": lr}, s, low_final, losses=_spiky(s, low_spikes))
           for lr in lrs for s in seeds]
    dense = [_run({**DENSE, "lr": lr}, s, 0.9, losses=_spiky(s, dense_spikes)) for lr in lrs for s in seeds]
    return low + dense


def test_claim_c_compares_spikes_at_equal_lr_in_runs_that_trained():
    assert verdict_c(_pairs(0.7, 3, 0), THRESHOLDS).verdict == SUPPORTED
    assert verdict_c(_pairs(0.7, 0, 0), THRESHOLDS).verdict == NOT_SUPPORTED


def test_claim_c_cannot_tell_when_the_low_connectivity_runs_never_trained():
    verdict = verdict_c(_pairs(0.1, 0, 0), THRESHOLDS)  # flat at chance: nothing to spike
    assert verdict.verdict == CANNOT_TELL and "0 pairs" in verdict.figure


def test_claim_c_takes_the_control_with_the_most_trained_pairs():
    """Dense trains only at lrs where the lowest connectivity does not; DeepR at 1.0 shares them."""
    low = [_run({**BASE, "connectivity": 0.01, "lr": lr}, s, 0.7, losses=_spiky(s, 3))
           for lr in (0.01, 0.1) for s in range(3)]
    full = [_run({**BASE, "connectivity": 1.0, "lr": lr}, s, 0.8, losses=_spiky(s, 0))
            for lr in (0.01, 0.1) for s in range(3)]
    dense = [_run({**DENSE, "lr": lr}, s, 0.9 if lr == 0.001 else 0.1, losses=_spiky(s, 0))
             for lr in (0.001, 0.01, 0.1) for s in range(3)]
    verdict = verdict_c(low + full + dense, THRESHOLDS)
    assert verdict.verdict == SUPPORTED and "against DeepR c=1" in verdict.figure


def test_claim_c_never_pairs_runs_at_different_lrs():
    low = [_run({**BASE, "connectivity": 0.01, "lr": 0.5}, s, 0.7, losses=_spiky(s, 3)) for s in range(6)]
    dense = [_run({**DENSE, "lr": 0.001}, s, 0.9, losses=_spiky(s, 0)) for s in range(6)]
    assert verdict_c(low + dense, THRESHOLDS).verdict == CANNOT_TELL


def test_claim_d_is_judged_on_a_deepr_configuration_chosen_on_other_seeds_against_dense():
    dense = [_run(DENSE, s, a) for s, a in enumerate([0.90, 0.91, 0.89])]
    close = [_run(BASE, s, a) for s, a in enumerate([0.89, 0.90, 0.89])]
    far = [_run({**BASE, "connectivity": 0.01}, s, a) for s, a in enumerate([0.5, 0.55, 0.52])]
    assert verdict_d(dense + close + far, THRESHOLDS).verdict == SUPPORTED
    assert verdict_d(dense + far, THRESHOLDS).verdict == NOT_SUPPORTED
    assert verdict_d(close, THRESHOLDS).verdict == CANNOT_TELL


def test_claim_d_compares_with_the_better_of_two_dense_configurations_per_seed():
    good = [_run({**DENSE, "lr": 0.001}, s, a) for s, a in enumerate([0.90, 0.91, 0.89])]
    poor = [_run({**DENSE, "lr": 0.1}, s, a) for s, a in enumerate([0.60, 0.62, 0.61])]
    deepr = [_run(BASE, s, a) for s, a in enumerate([0.62, 0.63, 0.62])]
    verdict = verdict_d(poor + good + deepr, THRESHOLDS)  # against the poor dense it would be "little lost"
    assert verdict.verdict == NOT_SUPPORTED and "+0.277" in verdict.figure


def test_claim_d_does_not_choose_the_deepr_configuration_on_the_seed_it_judges():
    dense = [_run(DENSE, s, 0.9) for s in range(3)]
    # each configuration is best on one seed only: chosen on the others, every pick is a poor one
    lucky = [[_run({**BASE, "lr": lr}, s, 0.9 if s == k else 0.5) for s in range(3)]
             for k, lr in enumerate((0.001, 0.01, 0.1))]
    verdict = verdict_d(dense + [r for runs in lucky for r in runs], THRESHOLDS)
    assert verdict.verdict == NOT_SUPPORTED  # choosing on the judged seed would find 0.9 every time


def test_claim_d_cannot_tell_when_the_dense_runs_learned_nothing():
    dense = [_run(DENSE, s, a) for s, a in enumerate([0.09, 0.10, 0.09])]  # chance: 1 / 11
    deepr = [_run(BASE, s, a) for s, a in enumerate([0.55, 0.60, 0.57])]
    verdict = verdict_d(dense + deepr, THRESHOLDS)
    assert verdict.verdict == CANNOT_TELL and "learned nothing" in verdict.figure


def test_a_fast_variant_that_learns_worse_than_its_reference_shows_up():
    exact = {**BASE, "variant": "deepr:exact+forward:fused"}
    notebook = {**BASE, "variant": "deepr:notebook+forward:fused"}
    runs = [_run(exact, s, a) for s, a in enumerate([0.6, 0.62, 0.58])] + \
           [_run(notebook, s, a) for s, a in enumerate([0.9, 0.88, 0.91])]
    (comparison,) = against_references(runs, REFERENCES)
    assert comparison.component == "deepr" and comparison.reference == "deepr:notebook+forward:fused"
    assert comparison.learns_worse and "learns worse" in comparison.text
