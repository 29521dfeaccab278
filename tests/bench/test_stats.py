import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.stats import (
    INTERVAL_STEPS,
    Ratio,
    combine_run_times,
    combine_runs,
    holm,
    median_ci,
    order_statistic_ranks,
    paired_ratio,
    pooled_ratio,
    pooled_time,
    ratio_across_runs,
    ratio_of_medians,
    run_estimate,
    runs_disagree,
    selected_ratio,
    sign_test,
    summarise,
)


def test_summary_of_known_samples():
    s = summarise([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.n, s.median, s.min, s.mean) == (5, 3.0, 1.0, 3.0)
    assert s.iqr == pytest.approx(2.0)  # numpy's linear percentiles: q3=4, q1=2
    assert np.isnan(s.ci_low) and np.isnan(s.ci_high)  # 5 samples: too few for 95%
    seven = summarise([7.0, 4.0, 1.0, 3.0, 2.0, 6.0, 5.0])
    assert (seven.ci_low, seven.ci_high) == (1.0, 7.0)  # n=7: [x(1), x(7)] covers 98.4%


def test_a_spread_above_a_tenth_of_the_median_is_unstable():
    assert not summarise([1.0, 1.0, 1.02, 1.0]).unstable
    assert summarise([1.0, 1.5, 0.7, 1.2]).unstable


def test_empty_or_non_finite_samples_are_refused():
    with pytest.raises(ValueError, match="empty"):
        summarise([])
    with pytest.raises(ValueError, match="finite"):
        summarise([1.0, float("nan")])


# Skewed step-time distributions with a known median: exponential (ln 2), log-normal (e^0 = 1),
# and a "descheduled" mixture: 80% near 1, 20% far above (median: the mixture's, computed below).
def _exponential(rng, n):
    return rng.exponential(1.0, n)


def _lognormal(rng, n):
    return rng.lognormal(0.0, 0.5, n)


def _descheduled(rng, n):
    return np.where(rng.random(n) < 0.8, rng.normal(1.0, 0.02, n), rng.uniform(1.5, 4.0, n))


_MIXTURE_MEDIAN = float(np.median(_descheduled(np.random.default_rng(99), 2_000_000)))
SKEWED = [(_exponential, np.log(2)), (_lognormal, 1.0), (_descheduled, _MIXTURE_MEDIAN)]


@pytest.mark.parametrize("n", [10, 15, 25])
@pytest.mark.parametrize("draw, true_median", SKEWED, ids=["exponential", "lognormal", "descheduled"])
def test_median_ci_covers_the_true_median_at_least_nominally(draw, true_median, n):
    rng = np.random.default_rng(n)
    trials = 4000
    covered = sum(low <= true_median <= high for low, high in (median_ci(draw(rng, n)) for _ in range(trials)))
    # Exact coverage is 97.9% (n=10), 96.5% (15), 95.7% (25); 4,000 trials put the simulated rate
    # within about ±0.6% of it, so 95% fails only if the interval is too narrow.
    assert covered / trials >= 0.95


@pytest.mark.parametrize("n", [10, 15, 25])
def test_two_identical_variants_are_called_different_at_most_at_the_nominal_rate(n):
    # Paired steps of one variant against itself, on a machine whose speed drifts between pairs
    # and with skewed noise within each: the only truth is "no difference".
    rng = np.random.default_rng(100 + n)
    trials = 4000
    calls = 0
    for _ in range(trials):
        drift = rng.uniform(0.7, 1.5, n)
        a, b = drift * _descheduled(rng, n), drift * _descheduled(rng, n)
        calls += paired_ratio(a, b).significant
    assert calls / trials <= 0.05


def test_too_few_samples_for_a_95_percent_interval_give_none_rather_than_a_narrower_one():
    assert order_statistic_ranks(5) is None  # [min, max] of 5 covers 93.75% only
    assert order_statistic_ranks(6) == (1, 6) and order_statistic_ranks(15) == (4, 12)
    low, high = median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.isnan(low) and np.isnan(high)
    assert not paired_ratio([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]).significant  # 3 pairs prove nothing


def test_median_ci_narrows_as_samples_grow():
    rng = np.random.default_rng(3)
    small = np.subtract(*median_ci(rng.normal(1.0, 0.1, 10))[::-1])
    large = np.subtract(*median_ci(rng.normal(1.0, 0.1, 400))[::-1])
    assert large < small / 3


def test_tied_samples_have_a_point_interval():
    assert median_ci([2.0] * 8) == (2.0, 2.0)


def test_sign_test_of_known_counts():
    assert sign_test([0.5] * 10) == pytest.approx(2 / 2**10)  # all ten below 1
    assert sign_test([0.5, 2.0] * 5) == 1.0
    assert sign_test([1.0, 1.0]) == 1.0  # only ties: no evidence either way


def test_holm_rejects_step_down_and_stops_at_the_first_failure():
    # alpha 0.05 over four tests: thresholds 0.0125, 0.0167, 0.025, 0.05 in order of p.
    assert holm([0.01, 0.04, 0.015, 0.2]) == [True, False, True, False]
    assert holm([0.001, 0.03, 0.04, 0.045]) == [True, False, False, False]
    assert holm([]) == []


def test_paired_ratio_of_a_uniformly_twice_as_fast_variant_is_one_half():
    rng = np.random.default_rng(0)
    reference = rng.uniform(0.5, 1.5, 20)  # drift that hits both variants alike
    r = paired_ratio(reference / 2, reference)
    assert r.median == pytest.approx(0.5) and r.speedup == pytest.approx(2.0)
    assert r.significant and r.ci_high == pytest.approx(0.5)


def test_pairing_sees_a_small_gain_through_large_drift():
    # B is 5% slower than A in every pair, while the machine's speed drifts by 2x across pairs:
    # unpaired medians cannot tell them apart, paired ratios can.
    rng = np.random.default_rng(1)
    drift = np.linspace(1.0, 2.0, 30)
    a = drift * rng.normal(1.0, 0.005, 30)
    b = drift * 1.05 * rng.normal(1.0, 0.005, 30)
    r = paired_ratio(a, b)
    assert r.significant and r.ci_high < 1.0 and r.median == pytest.approx(1 / 1.05, rel=0.01)


def test_identical_variants_are_not_significantly_different():
    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 0.05, 30), rng.normal(1.0, 0.05, 30)
    assert not paired_ratio(a, b).significant


