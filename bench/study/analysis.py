"""What a study's runs show: loss spikes, time-to-accuracy, and a verdict on each of the user's
DeepR claims. Pure functions of recorded runs (`Run`: a stored run's settings, losses and
evaluations), so every rule is tested on constructed results.

Definitions (docs/studies.md repeats them):

- **Loss spike**: iteration i whose loss exceeds the median of the `window` losses before it by
  more than `k` robust deviations (1.4826 × their median absolute deviation) and by at least
  `min_rise` × that median. Consecutive flagged iterations are one spike. A non-finite loss
  (divergence) is a spike and ends the count.
- **Time-to-accuracy** (MLPerf-style): per run, the training wall time (evaluations excluded)
  and iterations until the first evaluation at or above the target. Over the seeds of one
  configuration the fastest and the slowest run are dropped (from 3 runs on) and the rest
  averaged; a run that never reaches the target counts as infinitely slow, so it is never
  silently dropped: one that survives the trimming makes the result "not reached".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from bench.config.settings import Settings

MAD_TO_SD = 1.4826  # a normal distribution's SD over its median absolute deviation


# -- loss spikes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpikeRule:
    """What counts as a loss spike (bench.study.spec.STUDY_OPTIONS: spike_k, spike_window,
    spike_min_rise)."""

    k: float
    window: int
    min_rise: float

    def describe(self) -> str:
        return (f"a loss more than {self.k:g} robust deviations (1.4826 × MAD) and {self.min_rise:.0%} "
                f"above the median of the {self.window} losses before it; consecutive ones count once")


def loss_spikes(losses: Sequence[float], rule: SpikeRule) -> list[int]:
    """The iterations (0-based) where a spike starts."""
    spikes: list[int] = []
    previous_flagged = False
    for i in range(rule.window, len(losses)):
        value = losses[i]
        if not math.isfinite(value):
            spikes.append(i)
            break  # diverged: nothing after it is a curve
        trailing = np.asarray(losses[i - rule.window:i], dtype=float)
        median = float(np.median(trailing))
        spread = MAD_TO_SD * float(np.median(np.abs(trailing - median)))
        flagged = value - median > rule.k * spread and value - median >= rule.min_rise * abs(median)
        if flagged and not previous_flagged:
            spikes.append(i)
        previous_flagged = flagged
    return spikes


def fell_silent(losses: Sequence[float], window: int = 20, tolerance: float = 1e-6) -> bool:
    """Whether the run ended silent: its last `window` losses all equal (to `tolerance`). A spiking
    network whose output neurons stopped firing scores every class alike, so its rate loss sits
    exactly at one value (ln 11 for DVS Gesture) and no gradient reaches its weights."""
    if len(losses) < window:
        return False
    tail = np.asarray(losses[-window:], dtype=float)
    return bool(np.all(np.isfinite(tail)) and tail.max() - tail.min() <= tolerance)


# -- time-to-accuracy ------------------------------------------------------------------------

@dataclass(frozen=True)
class Reach:
    """One run against a target: when it first got there (None: never)."""

    seconds: float | None
    iterations: int | None


def first_reach(evals: Iterable[Sequence[float]], target: float) -> Reach:
    """evals: (iteration, train_seconds, accuracy) in order."""
    for iteration, seconds, accuracy in evals:
        if accuracy >= target:
            return Reach(seconds=float(seconds), iterations=int(iteration))
    return Reach(None, None)


@dataclass(frozen=True)
class TimeToAccuracy:
    runs: int
    reached: int  # runs that reached the target at all
    kept: int  # runs averaged after dropping the fastest and the slowest
    mean_seconds: float  # inf: a kept run never reached the target
    mean_iterations: float

    @property
    def text(self) -> str:
        if math.isinf(self.mean_seconds):
            return f"not reached ({self.reached} of {self.runs} runs reached it)"
        return (f"{self.mean_seconds:.1f} s, {self.mean_iterations:.0f} iterations "
                f"({self.reached} of {self.runs} runs reached it; mean of the middle {self.kept})")


def time_to_accuracy(reaches: Sequence[Reach]) -> TimeToAccuracy:
    """MLPerf-style aggregate over the seeds of one configuration (see the module doc)."""
    if not reaches:
        raise ValueError("time_to_accuracy needs at least one run")
    inf = math.inf
    ordered = sorted(reaches, key=lambda r: inf if r.seconds is None else r.seconds)
    kept = ordered[1:-1] if len(ordered) >= 3 else ordered
    if any(r.seconds is None for r in kept):
        seconds = iterations = inf
    else:
        seconds = float(np.mean([r.seconds for r in kept]))
        iterations = float(np.mean([r.iterations for r in kept]))
    return TimeToAccuracy(runs=len(reaches), reached=sum(r.seconds is not None for r in reaches),
                          kept=len(kept), mean_seconds=seconds, mean_iterations=iterations)


# -- comparisons behind the verdicts ----------------------------------------------------------

@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-seed differences a − b with a 95% t interval (n ≥ 2)."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def text(self) -> str:
        return f"{self.mean:+.3f} (95% CI {self.low:+.3f} to {self.high:+.3f}, {self.n} seeds)"


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(diffs)
    if n < 2:
        raise ValueError("a paired difference needs at least 2 seeds")
    mean = float(diffs.mean())
    sem = float(diffs.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * sem
    return PairedDifference(n=n, mean=mean, low=mean - half, high=mean + half)


# -- verdicts ----------------------------------------------------------------------------------

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


@dataclass(frozen=True)
class Verdict:
    claim: str  # "a" … "d"
    statement: str  # the user's claim, in words
    verdict: str  # SUPPORTED, NOT_SUPPORTED or INCONCLUSIVE
    figure: str  # the figure that decides it
    rule: str  # how the figure decides
    runs: list[str] = field(default_factory=list)  # point ids of the runs behind it


def is_rewired(settings: Settings) -> bool:
    """DeepR keeps a fraction of the connections: a dense point's connectivity is always 1.0
    (bench.config.settings.normalise sets it), a DeepR point's is below 1."""
    return settings.connectivity < 1.0


