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
from bench.config.variants import APPROXIMATE_LABEL

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

    seconds: float | None  # training time only
    iterations: int | None
    seconds_with_eval: float | None = None  # training and evaluation time, as MLPerf counts it


def first_reach(evals: Iterable[Sequence[float]], target: float) -> Reach:
    """evals: (iteration, train_seconds, accuracy[, eval_seconds so far]) in order; runs stored
    before evaluation time was recorded have no time with evaluation."""
    for iteration, seconds, accuracy, *rest in evals:
        if accuracy >= target:
            with_eval = float(seconds) + float(rest[0]) if rest else None
            return Reach(seconds=float(seconds), iterations=int(iteration), seconds_with_eval=with_eval)
    return Reach(None, None)


@dataclass(frozen=True)
class TimeToAccuracy:
    runs: int
    reached: int  # runs that reached the target at all
    kept: int  # runs averaged after dropping the fastest and the slowest
    mean_seconds: float  # inf: a kept run never reached the target
    mean_iterations: float
    mean_seconds_with_eval: float | None = None  # None: a kept run has no evaluation time recorded

    @property
    def text(self) -> str:
        if math.isinf(self.mean_seconds):
            return f"not reached ({self.reached} of {self.runs} runs reached it)"
        with_eval = ("" if self.mean_seconds_with_eval is None
                     else f" ({self.mean_seconds_with_eval:.1f} s with evaluation)")
        return (f"{self.mean_seconds:.1f} s of training{with_eval}, {self.mean_iterations:.0f} iterations "
                f"({self.reached} of {self.runs} runs reached it; mean of the middle {self.kept})")


def time_to_accuracy(reaches: Sequence[Reach]) -> TimeToAccuracy:
    """MLPerf-style aggregate over the seeds of one configuration (see the module doc)."""
    if not reaches:
        raise ValueError("time_to_accuracy needs at least one run")
    inf = math.inf
    ordered = sorted(reaches, key=lambda r: inf if r.seconds is None else r.seconds)
    kept = ordered[1:-1] if len(ordered) >= 3 else ordered
    with_eval = None
    if any(r.seconds is None for r in kept):
        seconds = iterations = inf
    else:
        seconds = float(np.mean([r.seconds for r in kept]))
        iterations = float(np.mean([r.iterations for r in kept]))
        if all(r.seconds_with_eval is not None for r in kept):
            with_eval = float(np.mean([r.seconds_with_eval for r in kept]))
    return TimeToAccuracy(runs=len(reaches), reached=sum(r.seconds is not None for r in reaches),
                          kept=len(kept), mean_seconds=seconds, mean_iterations=iterations,
                          mean_seconds_with_eval=with_eval)


# -- comparisons behind the verdicts ----------------------------------------------------------