def test_paired_ratio_refuses_unpaired_or_non_positive_samples():
    with pytest.raises(ValueError, match="equally long"):
        paired_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        paired_ratio([1.0], [0.0])


def test_ratio_of_medians_of_two_unpaired_runs():
    rng = np.random.default_rng(4)
    a, b = rng.normal(1.0, 0.02, 25), rng.normal(2.0, 0.04, 30)
    r = ratio_of_medians(a, b)
    assert r.median == pytest.approx(np.median(a) / np.median(b))
    assert r.ci_low < r.median < r.ci_high and r.significant and r.ci_high < 0.53
    same = ratio_of_medians(rng.normal(1.0, 0.05, 20), rng.normal(1.0, 0.05, 20))
    assert not same.significant
    with pytest.raises(ValueError, match="both sides"):
        ratio_of_medians([], [1.0])


def test_below_the_minimum_samples_a_comparison_has_no_interval_and_no_significance():
    import math

    from bench.stats import MIN_SAMPLES, difference_of_medians, ratio_of_medians

    tiny = ratio_of_medians([1.0], [1.1])
    assert tiny.median == pytest.approx(1 / 1.1) and math.isnan(tiny.ci_low) and not tiny.significant
    two = ratio_of_medians([0.20, 0.21], [0.22, 0.25])
    assert math.isnan(two.ci_low) and not two.significant
    assert math.isnan(difference_of_medians([1.0] * (MIN_SAMPLES - 1), [2.0] * 9).ci_low)
    enough = ratio_of_medians([1.0 + i / 100 for i in range(MIN_SAMPLES)], [2.0 + i / 100 for i in range(MIN_SAMPLES)])
    assert enough.significant and enough.p_value < 0.05


def test_significant_agrees_with_the_p_value_the_report_corrects():
    from bench.stats import Ratio

    assert not Ratio(n=2, median=1.1, ci_low=1.05, ci_high=1.2, p_value=0.333).significant
    assert Ratio(n=9, median=1.1, ci_low=1.05, ci_high=1.2, p_value=0.004).significant