@dataclass(frozen=True)
class Run:
    """What the verdicts read of one run."""

    point_id: str
    settings: Settings
    losses: list[float]
    evals: list[list[float]]  # (iteration, train_seconds, accuracy)

    @property
    def final_accuracy(self) -> float:
        return float(self.evals[-1][2]) if self.evals else float("nan")

    @property
    def rewired(self) -> bool:
        return is_rewired(self.settings)


CLAIMS = {
    "a": "DeepR is sensitive to the initial learning rate, yet reaches high accuracy within a few batches",
    "b": "lower connectivity needs a learning rate of about lr / connectivity",
    "c": "very low connectivity produces instability spikes in the loss",
    "d": "little accuracy is lost",
}


@dataclass(frozen=True)
class Thresholds:
    """What the verdicts judge by: built from a study's options (bench.study.spec.StudyOptions)."""

    target_accuracy: float
    few_batches: int  # "within a few batches", in iterations
    margin: float  # accuracy differences below this are "little"
    spikes: SpikeRule
    chance: float = 1 / 11  # DVS Gesture's 11 classes (not an option): at or near it, nothing was learned


def _without(settings: Settings, *names: str) -> str:
    return repr(sorted((k, v) for k, v in settings.as_dict().items() if k not in (*names, "seed")))


def _by_seed(runs: Iterable[Run]) -> dict[int, Run]:
    return {r.settings.seed: r for r in runs}


def verdict_a(runs: list[Run], t: Thresholds) -> Verdict:
    """Rewired runs that differ only in lr (and seed): a Kruskal-Wallis test across the lr groups'
    final accuracies (p < 0.05: sensitive), and the best lr's time-to-accuracy."""
    families: dict[str, dict[float, list[Run]]] = {}
    for run in (r for r in runs if r.rewired):
        families.setdefault(_without(run.settings, "lr"), {}).setdefault(run.settings.lr, []).append(run)
    usable = [f for f in families.values() if len(f) >= 2 and all(len(g) >= 2 for g in f.values())]
    rule = ("Kruskal-Wallis across the learning rates' final accuracies: p < 0.05 and the best lr "
            f"reaching {t.target_accuracy:.0%} within {t.few_batches} iterations (MLPerf-style "
            "mean) supports; p ≥ 0.05 with every lr's median within the margin of the others, or "
            "the best lr never reaching the target, does not")
    if not usable:
        return Verdict("a", CLAIMS["a"], INCONCLUSIVE, "the study has no learning-rate axis with "
                       "≥ 2 seeds per rewired configuration", rule)
    family = max(usable, key=lambda f: (len(f), sum(map(len, f.values()))))
    groups = {lr: [r.final_accuracy for r in rs] for lr, rs in sorted(family.items())}
    p = float(stats.kruskal(*groups.values()).pvalue) if len({v for g in groups.values() for v in g}) > 1 else 1.0
    medians = {lr: float(np.median(v)) for lr, v in groups.items()}
    best = max(medians, key=medians.get)
    tta = time_to_accuracy([first_reach(r.evals, t.target_accuracy) for r in family[best]])
    ids = [r.point_id for rs in family.values() for r in rs]
    figure = ("median final accuracy by lr: " + ", ".join(f"{lr:g}: {m:.1%}" for lr, m in medians.items())
              + f"; Kruskal-Wallis p = {p:.3f}; best lr {best:g} reaches {t.target_accuracy:.0%} in "
              + tta.text)
    fast = tta.mean_iterations <= t.few_batches
    if p < 0.05 and fast:
        verdict = SUPPORTED
    elif (p >= 0.05 and max(medians.values()) - min(medians.values()) < t.margin) or tta.reached == 0:
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Verdict("a", CLAIMS["a"], verdict, figure, rule, ids)