@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-seed values (or differences a − b) with a t interval (n ≥ 2)."""

    n: int
    mean: float
    low: float
    high: float
    level: float = 0.95

    @property
    def text(self) -> str:
        return f"{self.mean:+.3f} ({self.level * 100:g}% CI {self.low:+.3f} to {self.high:+.3f}, {self.n} seeds)"


def mean_interval(values: Sequence[float], level: float = 0.95) -> PairedDifference:
    """The mean of per-seed values with a t interval across seeds at `level` (n ≥ 2)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        raise ValueError("an interval across seeds needs at least 2 seeds")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return PairedDifference(n=n, mean=mean, low=mean - half, high=mean + half, level=level)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    return mean_interval(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


# -- verdicts ----------------------------------------------------------------------------------

SUPPORTED, NOT_SUPPORTED, CANNOT_TELL = "supported", "not supported", "cannot tell"


@dataclass(frozen=True)
class Verdict:
    claim: str  # "a" … "d"
    statement: str  # the user's claim, in words
    verdict: str  # SUPPORTED, NOT_SUPPORTED or CANNOT_TELL
    figure: str  # the figure that decides it
    rule: str  # how the figure decides, in one sentence
    runs: list[str] = field(default_factory=list)  # point ids of the runs behind it


def is_rewired(settings: Settings) -> bool:
    """A DeepR run (any connectivity, 1.0 included: sign-constrained rewiring), not a dense one."""
    return not settings.variant.startswith("deepr:none")


@dataclass(frozen=True)
class Run:
    """What the verdicts read of one run."""

    point_id: str
    settings: Settings
    losses: list[float]
    evals: list[list[float]]  # (iteration, train_seconds, accuracy[, eval_seconds so far])
    stopped_by: str = "iterations"  # bench.results.rows.StudyRunRow.stopped_by

    @property
    def ended_short(self) -> bool:
        """Whether it stopped for lack of iterations or time (not by diverging, falling silent or
        giving up, after which its accuracy stays where it was)."""
        return self.stopped_by in ("iterations", "budget")

    @property
    def last_iteration(self) -> int:
        return int(self.evals[-1][0]) if self.evals else 0

    @property
    def final_accuracy(self) -> float:
        return float(self.evals[-1][2]) if self.evals else float("nan")

    @property
    def best_accuracy(self) -> float:
        return max((float(e[2]) for e in self.evals), default=float("nan"))

    @property
    def rewired(self) -> bool:
        return is_rewired(self.settings)

    @property
    def lr(self) -> float:
        """The learning rate it trained with (after its lr_rule)."""
        from bench.config.settings import effective_lr

        return effective_lr(self.settings)


CLAIMS = {
    "a": "DeepR is more sensitive to the initial learning rate (1 and 1e-1 slow, 5e-1 ideal), yet "
         "converges to high accuracy (~80%) within a few batches",
    "b": "lower connectivity needs a learning rate of about lr / connectivity, and DeepR's is much "
         "higher than dense training's even at 100% connectivity",
    "c": "very low connectivity produces instability spikes in the loss",
    "d": "little accuracy is lost",
}


@dataclass(frozen=True)
class Thresholds:
    """What the verdicts judge by: built from a study's options (bench.study.spec.StudyOptions)."""

    target_accuracy: float
    few_batches: int  # "within a few batches", in iterations; also (a)'s early iteration
    margin: float  # accuracy differences below this are "little"
    spikes: SpikeRule
    trained_accuracy: float  # a run trained when an evaluation reached this (rule of (b), (c))
    min_pairs: int  # (c): fewer trained pairs than this cannot tell
    chance: float = 1 / 11  # DVS Gesture's 11 classes (not an option): at or near it, nothing was learned


def trained(run: Run, t: Thresholds) -> bool:
    """The rule for "trained": some evaluation reached `trained_accuracy` (a run that never left
    chance has no curve to spike)."""
    return run.best_accuracy >= t.trained_accuracy


def _without(settings: Settings, *names: str) -> str:
    return repr(sorted((k, v) for k, v in settings.as_dict().items() if k not in (*names, "seed")))


def _kind(run: Run) -> str:
    """Dense, or DeepR at its connectivity: the arms the lr grids are laid out on."""
    return f"DeepR c={run.settings.connectivity:g}" if run.rewired else "dense"


def deepr_arms(grids: dict[str, dict]) -> list[tuple[str, float]]:
    """The DeepR arms of `lr_grids`' result as (name, connectivity), lowest connectivity first."""
    arms = []
    for kind, by_lr in grids.items():
        if kind != "dense":
            any_run = next(r for by_seed in by_lr.values() for r in by_seed.values())
            arms.append((kind, any_run.settings.connectivity))
    return sorted(arms, key=lambda arm: arm[1])


def lr_grids(runs: list[Run]) -> dict[str, dict[float, dict[int, Run]]]:
    """kind → lr (as trained) → seed → run, over the runs that differ only in lr, lr_rule, seed
    and, between kinds, variant and connectivity; the largest such family."""
    families: dict[str, dict[str, dict[float, dict[int, Run]]]] = {}
    for run in runs:
        family = _without(run.settings, "lr", "lr_rule", "variant", "connectivity")
        families.setdefault(family, {}).setdefault(_kind(run), {}).setdefault(run.lr, {})[run.settings.seed] = run
    if not families:
        return {}
    return max(families.values(), key=lambda f: sum(len(g) for kind in f.values() for g in kind.values()))


def accuracy_early(run: Run, t: Thresholds) -> float:
    """Test accuracy at the early iteration (`few_batches`): the speed half of (a)."""
    return accuracy_at(run, t.few_batches)


def _sensitivity(grid: dict[float, dict[int, Run]], seed: int, lrs: list[float], metric) -> float:
    """How much one seed's accuracy moves with lr: the standard deviation across the lr grid."""
    return float(np.std([metric(grid[lr][seed]) for lr in lrs]))


def _loso_best_lr(grid: dict[float, dict[int, Run]], seed: int, seeds: list[int], metric) -> float:
    """The lr with the best mean metric on the other seeds (leave this seed out)."""
    others = [s for s in seeds if s != seed]
    return max(grid, key=lambda lr: float(np.mean([metric(grid[lr][s]) for s in others])))


def _sensitivity_at(deepr: dict[float, dict[int, Run]], dense: dict[float, dict[int, Run]], arm: str,
                    t: Thresholds, level: float) -> tuple[str, str, list[str]] | None:
    """(a) at one DeepR connectivity: (its verdict, its figure, its runs), or None when it shares
    fewer than 3 lrs or 2 seeds with dense."""
    shared = sorted(deepr.keys() & dense.keys())
    if len(shared) < 3:
        return None
    seeds = sorted(set.intersection(*(set(deepr[lr]) & set(dense[lr]) for lr in shared)))
    if len(seeds) < 2:
        return None
    ids = [g[lr][s].point_id for g in (deepr, dense) for lr in shared for s in seeds]
    short = [g[lr][s] for g in (deepr, dense) for lr in shared for s in seeds
             if g[lr][s].ended_short and g[lr][s].last_iteration < t.few_batches]
    if short:  # its accuracy "at few_batches" would be an earlier one's: nothing to judge there
        ends = sorted({run.last_iteration for run in short})
        return CANNOT_TELL, (f"{arm}: {CANNOT_TELL}. {len(short)} run(s) ended at iteration {ends[0]}"
                             + (f"-{ends[-1]}" if len(ends) > 1 else "") + f", before few_batches = "
                             f"{t.few_batches}, the iteration (a) reads accuracy at: set few_batches to at most "
                             f"{ends[0]}, or train for {t.few_batches} iterations"), ids
    early = lambda run: accuracy_early(run, t)  # noqa: E731
    diff = mean_interval([_sensitivity(deepr, s, shared, early) - _sensitivity(dense, s, shared, early)
                          for s in seeds], level)
    chosen = {s: _loso_best_lr({lr: deepr[lr] for lr in shared}, s, seeds, early) for s in seeds}
    reached = {s: early(deepr[chosen[s]][s]) >= t.target_accuracy for s in seeds}
    by_lr = ", ".join(f"{lr:g}: {np.median([early(deepr[lr][s]) for s in seeds]):.0%} / "
                      f"{np.median([early(dense[lr][s]) for s in seeds]):.0%}" for lr in shared)
    if diff.low > 0 and all(reached.values()):
        verdict = SUPPORTED
    elif diff.high < 0 or not any(reached.values()):
        verdict = NOT_SUPPORTED
    else:
        verdict = CANNOT_TELL
    figure = (f"{arm}: {verdict}. Median accuracy at iteration {t.few_batches} by lr (DeepR / dense): "
              f"{by_lr}; spread across lrs, DeepR minus dense: {diff.text}; at the lr chosen on the other "
              "seeds " + ", ".join(f"seed {s} (lr {chosen[s]:g}): {early(deepr[chosen[s]][s]):.0%}" for s in seeds)
              + f", {sum(reached.values())} of {len(seeds)} reaching {t.target_accuracy:.0%}")
    return verdict, figure, ids


def verdict_a(runs: list[Run], t: Thresholds) -> Verdict:
    """At each DeepR connectivity below 1 on the dense runs' lr grid. Sensitivity: per seed, the
    spread (SD across the shared lrs) of accuracy at the early iteration, DeepR minus dense, with a
    t interval across seeds (Bonferroni over the connectivities): an interaction of lr with
    DeepR, not lr's main effect. Speed: each seed's DeepR run at the lr that did best on the other
    seeds; does it reach the target within `few_batches` iterations?"""
    rule = (f"at each DeepR connectivity below 1: per seed, the SD across learning rates of accuracy at "
            f"iteration {t.few_batches}, DeepR minus dense (t interval across seeds, 95% over all "
            "connectivities together), above 0, and every seed's DeepR run at the lr chosen on the other "
            f"seeds reaching {t.target_accuracy:.0%} by iteration {t.few_batches}, supports; an interval "
            "below 0 or no seed reaching it refutes; supported (refuted) at every connectivity decides, "
            "anything else cannot tell")
    grids = lr_grids(runs)
    dense = grids.get("dense", {})
    arms = [kind for kind, c in reversed(deepr_arms(grids)) if c < 1.0]
    level = 1 - 0.05 / max(len(arms), 1)
    judged = [(arm, j) for arm in arms if (j := _sensitivity_at(grids[arm], dense, arm, t, level)) is not None]
    if not judged:
        return Verdict("a", CLAIMS["a"], CANNOT_TELL, "the study has no lr grid of ≥ 3 values and ≥ 2 seeds "
                       "shared by dense runs and DeepR runs below connectivity 1", rule)
    outcomes = {j[0] for _, j in judged}
    verdict = outcomes.pop() if len(outcomes) == 1 else CANNOT_TELL
    figure = " | ".join(j[1] for _, j in judged)
    return Verdict("a", CLAIMS["a"], verdict, figure, rule, [i for _, j in judged for i in j[2]])


@dataclass(frozen=True)
class BestLr:
    lr: float
    at_edge: bool  # the grid's smallest or largest lr: the true best may lie beyond it


def best_lr(grid: dict[float, dict[int, Run]], seed: int, t: Thresholds) -> BestLr | None:
    """The lr with the best final accuracy for one seed (ties: the earlier accuracy); None when
    no lr of it trained."""
    lrs = sorted(lr for lr in grid if seed in grid[lr])
    candidates = [lr for lr in lrs if trained(grid[lr][seed], t)]
    if not candidates:
        return None
    best = max(candidates, key=lambda lr: (grid[lr][seed].final_accuracy, accuracy_early(grid[lr][seed], t)))
    return BestLr(best, best in (lrs[0], lrs[-1]))


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    return float(np.polyfit(xs, ys, 1)[0])


def verdict_b(runs: list[Run], t: Thresholds) -> Verdict:
    """Per seed, the best lr at each DeepR connectivity (1.0 included) and the slope of
    log10(best lr) against log10(connectivity), with a t interval across seeds against the
    claimed -1; and per seed, log10 of DeepR-at-1.0's best lr over dense's."""
    rule = ("per seed, the slope of log10(best lr) against log10(connectivity) over DeepR's "
            "connectivities (95% t interval across seeds): containing -1 and below 0 supports the "
            "scaling, excluding -1 refutes it; and DeepR at 1.0's best lr over dense's, in log10, "
            "above 0 supports \"higher even at 100%\", at or below 0 refutes; both must hold; a best "
            "lr at the edge of the grid cannot tell")
    grids = lr_grids(runs)
    arms = deepr_arms(grids)
    kinds, connectivities = [kind for kind, _ in arms], [c for _, c in arms]
    if len(kinds) < 2:
        return Verdict("b", CLAIMS["b"], CANNOT_TELL, "the study has an lr grid at fewer than 2 DeepR "
                       "connectivities", rule)
    seeds = sorted(set.intersection(*({s for g in grids[k].values() for s in g} for k in kinds)))
    best = {(k, s): best_lr(grids[k], s, t) for k in kinds for s in seeds}
    slopes, edges = [], 0
    for s in seeds:
        points = [(math.log10(c), math.log10(best[k, s].lr)) for k, c in zip(kinds, connectivities)
                  if best[k, s] is not None]
        edges += sum(best[k, s] is not None and best[k, s].at_edge for k in kinds)
        if len(points) >= 2 and len({x for x, _ in points}) >= 2:
            slopes.append(_slope(*zip(*points)))
    lines = [f"{k}: " + "/".join(f"{best[k, s].lr:g}" if best[k, s] else "none trained" for s in seeds)
             for k in kinds]
    figure = "best lr per seed " + "; ".join(lines)
    if len(slopes) < 2:
        return Verdict("b", CLAIMS["b"], CANNOT_TELL, figure + "; fewer than 2 seeds trained at 2 "
                       "connectivities", rule)
    slope = mean_interval(slopes)
    figure += f"; slope of log best lr on log connectivity: {slope.text} (claimed -1)"
    scaling = SUPPORTED if slope.low <= -1 <= slope.high and slope.high < 0 else \
        NOT_SUPPORTED if not slope.low <= -1 <= slope.high else CANNOT_TELL
    higher = CANNOT_TELL
    full = next((k for k, c in zip(kinds, connectivities) if c == 1.0), None)
    if full is not None and "dense" in grids:
        ratios = [math.log10(best[full, s].lr) - math.log10(b.lr) for s in seeds
                  if best[full, s] is not None and (b := best_lr(grids["dense"], s, t)) is not None]
        if len(ratios) >= 2:
            gap = mean_interval(ratios)
            figure += f"; log10(best lr of DeepR at 1.0 / dense's): {gap.text}"
            higher = SUPPORTED if gap.low > 0 else NOT_SUPPORTED if gap.high <= 0 else CANNOT_TELL
    else:
        figure += "; no DeepR at connectivity 1.0 beside dense on the same grid"
    if edges:
        figure += f"; {edges} best lr(s) at the edge of the grid"
    figure += f". Scaling: {scaling}; higher at 100%: {higher}"
    if NOT_SUPPORTED in (scaling, higher):
        verdict = NOT_SUPPORTED
    elif edges or CANNOT_TELL in (scaling, higher):
        verdict = CANNOT_TELL
    else:
        verdict = SUPPORTED
    ids = [r.point_id for k in kinds + (["dense"] if "dense" in grids else []) for g in grids[k].values()
           for r in g.values()]
    return Verdict("b", CLAIMS["b"], verdict, figure, rule, ids)


def verdict_c(runs: list[Run], t: Thresholds) -> Verdict:
    """Loss spikes at the lowest DeepR connectivity against the control (dense, else DeepR at
    the highest connectivity) at equal lr and seed, in pairs where both runs trained."""
    rule = (f"loss spikes ({t.spikes.describe()}) at the lowest connectivity minus the control's "
            "(dense or a higher connectivity: whichever has the most trained pairs) at the same lr and "
            "seed, over pairs whose runs both "
            f"trained (an evaluation reached {t.trained_accuracy:.0%}): one-sided Wilcoxon signed-rank "
            f"p < 0.05 supports, a median difference of 0 or less refutes; fewer than {t.min_pairs} "
            "trained pairs cannot tell")
    grids = lr_grids(runs)
    kinds = [kind for kind, _ in deepr_arms(grids)]
    if not kinds:
        return Verdict("c", CLAIMS["c"], CANNOT_TELL, "the study has no DeepR runs", rule)
    low = kinds[0]
    controls = (["dense"] if "dense" in grids else []) + kinds[:0:-1]  # dense, then highest c first
    if not controls:
        return Verdict("c", CLAIMS["c"], CANNOT_TELL, "the study has a single connectivity", rule)

    def pairing(control: str) -> tuple[list[tuple[Run, Run]], int]:
        pairs, untrained = [], 0
        for lr in sorted(grids[low].keys() & grids[control].keys()):
            for s in sorted(grids[low][lr].keys() & grids[control][lr].keys()):
                a, b = grids[low][lr][s], grids[control][lr][s]
                if trained(a, t) and trained(b, t):
                    pairs.append((a, b))
                else:
                    untrained += 1
        return pairs, untrained

    # the control with the most trained pairs (chosen on "trained" alone, never on spike counts)
    control = max(controls, key=lambda k: len(pairing(k)[0]))
    pairs, untrained = pairing(control)
    diffs = [len(loss_spikes(a.losses, t.spikes)) - len(loss_spikes(b.losses, t.spikes)) for a, b in pairs]
    figure = (f"{len(pairs)} pairs ({low} against {control}, equal lr and seed) where both trained, "
              f"{untrained} where one or both did not")
    if len(pairs) < t.min_pairs:
        return Verdict("c", CLAIMS["c"], CANNOT_TELL, figure + f": fewer than {t.min_pairs} trained pairs",
                       rule, [r.point_id for pair in pairs for r in pair])
    p = float(stats.wilcoxon(diffs, alternative="greater").pvalue) if any(diffs) else 1.0
    figure += (f"; spikes per run at {low}: {sum(len(loss_spikes(a.losses, t.spikes)) for a, _ in pairs)}"
               f" in all, at {control}: {sum(len(loss_spikes(b.losses, t.spikes)) for _, b in pairs)}; "
               f"median difference {np.median(diffs):g}; one-sided Wilcoxon p = {p:.3f}")
    verdict = SUPPORTED if p < 0.05 else NOT_SUPPORTED if np.median(diffs) <= 0 else CANNOT_TELL
    return Verdict("c", CLAIMS["c"], verdict, figure, rule, [r.point_id for pair in pairs for r in pair])


def verdict_d(runs: list[Run], t: Thresholds) -> Verdict:
    """Per seed: the best dense run of that seed minus the DeepR configuration (connectivity
    below 1) chosen on the other seeds' final accuracies, so the choice does not see the
    accuracies the interval is computed from."""
    rule = (f"per seed, the best dense run minus the DeepR configuration (connectivity below 1) with "
            f"the best mean final accuracy on the other seeds: 95% t interval entirely below "
            f"{t.margin:.0%} supports, entirely above refutes; a dense reference that learned nothing "
            f"(median within {t.margin:.0%} of chance, {t.chance:.1%}) cannot tell")
    dense: dict[int, Run] = {}
    for run in (r for r in runs if not r.rewired):
        seed = run.settings.seed
        if seed not in dense or run.final_accuracy > dense[seed].final_accuracy:
            dense[seed] = run
    configs: dict[str, dict[int, Run]] = {}
    for run in (r for r in runs if r.rewired and r.settings.connectivity < 1.0):
        configs.setdefault(_without(run.settings), {})[run.settings.seed] = run
    seeds = sorted(s for s in dense if sum(s in c for c in configs.values()) > 0)
    if not dense or not configs or len(seeds) < 2:
        return Verdict("d", CLAIMS["d"], CANNOT_TELL, "the study needs dense and DeepR runs on ≥ 2 "
                       "shared seeds", rule)
    chosen: dict[int, Run] = {}
    for s in seeds:
        others = [o for o in seeds if o != s]
        eligible = [c for c in configs.values() if s in c and all(o in c for o in others)]
        if eligible:
            pick = max(eligible, key=lambda c: float(np.mean([c[o].final_accuracy for o in others])))
            chosen[s] = pick[s]
    seeds = sorted(chosen)
    if len(seeds) < 2:
        return Verdict("d", CLAIMS["d"], CANNOT_TELL, "no DeepR configuration ran on every seed", rule)
    diff = paired_difference([dense[s].final_accuracy for s in seeds], [chosen[s].final_accuracy for s in seeds])
    picks = ", ".join(f"seed {s}: c = {chosen[s].settings.connectivity:g}, lr {chosen[s].lr:g}" for s in seeds)
    figure = f"best dense minus DeepR chosen on the other seeds ({picks}), final accuracy: {diff.text}"
    dense_median = float(np.median([dense[s].final_accuracy for s in seeds]))
    if dense_median <= t.chance + t.margin:
        figure += (f"; but the dense runs learned nothing (median final accuracy {dense_median:.1%}, "
                   f"chance {t.chance:.1%}): there was no accuracy to lose")
        verdict = CANNOT_TELL
    else:
        verdict = SUPPORTED if diff.high < t.margin else NOT_SUPPORTED if diff.low > t.margin else CANNOT_TELL
    ids = [dense[s].point_id for s in seeds] + [chosen[s].point_id for s in seeds]
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
    where: str = ""  # the pair's shared configuration, e.g. "conv2d, c=0.1, lr=0.01"

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
        label = f" ({APPROXIMATE_LABEL})" if self.component == "approx" else ""
        where = f"{self.where}: " if self.where else ""
        return (f"{where}{self.variant}{label} against {self.reference} at iteration {self.iteration}: accuracy "
                f"{self.difference.text}: {outcome}")


def accuracy_at(run: Run, iteration: int) -> float:
    """The accuracy of the last evaluation at or before `iteration`."""
    seen = [e[2] for e in run.evals if e[0] <= iteration]
    return float(seen[-1]) if seen else float("nan")


def _where(settings: Settings) -> str:
    """The axes a study usually varies besides the variant: what tells two comparisons apart."""
    return f"{settings.layer_type or settings.model}, c={settings.connectivity:g}, lr={settings.lr:g}"


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
                    + [other_by_seed[s].point_id for s in seeds], where=_where(by_seed[seeds[0]].settings)))
    return comparisons
