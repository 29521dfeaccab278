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

Steps of one run understate how far a rerun lands: runs of the same code differ by more than
their steps do (a process's memory layout, its loader's start, the machine's load that minute).
With several independent runs (`runs`), a figure's interval is taken across runs, the run being
the unit (`combine_runs`): each run gives one estimate (its median, or its median ratio), and the
interval is Student's t on their logarithms, its centre the geometric mean. A run's estimate
already carries its steps' noise, so the spread across runs accounts for both levels; with 3 runs
t has 2 degrees of freedom and the interval is wide, as it should be from 3 runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

# What a report prints where the bounds are NaN.
CI_TOO_FEW = "too few samples for a 95% CI"
# How an interval was made: what a row records beside it, and the report prints.
INTERVAL_STEPS = "steps of one run"


def interval_across(runs: int) -> str:
    return f"t across {runs} runs"

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
    runs: tuple[float, ...] = ()  # each run's own estimate, when combined across runs
    interval: str = ""  # how the interval was made (INTERVAL_*), in words a report prints

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


def _log_t(logs: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """(mean, low, high, p) of Student's t on `logs` (at least 2): the interval of their mean
    and the two-sided p-value of "the mean is 0". Zero spread: a point interval, p 0 or 1."""
    r = logs.size
    mean = float(logs.mean())
    se = float(logs.std(ddof=1)) / math.sqrt(r)
    if se == 0.0:
        return mean, mean, mean, 1.0 if mean == 0.0 else 0.0
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, r - 1)) * se
    p = float(2 * scipy_stats.t.sf(abs(mean) / se, r - 1))
    return mean, mean - half, mean + half, p


def combine_runs(per_run: list[Ratio], confidence: float = CONFIDENCE, candidates: int = 1) -> Ratio:
    """One ratio from each independent run's (module docstring): the geometric mean of the runs'
    ratios, with Student's t interval across runs on their logarithms and its test. One run
    gives its own ratio back (its interval is over its steps). `candidates` > 1: the ratio of a
    point picked as the fastest of that many by these runs; the interval is simultaneous over
    them (Bonferroni) and the p-value multiplied by their number (as `selected_ratio`)."""
    if not per_run:
        raise ValueError("combining runs needs at least one run")
    if candidates < 1:
        raise ValueError(f"a pick needs at least one candidate, got {candidates}")
    medians = tuple(r.median for r in per_run)
    if len(per_run) == 1:
        if candidates > 1:
            raise ValueError("one run cannot be corrected for a pick here: use selected_ratio on its steps")
        only = per_run[0]
        return Ratio(n=only.n, median=only.median, ci_low=only.ci_low, ci_high=only.ci_high,
                     p_value=only.p_value, runs=medians, interval=INTERVAL_STEPS)
    if any(not m > 0 for m in medians):
        raise ValueError(f"ratios combined across runs must be positive, got {list(medians)}")
    mean, low, high, p = _log_t(np.log(medians), 1 - (1 - confidence) / candidates)
    return Ratio(n=sum(r.n for r in per_run), median=math.exp(mean), ci_low=math.exp(low),
                 ci_high=math.exp(high), p_value=min(1.0, p * candidates), runs=medians,
                 interval=interval_across(len(per_run)))


def combine_run_times(per_run_medians, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(centre, low, high) of a stage's time from each run's median (at least 2): the geometric
    mean and Student's t interval across runs on the logarithms, as `combine_runs`."""
    medians = np.asarray(per_run_medians, dtype=float)
    if medians.size < 2 or np.any(medians <= 0):
        raise ValueError(f"need at least 2 positive run medians, got {medians.tolist()}")
    mean, low, high, _ = _log_t(np.log(medians), confidence)
    return math.exp(mean), math.exp(low), math.exp(high)


def ratio_across_runs(a_run_medians, b_run_medians, confidence: float = CONFIDENCE) -> Ratio:
    """A's time over B's where each side is several independent runs and the two were NOT run
    side by side (two results directories): the ratio of geometric means of the runs' medians,
    with Welch's t interval on the logarithms (each side's spread across its own runs). At
    least 2 runs a side."""
    a = np.log(np.asarray(a_run_medians, dtype=float))
    b = np.log(np.asarray(b_run_medians, dtype=float))
    if a.size < 2 or b.size < 2:
        raise ValueError(f"an across-run ratio needs at least 2 runs a side, got {a.size} and {b.size}")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    runs = tuple(np.exp(a).tolist())
    if se == 0.0:
        return Ratio(n=int(a.size + b.size), median=math.exp(diff), ci_low=math.exp(diff),
                     ci_high=math.exp(diff), p_value=1.0 if diff == 0 else 0.0, runs=runs,
                     interval=f"Welch t across {a.size} and {b.size} runs")
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))  # Welch–Satterthwaite
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)) * se
    p = float(2 * scipy_stats.t.sf(abs(diff) / se, df))
    return Ratio(n=int(a.size + b.size), median=math.exp(diff), ci_low=math.exp(diff - half),
                 ci_high=math.exp(diff + half), p_value=p, runs=runs,
                 interval=f"Welch t across {a.size} and {b.size} runs")


@dataclass(frozen=True)
class RunEstimate:
    """One run's figure on a log scale, with its standard error from the run's own steps."""

    log: float
    se: float  # 0: one step, which says nothing of its own noise


# The standard error of a median of n normal samples is about sqrt(pi/2) that of their mean.
_MEDIAN_SE = math.sqrt(math.pi / 2)


def _log_median_se(logs: np.ndarray) -> float:
    return _MEDIAN_SE * float(logs.std(ddof=1)) / math.sqrt(logs.size) if logs.size > 1 else 0.0