def verdict_b(runs: list[Run], t: Thresholds) -> Verdict:
    """At the lowest connectivity with both lr rules on the same seeds: per-seed final accuracy
    of lr / connectivity minus that of the fixed lr."""
    rule = ("paired by seed, lr_rule = per_connectivity minus fixed at the lowest connectivity "
            f"that has both: CI above 0 supports; CI below {t.margin:.0%} (no gain worth the name) "
            "does not")
    pairs: dict[float, tuple[list[Run], list[Run]]] = {}
    index: dict[str, dict[str, list[Run]]] = {}
    for run in (r for r in runs if r.rewired):
        index.setdefault(_without(run.settings, "lr_rule"), {}).setdefault(run.settings.lr_rule, []).append(run)
    for rules in index.values():
        if {"fixed", "per_connectivity"} <= rules.keys():
            c = rules["fixed"][0].settings.connectivity
            fixed, scaled = _by_seed(rules["fixed"]), _by_seed(rules["per_connectivity"])
            seeds = sorted(fixed.keys() & scaled.keys())
            if len(seeds) >= 2 and c not in pairs:
                pairs[c] = ([scaled[s] for s in seeds], [fixed[s] for s in seeds])
    if not pairs:
        return Verdict("b", CLAIMS["b"], INCONCLUSIVE, "the study has no pair of lr rules on ≥ 2 shared "
                       "seeds at a DeepR connectivity", rule)
    c = min(pairs)
    scaled, fixed = pairs[c]
    diff = paired_difference([r.final_accuracy for r in scaled], [r.final_accuracy for r in fixed])
    figure = f"at connectivity {c:g}, final accuracy of lr / connectivity minus fixed lr: {diff.text}"
    verdict = SUPPORTED if diff.low > 0 else NOT_SUPPORTED if diff.high < t.margin else INCONCLUSIVE
    return Verdict("b", CLAIMS["b"], verdict, figure, rule, [r.point_id for r in scaled + fixed])


def verdict_c(runs: list[Run], t: Thresholds) -> Verdict:
    """Spike counts of the runs at the lowest connectivity against those at the highest."""
    rule = (f"loss spikes ({t.spikes.describe()}) per run at the lowest connectivity against the "
            "highest (dense counts as 1): one-sided Mann-Whitney p < 0.05 supports; a median count no "
            "higher at the lowest connectivity, with ≥ 3 runs each, does not")
    by_c: dict[float, list[Run]] = {}
    for run in runs:
        by_c.setdefault(run.settings.connectivity, []).append(run)  # dense: 1.0
    if len(by_c) < 2:
        return Verdict("c", CLAIMS["c"], INCONCLUSIVE, "the study has a single connectivity", rule)
    low, high = min(by_c), max(by_c)
    low_counts = [len(loss_spikes(r.losses, t.spikes)) for r in by_c[low]]
    high_counts = [len(loss_spikes(r.losses, t.spikes)) for r in by_c[high]]
    p = float(stats.mannwhitneyu(low_counts, high_counts, alternative="greater").pvalue) \
        if set(low_counts) | set(high_counts) != {0} else 1.0
    figure = (f"spikes per run at connectivity {low:g}: median {np.median(low_counts):g} "
              f"(total {sum(low_counts)}, {len(low_counts)} runs); at {high:g}: median "
              f"{np.median(high_counts):g} (total {sum(high_counts)}, {len(high_counts)} runs); "
              f"one-sided Mann-Whitney p = {p:.3f}")
    enough = len(low_counts) >= 3 and len(high_counts) >= 3
    if p < 0.05:
        verdict = SUPPORTED
    elif enough and np.median(low_counts) <= np.median(high_counts):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Verdict("c", CLAIMS["c"], verdict, figure, rule, [r.point_id for r in by_c[low] + by_c[high]])