def test_picking_the_fastest_of_k_identical_points_shows_no_speedup_that_is_not_there():
    # K points of one speed, each with 15 unpaired steps, and the user's: the fastest by median
    # looks faster than the user's only because it was picked. Tested as if chosen in advance,
    # "faster" is called above the nominal rate (9.3% here, 3 binomial SEs above 5%); accounting
    # for the pick, at most at it.
    rng = np.random.default_rng(7)
    trials, k, n = 300, 30, 15
    naive = picked = 0
    for trial in range(trials):
        user = rng.lognormal(0.0, 0.1, n)
        points = rng.lognormal(0.0, 0.1, (k, n))
        fastest = points[np.argmin(np.median(points, axis=1))]
        naive += ratio_of_medians(fastest, user, seed=trial).significant
        picked += selected_ratio(fastest, user, k + 1, seed=trial).significant
    assert naive / trials > 0.07 and picked / trials <= 0.05


def test_a_pick_from_one_candidate_is_the_plain_ratio_and_more_candidates_widen_it():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(0.0, 0.1, 15), rng.lognormal(0.2, 0.1, 15)
    plain, one, many = ratio_of_medians(a, b), selected_ratio(a, b, 1), selected_ratio(a, b, 10)
    assert (one.ci_low, one.ci_high, one.p_value) == (plain.ci_low, plain.ci_high, plain.p_value)
    assert many.median == plain.median and many.ci_low < plain.ci_low and many.ci_high > plain.ci_high
    assert many.p_value == min(1.0, 10 * plain.p_value)
    with pytest.raises(ValueError, match="at least one candidate"):
        selected_ratio(a, b, 0)


# -- runs as the unit of repetition (bench.stats.combine_runs) ---------------------------------

def _run_effect_draws(rng, runs: int, steps: int, run_sd: float, step_sd: float, true: float = 0.5):
    """Per-step ratios of `runs` runs: each run's true ratio moves by a run effect (what a rerun
    changes: a process, its memory layout, the machine's minute), each step by step noise."""
    return [true * np.exp(rng.normal(0, run_sd) + rng.normal(0, step_sd, steps)) for _ in range(runs)]


def test_combining_runs_takes_the_geometric_mean_with_a_t_interval_on_the_logs():
    per_run = [Ratio(n=6, median=m, ci_low=m * 0.9, ci_high=m * 1.1) for m in (0.5, 0.55, 0.6)]
    r = combine_runs(per_run)
    logs = np.log([0.5, 0.55, 0.6])
    half = scipy_stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert r.median == pytest.approx(np.exp(logs.mean()))
    assert (r.ci_low, r.ci_high) == pytest.approx((np.exp(logs.mean() - half), np.exp(logs.mean() + half)))
    assert r.runs == (0.5, 0.55, 0.6) and r.interval == "t across 3 runs" and r.n == 18
    assert r.significant and r.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(logs.mean()) / (half / scipy_stats.t.ppf(0.975, 2)), 2))


def test_one_run_gives_its_own_interval_over_steps_back():
    only = Ratio(n=15, median=0.4, ci_low=0.38, ci_high=0.42, p_value=0.001)
    r = combine_runs([only])
    assert (r.median, r.ci_low, r.ci_high, r.p_value) == (0.4, 0.38, 0.42, 0.001)
    assert r.interval == INTERVAL_STEPS
    with pytest.raises(ValueError, match="selected_ratio"):
        combine_runs([only], candidates=3)


def test_an_interval_across_runs_holds_where_the_steps_of_one_run_do_not():
    """The issue's own observation, simulated: with a run effect twice the step noise, the
    order-statistic interval over one run's steps covers the true ratio in far fewer than 95% of
    reruns, and the t interval across 3 runs at least nominally."""
    rng = np.random.default_rng(5)
    true, trials = 0.5, 400
    across = within = 0
    for _ in range(trials):
        runs = _run_effect_draws(rng, runs=3, steps=6, run_sd=0.06, step_sd=0.03, true=true)
        r = combine_runs([Ratio(n=6, median=float(np.median(x)), ci_low=np.nan, ci_high=np.nan) for x in runs])
        across += r.ci_low <= true <= r.ci_high
        one = median_ci(runs[0])
        within += one[0] <= true <= one[1]
    assert across / trials >= 0.93
    assert within / trials < 0.7


def test_identical_points_across_runs_are_called_different_at_most_at_the_nominal_rate():
    rng = np.random.default_rng(11)
    trials = 400
    called = sum(combine_runs([Ratio(n=6, median=float(np.median(x)), ci_low=np.nan, ci_high=np.nan)
                               for x in _run_effect_draws(rng, 3, 6, 0.05, 0.03, true=1.0)]).significant
                 for _ in range(trials))
    assert called / trials <= 0.07