def run_estimate(a_samples, b_samples=None, paired: bool = False) -> RunEstimate:
    """One run's figure: the log of its median step (`a_samples` alone), or of A's time over
    B's (per step where `paired`, else the ratio of the two medians), with its standard error."""
    a = np.log(np.asarray(a_samples, dtype=float))
    if b_samples is None:
        return RunEstimate(float(np.median(a)), _log_median_se(a))
    b = np.log(np.asarray(b_samples, dtype=float))
    if paired and a.size == b.size:
        return RunEstimate(float(np.median(a - b)), _log_median_se(a - b))
    return RunEstimate(float(np.median(a) - np.median(b)), math.hypot(_log_median_se(a), _log_median_se(b)))


def heterogeneity_p(runs: list[RunEstimate], allowance: float) -> float:
    """The p-value of "these runs differ by no more than their own steps' noise and `allowance`
    (a standard deviation on the log scale)": the runs' squared deviations from their mean over
    the variance those two explain, against chi-squared with one degree fewer than the runs
    (Cochran's Q with equal weights). 1.0 for fewer than 2 runs."""
    if len(runs) < 2:
        return 1.0
    y = np.array([r.log for r in runs])
    # One within-run variance for all runs, their mean: a standard error from a run's 3 steps is
    # itself so noisy that weighting each run by its own called 7% of simulated steady runs unstable.
    variance = float(np.mean([r.se ** 2 for r in runs])) + allowance ** 2
    q = float(np.sum((y - y.mean()) ** 2)) / max(variance, 1e-12)
    return float(scipy_stats.chi2.sf(q, len(runs) - 1))


# The run-to-run spread a fresh process alone may give one point's figure on a quiet machine, as a
# standard deviation of its log: up to about 10% (memory layout, the loader's start; 1.5-6% measured
# on this project's VM; docs/design.md),
# allowed 11% so that steady runs are called unstable under 5% of the time in simulation, not at
# the edge of it (tests/bench/test_repetition_design.py). A ratio of two points run in their own
# processes moves by sqrt(2) times as much.
PROCESS_NOISE = 0.11
RATIO_PROCESS_NOISE = PROCESS_NOISE * math.sqrt(2)


def runs_disagree(runs: list[RunEstimate], allowance: float = RATIO_PROCESS_NOISE) -> bool:
    """The runs differ by more than their steps and the process-to-process allowance explain,
    at the report's confidence (`heterogeneity_p`): with runs that differ only by that much, this
    says so at most 5% of the time."""
    return heterogeneity_p(runs, allowance) < 1 - CONFIDENCE


def pooled_run_variance(pool) -> tuple[float, int]:
    """(variance, degrees of freedom) of a run's log figure about its point's mean, pooled over
    `pool`: each point's run figures (medians, seconds); points with one run add nothing."""
    squares, df = 0.0, 0
    for runs in pool:
        logs = np.log(np.asarray(runs, dtype=float))
        if logs.size > 1:
            squares += float(np.sum((logs - logs.mean()) ** 2))
            df += logs.size - 1
    return (squares / df if df else math.nan), df


def pooled_ratio(a_runs, b_runs, pool, confidence: float = CONFIDENCE, candidates: int = 1,
                 runs: tuple[float, ...] = ()) -> Ratio:
    """A's time over B's from each one's independent runs (their medians, seconds), not timed
    side by side: the ratio of the geometric means, with Student's t interval whose run-to-run
    spread is pooled over `pool` (bench.stats.pooled_run_variance: every point timed on the same
    machine, layer type and device, A and B among them). Three runs of one point give t two
    degrees of freedom; pooled over a sweep's points, tens, and an interval a user can act on. It
    assumes the process-to-process noise is alike across those points (tests/bench/
    test_repetition_design.py simulates it). `candidates` > 1: A was picked as the fastest of that
    many, and the interval is simultaneous over them (Bonferroni). `runs`: each run's own ratio,
    for display. No pooled degree of freedom: no interval, never significant."""
    if candidates < 1:
        raise ValueError(f"a pick needs at least one candidate, got {candidates}")
    a, b = np.log(np.asarray(a_runs, dtype=float)), np.log(np.asarray(b_runs, dtype=float))
    if a.size == 0 or b.size == 0:
        raise ValueError("a pooled ratio needs at least one run a side")
    diff = float(a.mean() - b.mean())
    variance, df = pooled_run_variance(pool)
    interval = f"t across runs, spread pooled over {len(pool)} points ({df} df)"
    if not df:
        return Ratio(n=int(a.size + b.size), median=math.exp(diff), ci_low=math.nan, ci_high=math.nan,
                     p_value=1.0, runs=runs, interval=interval)
    se = math.sqrt(variance * (1 / a.size + 1 / b.size))
    if se == 0.0:
        return Ratio(n=int(a.size + b.size), median=math.exp(diff), ci_low=math.exp(diff),
                     ci_high=math.exp(diff), p_value=1.0 if diff == 0 else 0.0, runs=runs, interval=interval)
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / (2 * candidates), df)) * se
    p = min(1.0, float(2 * scipy_stats.t.sf(abs(diff) / se, df)) * candidates)
    return Ratio(n=int(a.size + b.size), median=math.exp(diff), ci_low=math.exp(diff - half),
                 ci_high=math.exp(diff + half), p_value=p, runs=runs, interval=interval)


def pooled_time(runs, pool, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(centre, low, high) of one point's time from its runs' medians, with the run-to-run spread
    pooled over `pool` as `pooled_ratio`; (centre, nan, nan) with no pooled degree of freedom."""
    logs = np.log(np.asarray(runs, dtype=float))
    centre = float(logs.mean())
    variance, df = pooled_run_variance(pool)
    if not df:
        return math.exp(centre), math.nan, math.nan
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)) * math.sqrt(variance / logs.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)
