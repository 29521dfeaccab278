"""Pure summary statistics of timing samples (seconds in, seconds out).

Medians, not means: one descheduled step on a shared machine moves a mean but not a median.

The confidence interval of a median is the exact, distribution-free one of order statistics:
[x_(k), x_(n+1-k)] covers the true median with probability 1 − 2·P(B ≤ k − 1), B ~ Bin(n, ½),
whatever the distribution, so k is the largest with that at least the confidence asked. It is
never narrower than its coverage allows: the percentile bootstrap it replaces covered less than
nominal at the 10–25 samples a point takes (a two-identical-variants simulation called 7.5%
"significant" at a nominal 5%). Below 6 samples no interval reaches 95%, and the bounds are NaN
(`CI_TOO_FEW`) rather than a narrower interval. The same interval serves the median of paired
ratios, whose test is the exact sign test (`Ratio.p_value`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

# What a report prints where the bounds are NaN.
CI_TOO_FEW = "too few samples for a 95% CI"

UNSTABLE_IQR_RATIO = 0.1  # IQR/median above this marks a measurement as unstable
CONFIDENCE = 0.95
# The fewest samples a side needs before any comparison gets an interval or a significance: the
# order-statistic CI of a median first reaches 95% at 6 samples, and the unpaired bootstrap of
# two medians is held to the same floor (at 1 or 2 samples it gives a zero-width, falsely sure
# interval). Below it a comparison reports its median ratio only, never "significant".
MIN_SAMPLES = 6
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    iqr: float
    min: float
    mean: float
    ci_low: float  # order-statistic CI of the median, at CONFIDENCE; nan: too few samples
    ci_high: float

    @property
    def unstable(self) -> bool:
        return self.median > 0 and self.iqr / self.median > UNSTABLE_IQR_RATIO


def order_statistic_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int] | None:
    """1-based ranks (k, n + 1 − k) of the narrowest symmetric order-statistic interval of the
    median with coverage at least `confidence`; None when even [min, max] falls short."""
    if n < 1:
        return None
    cut = scipy_stats.binom.cdf(np.arange(n), n, 0.5)  # cut[k - 1] = P(B <= k - 1)
    ks = [k for k in range(1, n // 2 + 2) if k <= n + 1 - k and 1 - 2 * cut[k - 1] >= confidence]
    return (ks[-1], n + 1 - ks[-1]) if ks else None


def median_ci(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact order-statistic CI of the median (module docstring); (nan, nan) when the samples
    are too few for the confidence asked."""
    values = np.sort(np.asarray(values, dtype=float))
    ranks = order_statistic_ranks(values.size, confidence)
    if ranks is None:
        return math.nan, math.nan
    return float(values[ranks[0] - 1]), float(values[ranks[1] - 1])


def sign_test(ratios) -> float:
    """Two-sided exact sign test of "the median ratio is 1" (ties at 1 left out)."""
    ratios = np.asarray(ratios, dtype=float)
    below, above = int(np.sum(ratios < 1)), int(np.sum(ratios > 1))
    if below + above == 0:
        return 1.0
    return float(min(1.0, 2 * scipy_stats.binom.cdf(min(below, above), below + above, 0.5)))


def holm(p_values, alpha: float = 1 - CONFIDENCE) -> list[bool]:
    """Holm's step-down correction: which of these tests reject while the chance of any false
    rejection among all of them stays at most alpha."""
    p = np.asarray(p_values, dtype=float)
    rejected = [False] * p.size
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if not p[i] <= alpha / (p.size - rank):
            break
        rejected[i] = True
    return rejected


def summarise(samples, confidence: float = CONFIDENCE) -> Summary:
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("cannot summarise an empty list of samples")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"timing samples must be finite numbers, got {values.tolist()}")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    low, high = median_ci(values, confidence)
    return Summary(n=int(values.size), median=float(median), iqr=float(q3 - q1),
                   min=float(values.min()), mean=float(values.mean()), ci_low=low, ci_high=high)


@dataclass(frozen=True)
class Ratio:
    """A ratio of A's time to B's with its CI: below 1, A is faster."""

    n: int
    median: float
    ci_low: float  # nan: too few samples for the confidence
    ci_high: float
    p_value: float = 1.0  # of "A and B take the same time" (sign test, or Mann-Whitney unpaired)

    @property
    def speedup(self) -> float:
        """How many times faster A is than B (1/median ratio)."""
        return 1.0 / self.median if self.median > 0 else math.inf

    @property
    def significant(self) -> bool:
        """The CI excludes 1 and the test's p-value is below 1 − CONFIDENCE: the two differ at
        the stated confidence, by the interval and by the p-value the report corrects alike. A
        NaN interval (too few samples) is never significant."""
        return (self.ci_high < 1.0 or self.ci_low > 1.0) and self.p_value < 1 - CONFIDENCE