def test_a_pick_across_runs_widens_its_interval_by_the_candidates():
    per_run = [Ratio(n=6, median=m, ci_low=np.nan, ci_high=np.nan) for m in (0.5, 0.52, 0.55)]
    one, picked = combine_runs(per_run), combine_runs(per_run, candidates=6)
    assert picked.median == one.median
    assert picked.ci_low < one.ci_low and picked.ci_high > one.ci_high
    assert picked.p_value == pytest.approx(min(1.0, one.p_value * 6))


def test_runs_disagree_only_beyond_their_steps_and_the_process_allowance():
    steady = [run_estimate([0.50, 0.51, 0.49], [1.0, 1.0, 1.0]), run_estimate([0.55, 0.56, 0.54], [1.0, 1.0, 1.0])]
    assert not runs_disagree(steady)  # 10% apart: what a fresh process alone can give
    slow = run_estimate([1.0, 1.02, 0.98], [1.0, 1.0, 1.0])  # one run 2x the others
    assert runs_disagree([*steady, slow])
    assert not runs_disagree(steady[:1])  # one run cannot disagree
    # the same 2x, where the steps themselves spread that far, is explained by them
    noisy = [run_estimate([0.3, 0.5, 0.9], [1.0, 1.0, 1.0]), run_estimate([0.5, 1.0, 1.6], [1.0, 1.0, 1.0])]
    assert not runs_disagree(noisy)


def test_a_run_estimate_is_the_log_median_with_its_steps_standard_error():
    one = run_estimate([0.1, 0.2, 0.4])
    assert one.log == pytest.approx(np.log(0.2))
    assert one.se == pytest.approx(np.sqrt(np.pi / 2) * np.log([0.1, 0.2, 0.4]).std(ddof=1) / np.sqrt(3))
    paired = run_estimate([0.1, 0.2], [0.2, 0.4], paired=True)
    assert paired.log == pytest.approx(np.log(0.5)) and paired.se == pytest.approx(0.0, abs=1e-12)  # each step: 0.5
    assert run_estimate([0.2], [0.4]).se == 0.0


def test_a_pooled_ratio_takes_its_spread_from_every_points_runs():
    a, b = [0.50, 0.55, 0.52], [1.0, 1.1, 0.95]
    pool = [a, b, [2.0, 2.1, 1.9], [3.0, 3.3, 2.9]]
    r = pooled_ratio(a, b, pool)
    logs = [np.log(p) for p in pool]
    variance = sum(((x - x.mean()) ** 2).sum() for x in logs) / 8
    half = scipy_stats.t.ppf(0.975, 8) * np.sqrt(variance * 2 / 3)
    diff = np.log(a).mean() - np.log(b).mean()
    assert r.median == pytest.approx(np.exp(diff))
    assert (r.ci_low, r.ci_high) == pytest.approx((np.exp(diff - half), np.exp(diff + half)))
    assert r.interval == "t across runs, spread pooled over 4 points (8 df)" and r.significant
    picked = pooled_ratio(a, b, pool, candidates=5)
    assert picked.ci_low < r.ci_low and picked.ci_high > r.ci_high
    single = pooled_ratio([0.5], [1.0], [[0.5], [1.0]])  # one run each: nothing to pool
    assert np.isnan(single.ci_low) and not single.significant
    centre, low, high = pooled_time(a, pool)
    assert centre == pytest.approx(np.exp(np.log(a).mean())) and low < centre < high


def test_run_times_combine_as_ratios_do():
    centre, low, high = combine_run_times([0.10, 0.11, 0.12])
    assert centre == pytest.approx(np.exp(np.log([0.10, 0.11, 0.12]).mean()))
    assert low < 0.10 < 0.12 < high
    with pytest.raises(ValueError, match="at least 2"):
        combine_run_times([0.1])


def test_two_directories_compare_by_welch_t_across_their_runs():
    slower = ratio_across_runs([0.22, 0.21, 0.23], [0.10, 0.11, 0.10])
    assert slower.median == pytest.approx(np.exp(np.log([0.22, 0.21, 0.23]).mean() - np.log([0.10, 0.11, 0.10]).mean()))
    assert slower.ci_low > 1 and slower.significant and "Welch" in slower.interval
    same = ratio_across_runs([0.10, 0.12, 0.11], [0.11, 0.10, 0.12])
    assert same.ci_low < 1 < same.ci_high and not same.significant
    with pytest.raises(ValueError, match="at least 2 runs"):
        ratio_across_runs([0.1], [0.1, 0.2])