def verdict_d(runs: list[Run], t: Thresholds) -> Verdict:
    """Dense minus rewired final accuracy, per seed, for the rewired configuration (at the
    lowest connectivity that has one) that reaches the best accuracy."""
    rule = (f"paired by seed, dense minus DeepR final accuracy: CI entirely below {t.margin:.0%} "
            f"supports; CI entirely above {t.margin:.0%} does not; a dense reference that learned "
            f"nothing (median final accuracy within {t.margin:.0%} of chance, {t.chance:.1%}) decides "
            "nothing")
    dense = [r for r in runs if not r.rewired]
    rewired = [r for r in runs if r.rewired]
    if not dense or not rewired:
        return Verdict("d", CLAIMS["d"], INCONCLUSIVE, "the study needs dense and DeepR runs", rule)
    dense_by_seed = _by_seed(sorted(dense, key=lambda r: -r.final_accuracy))  # the best dense per seed
    configs: dict[str, list[Run]] = {}
    for run in rewired:
        configs.setdefault(_without(run.settings), []).append(run)
    candidates = [rs for rs in configs.values()
                  if len({r.settings.seed for r in rs} & dense_by_seed.keys()) >= 2]
    if not candidates:
        return Verdict("d", CLAIMS["d"], INCONCLUSIVE, "no DeepR configuration shares ≥ 2 seeds with "
                       "a dense one", rule)
    best = max(candidates, key=lambda rs: float(np.median([r.final_accuracy for r in rs])))
    seeds = sorted({r.settings.seed for r in best} & dense_by_seed.keys())
    chosen = _by_seed(best)
    diff = paired_difference([dense_by_seed[s].final_accuracy for s in seeds],
                             [chosen[s].final_accuracy for s in seeds])
    c = best[0].settings.connectivity
    figure = f"dense minus DeepR ({best[0].settings.variant}, c = {c:g}) final accuracy: {diff.text}"
    dense_median = float(np.median([dense_by_seed[s].final_accuracy for s in seeds]))
    if dense_median <= t.chance + t.margin:
        figure += (f"; but the dense runs learned nothing (median final accuracy {dense_median:.1%}, "
                   f"chance {t.chance:.1%}): there was no accuracy to lose")
        verdict = INCONCLUSIVE
    else:
        verdict = SUPPORTED if diff.high < t.margin else NOT_SUPPORTED if diff.low > t.margin else INCONCLUSIVE
    ids = [dense_by_seed[s].point_id for s in seeds] + [chosen[s].point_id for s in seeds]
    return Verdict("d", CLAIMS["d"], verdict, figure, rule, ids)


def verdicts(runs: list[Run], thresholds: Thresholds) -> list[Verdict]:
    return [rule(runs, thresholds) for rule in (verdict_a, verdict_b, verdict_c, verdict_d)]


# -- a fast variant against its reference, at equal iterations ----------------------------------

@dataclass(frozen=True)
class ReferenceComparison:
    component: str
    variant: str
    reference: str
    iteration: int  # the last evaluation both reached
    difference: PairedDifference  # variant minus reference accuracy at that iteration
    runs: list[str]

    @property
    def learns_worse(self) -> bool:
        return self.difference.high < 0

    @property
    def text(self) -> str:
        if self.learns_worse:
            outcome = "learns worse"
        elif self.difference.low > 0:
            outcome = "learns better"
        else:
            outcome = "no difference shown"
        return (f"{self.variant} against {self.reference} at iteration {self.iteration}: accuracy "
                f"{self.difference.text}: {outcome}")


def accuracy_at(run: Run, iteration: int) -> float:
    """The accuracy of the last evaluation at or before `iteration`."""
    seen = [e[2] for e in run.evals if e[0] <= iteration]
    return float(seen[-1]) if seen else float("nan")


def against_references(runs: list[Run], references: dict[str, str]) -> list[ReferenceComparison]:
    """Each pair of configurations that differ only in one component's variant, one of them that
    component's reference, compared seed by seed at the last evaluation both reached."""
    from bench.config.variants import parse_variant  # torch-free

    families: dict[str, dict[str, dict[int, Run]]] = {}
    for run in runs:
        families.setdefault(_without(run.settings, "variant"), {}).setdefault(
            run.settings.variant, {})[run.settings.seed] = run
    comparisons = []
    for variants in families.values():
        for name, by_seed in variants.items():
            choices = dict(parse_variant(name).choices)
            for other, other_by_seed in variants.items():
                theirs = dict(parse_variant(other).choices)
                differing = [c for c in choices if choices[c] != theirs[c]]
                if len(differing) != 1 or theirs[differing[0]] != references.get(differing[0]):
                    continue
                seeds = sorted(by_seed.keys() & other_by_seed.keys())
                if len(seeds) < 2:
                    continue
                iteration = min(min(by_seed[s].evals[-1][0], other_by_seed[s].evals[-1][0]) for s in seeds)
                diff = paired_difference([accuracy_at(by_seed[s], iteration) for s in seeds],
                                         [accuracy_at(other_by_seed[s], iteration) for s in seeds])
                comparisons.append(ReferenceComparison(
                    component=differing[0], variant=name, reference=other, iteration=int(iteration),
                    difference=diff, runs=[by_seed[s].point_id for s in seeds]
                    + [other_by_seed[s].point_id for s in seeds]))
    return comparisons