def paired_ratio(a_samples, b_samples, confidence: float = CONFIDENCE) -> Ratio:
    """Ratio of A to B from samples taken in pairs (A's i-th step beside B's i-th step).

    Pairing cancels drift that hits both alike (a busy neighbour, thermal throttling): each
    ratio compares two measurements taken moments apart, not two blocks minutes apart.
    """
    a = np.asarray(a_samples, dtype=float)
    b = np.asarray(b_samples, dtype=float)
    if a.size != b.size or a.size == 0:
        raise ValueError(f"paired ratios need two equally long, non-empty sample lists; got "
                         f"{a.size} and {b.size}")
    if np.any(b <= 0):
        raise ValueError("the reference samples must be positive durations to divide by")
    ratios = a / b
    low, high = median_ci(ratios, confidence)
    return Ratio(n=int(ratios.size), median=float(np.median(ratios)), ci_low=low, ci_high=high,
                 p_value=sign_test(ratios))


def _bootstrap_medians(a_samples, b_samples, what: str, seed: int):
    """(a, b, a's resampled medians, b's): each side resampled on its own, for comparing two
    medians of samples not taken in pairs (`ratio_of_medians`, `difference_of_medians`)."""
    a = np.asarray(a_samples, dtype=float)
    b = np.asarray(b_samples, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"{what} of medians needs samples on both sides")
    rng = np.random.default_rng(seed)
    return (a, b, np.median(rng.choice(a, (BOOTSTRAP_RESAMPLES, a.size)), axis=1),
            np.median(rng.choice(b, (BOOTSTRAP_RESAMPLES, b.size)), axis=1))


def _percentile_interval(resampled, confidence: float, n: int) -> tuple[float, float]:
    """The bootstrap's percentile interval; (nan, nan) below MIN_SAMPLES a side."""
    if n < MIN_SAMPLES:
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    low, high = np.quantile(resampled, [alpha, 1 - alpha])
    return float(low), float(high)


def ratio_of_medians(a_samples, b_samples, confidence: float = CONFIDENCE, seed: int = 0) -> Ratio:
    """median(A)/median(B) for samples NOT taken in pairs (two runs, two machines), with a
    bootstrap CI that resamples each side independently (no exact interval exists for a ratio of
    two medians); wider than a paired ratio's. Its p-value is the Mann-Whitney U test's. Below
    MIN_SAMPLES a side: no interval, so never significant."""
    a, b, a_medians, b_medians = _bootstrap_medians(a_samples, b_samples, "a ratio", seed)
    if np.any(b <= 0):
        raise ValueError("the reference samples must be positive durations to divide by")
    low, high = _percentile_interval(a_medians / b_medians, confidence, min(a.size, b.size))
    p_value = float(scipy_stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return Ratio(n=int(min(a.size, b.size)), median=float(np.median(a) / np.median(b)),
                 ci_low=low, ci_high=high, p_value=p_value)


def selected_ratio(a_samples, b_samples, candidates: int, confidence: float = CONFIDENCE, seed: int = 0) -> Ratio:
    """`ratio_of_medians` for an A that was picked as the fastest of `candidates` points by the
    same samples: the interval is simultaneous over all of them (Bonferroni: each at confidence
    1 − (1 − confidence)/candidates) and the p-value multiplied by their number, so the
    interval and the test hold for whichever one was picked. Picking the best of K on the data
    that then tests it would otherwise report differences the points do not have."""
    if candidates < 1:
        raise ValueError(f"a pick needs at least one candidate, got {candidates}")
    alpha = (1 - confidence) / candidates
    r = ratio_of_medians(a_samples, b_samples, 1 - alpha, seed)
    return Ratio(n=r.n, median=r.median, ci_low=r.ci_low, ci_high=r.ci_high,
                 p_value=min(1.0, r.p_value * candidates))


@dataclass(frozen=True)
class Difference:
    """median(A) − median(B) with a CI: below 0, A takes less time."""

    median: float
    ci_low: float
    ci_high: float


def difference_of_medians(a_samples, b_samples, confidence: float = CONFIDENCE, seed: int = 0) -> Difference:
    """median(A) − median(B) for samples not taken in pairs, with a bootstrap CI resampling each
    side independently (as `ratio_of_medians`: no exact interval exists for two medians)."""
    a, b, a_medians, b_medians = _bootstrap_medians(a_samples, b_samples, "a difference", seed)
    low, high = _percentile_interval(a_medians - b_medians, confidence, min(a.size, b.size))
    return Difference(median=float(np.median(a) - np.median(b)), ci_low=low, ci_high=high)
