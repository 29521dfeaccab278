"""Pure summary statistics of timing samples (seconds in, seconds out).

Medians, not means: one descheduled step on a shared machine moves a mean but not a median. The
confidence interval of a median comes from a bootstrap (scipy), because its sampling distribution
has no closed form worth trusting at the 5-30 samples a benchmark point takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

UNSTABLE_IQR_RATIO = 0.1  # IQR/median above this marks a measurement as unstable
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    iqr: float
    min: float
    mean: float
    ci_low: float  # bootstrap CI of the median, at CONFIDENCE
    ci_high: float

    @property
    def unstable(self) -> bool:
        return self.median > 0 and self.iqr / self.median > UNSTABLE_IQR_RATIO


def median_ci(values, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median. Percentile, not BCa: BCa is undefined (NaN) when
    every resample has the same median, which happens with a handful of tied samples."""
    values = np.asarray(values, dtype=float)
    if values.size < 2 or np.all(values == values[0]):
        median = float(np.median(values))
        return median, median  # nothing to resample: the data admit no other median
    result = scipy_stats.bootstrap((values,), np.median, n_resamples=BOOTSTRAP_RESAMPLES,
                                   confidence_level=confidence, method="percentile",
                                   vectorized=True, rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


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
    """The median of paired ratios a_i/b_i, with a bootstrap CI: below 1, A is faster."""

    n: int
    median: float
    ci_low: float
    ci_high: float

    @property
    def speedup(self) -> float:
        """How many times faster A is than B (1/median ratio)."""
        return 1.0 / self.median if self.median > 0 else math.inf

    @property
    def significant(self) -> bool:
        """The CI excludes 1: the two differ at the stated confidence."""
        return self.ci_high < 1.0 or self.ci_low > 1.0


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
    return Ratio(n=int(ratios.size), median=float(np.median(ratios)), ci_low=low, ci_high=high)


def ratio_of_medians(a_samples, b_samples, confidence: float = CONFIDENCE, seed: int = 0) -> Ratio:
    """median(A)/median(B) for samples NOT taken in pairs (two runs, two machines), with a
    bootstrap CI that resamples each side independently. Wider than a paired ratio's CI."""
    a = np.asarray(a_samples, dtype=float)
    b = np.asarray(b_samples, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("a ratio of medians needs samples on both sides")
    if np.any(b <= 0):
        raise ValueError("the reference samples must be positive durations to divide by")
    rng = np.random.default_rng(seed)
    resampled = (np.median(rng.choice(a, (BOOTSTRAP_RESAMPLES, a.size)), axis=1)
                 / np.median(rng.choice(b, (BOOTSTRAP_RESAMPLES, b.size)), axis=1))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(resampled, [alpha, 1 - alpha])
    return Ratio(n=int(min(a.size, b.size)), median=float(np.median(a) / np.median(b)),
                 ci_low=float(low), ci_high=float(high))
