import numpy as np
import pytest

from bench.stats import median_ci, paired_ratio, ratio_of_medians, summarise


def test_summary_of_known_samples():
    s = summarise([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.n, s.median, s.min, s.mean) == (5, 3.0, 1.0, 3.0)
    assert s.iqr == pytest.approx(2.0)  # numpy's linear percentiles: q3=4, q1=2
    assert s.ci_low <= s.median <= s.ci_high


def test_a_spread_above_a_tenth_of_the_median_is_unstable():
    assert not summarise([1.0, 1.0, 1.02, 1.0]).unstable
    assert summarise([1.0, 1.5, 0.7, 1.2]).unstable


def test_empty_or_non_finite_samples_are_refused():
    with pytest.raises(ValueError, match="empty"):
        summarise([])
    with pytest.raises(ValueError, match="finite"):
        summarise([1.0, float("nan")])


def test_median_ci_covers_the_true_median_about_95_percent_of_the_time():
    # Exponential(1) has median ln 2; 300 samples of 25 timings each, like a skewed step time.
    rng = np.random.default_rng(7)
    trials = [median_ci(rng.exponential(1.0, 25), seed=i) for i in range(300)]
    coverage = np.mean([low <= np.log(2) <= high for low, high in trials])
    assert 0.88 <= coverage <= 0.99


def test_median_ci_narrows_as_samples_grow():
    rng = np.random.default_rng(3)
    small = np.subtract(*median_ci(rng.normal(1.0, 0.1, 10))[::-1])
    large = np.subtract(*median_ci(rng.normal(1.0, 0.1, 400))[::-1])
    assert large < small / 3


def test_tied_or_single_samples_have_a_point_interval():
    assert median_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert median_ci([5.0]) == (5.0, 5.0)


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
