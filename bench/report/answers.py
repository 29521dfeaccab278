"""The report's first screen, per layer type × device: my step, the fastest step, the next change.

Pure functions from the result tables to `Answer`s, rendered as the page's headline and as
summary.md beside it. A configuration is compared only with others of its layer type and device:
a user picks the network and the machine first, then the implementation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.config.options import show_value
from bench.config.settings import BY_NAME, SETTING_NAMES, Settings
from bench.config.variants import parse_variant, pipeline_name, pipeline_variant
from bench.measure.stages import STEP
from bench.report.findings import biggest_stages, ci_text, env_number
from bench.results.combine import mixed_code, unstable_runs
from bench.results.rows import COMPARABLE_FIELDS, ENV_FIELDS
from bench.stats import (
    CI_TOO_FEW,
    INTERVAL_STEPS,
    Ratio,
    difference_of_medians,
    pooled_ratio,
    pooled_time,
    run_estimate,
    selected_ratio,
)
from snn.names import STAGES

MS = 1e3
USER_PIPELINE = pipeline_variant("notebook").name  # every component as the notebook has it
FASTEST_PIPELINE = pipeline_variant("fastest").name  # the sweep's declared fastest pipeline
# An interval whose high end is more than this times its low end does not make a "N x" headline:
# it says between which bounds the answer lies, why it is not narrower and what to do.
IMPRECISE = 2.0


@dataclass(frozen=True)
class Timed:
    point_id: str
    config: str  # the point's label
    step_ms: float
    ci_low_ms: float  # nan: too few steps for a 95% CI
    ci_high_ms: float
    settings: Settings | None = None
    disturbed: str = ""  # why the machine disturbed a run of it that stayed so: no number is stated


@dataclass(frozen=True)
class Change:
    """One difference between the user's step and the fastest, as a user would apply it."""

    what: str  # "deepr: notebook -> exact", "num_workers: 0 -> 2"
    apply: str  # what to write: a variant part for the sweep file's variant, or "setting = value"
    saving_ms: float | None  # step time it saved where it was measured alone; None: not measured alone
    ci_low_ms: float = float("nan")  # 95% CI of that saving
    ci_high_ms: float = float("nan")
    paired: bool | None = None
    shown: bool = False  # corrected-significant (the page's one Holm family)
    where: str = ""  # the point it was measured at (its short label)


@dataclass(frozen=True)
class Answer:
    layer_type: str
    device: str
    user: Timed | None  # pipeline:notebook, when the run timed it
    fastest: Timed
    speedup: Ratio | None  # fastest step over the user's, unpaired (a ratio of medians): below 1, faster;
    # its interval simultaneous over the `candidates` it was picked from (bench.stats.selected_ratio)
    best_change: str | None  # the largest corrected-significant step gain of one component
    remaining_stage: str
    remaining_share: float
    caveats: list[str] = field(default_factory=list)
    candidates: int = 1  # the points the fastest was picked from (same layer type, device, connectivity)
    picked: bool = True  # the fastest was picked by these runs; False: the sweep's declared pipeline:fastest
    unstable: str = ""  # "unstable across runs: ..." when the speed-up's runs disagree (bench.results.combine)
    faster_still: str = ""  # a point whose median beat the declared fastest pipeline's, and whether that is shown
    elsewhere: str = ""  # points left out for running on another machine, code or data than the user's step
    failed_check: str = ""  # points left out because their latest `snn-bench check` failed


def _timed(step: pd.Series, pool: dict[str, list[float]], disturbed: dict[str, str]) -> Timed:
    """A point's step; where its runs are known, its interval over them with the run-to-run
    spread pooled over `pool` (bench.stats.pooled_time), as the headline's; `disturbed`: point
    id → why the machine disturbed one of its runs."""
    runs = pool.get(step["point_id"], [])
    centre, low, high = ((step["median_s"], step["ci_low_s"], step["ci_high_s"]) if len(runs) < 2
                         else pooled_time(runs, list(pool.values())))
    return Timed(point_id=step["point_id"], config=step["config"], step_ms=centre * MS,
                 ci_low_ms=low * MS, ci_high_ms=high * MS, settings=row_settings(step),
                 disturbed=disturbed.get(step["point_id"], ""))


BUSY = "not measured precisely: the machine was busy"
QUIET_RERUN = ("rerun on a quiet machine (the same command again: it times the disturbed runs "
               "again and keeps the rest)")


def _disturbed(runs: pd.DataFrame) -> pd.Series:
    """Which run rows a run the machine disturbed wrote (bench.measure.interference)."""
    if "env.disturbed" not in runs:
        return pd.Series(False, index=runs.index)
    return runs["env.disturbed"].fillna("").astype(bool)


def disturbed_points(runs: pd.DataFrame) -> dict[str, str]:
    """point id → why the machine disturbed one of its runs, for each point with a run that
    stayed disturbed after the sweep's reruns."""
    if runs.empty:
        return {}
    hit = runs[(runs["stage"] == STEP) & _disturbed(runs)]
    return {pid: f"run {int(rows['run_index'].iloc[0])}: {rows['env.disturbed'].iloc[0]}"
            for pid, rows in hit.groupby("point_id")}


def row_settings(row: pd.Series) -> Settings:
    """A point's Settings from its row of a results table (the settings are its columns)."""
    return Settings.from_dict({name: row[name] for name in SETTING_NAMES})


def _variant_text(variant: str) -> str:
    """A variant as a reader writes it: a named pipeline by its name."""
    return pipeline_name(variant) or variant


def short_label(settings: Settings, other: Settings) -> str:
    """Only what differs from `other`: the label of a point shown beside one other point (a
    setting its variant makes neutral, such as a dense point's connectivity, goes unsaid)."""
    parts = []
    variant = parse_variant(settings.variant)
    for name in ("variant", *(n for n in SETTING_NAMES if n != "variant")):  # the variant first
        mine, theirs = getattr(settings, name), getattr(other, name)
        if mine != theirs and BY_NAME[name].applies(variant, settings.as_dict()):
            parts.append(_variant_text(mine) if name == "variant" else f"{name} = {show_value(mine)}")
    return ", ".join(parts) or "the same settings"


def changes(answer: "Answer", stages: pd.DataFrame, ratios: pd.DataFrame) -> list[Change]:
    """From the user's step to the fastest: each component whose variant differs, and each other
    setting that differs, with what it saved where the run measured it alone (its own ratio
    against the reference, at the user's num_workers where it was measured there) and how to
    apply it."""
    if answer.user is None or answer.user.settings is None or answer.user.point_id == answer.fastest.point_id:
        return []
    mine, fast = answer.user.settings, answer.fastest.settings
    mine_variant, fast_variant = parse_variant(mine.variant), parse_variant(fast.variant)
    found = []
    for component, _ in mine_variant.choices:
        before, after = mine_variant.of(component), fast_variant.of(component)
        if before != after:
            found.append(_measured(Change(what=f"{component}: {before} -> {after}",
                                          apply=f'variant: add "{component}:{after}"', saving_ms=None),
                                   component, after, answer, stages, ratios))
    for name in SETTING_NAMES:
        if name != "variant" and getattr(mine, name) != getattr(fast, name):
            value = show_value(getattr(fast, name))
            found.append(Change(what=f"{name}: {show_value(getattr(mine, name))} -> {value}",
                                apply=f"{name} = {value}", saving_ms=None))
    return found


def _measured(change: Change, component: str, choice: str, answer: "Answer", stages: pd.DataFrame,
              ratios: pd.DataFrame) -> Change:
    """The change with the step saving its own ratio row measured: the variant against its
    reference at one point, saving = the reference's step x (1 - ratio), with the ratio's CI."""
    if ratios.empty:
        return change
    rows = ratios[(ratios["layer_type"] == answer.layer_type) & (ratios["device"] == answer.device)
                  & (ratios["stage"] == STEP) & (ratios["component"] == component)]
    rows = rows.loc[[parse_variant(v).of(component) == choice for v in rows["variant"]]]
    at_user = rows[rows["num_workers"] == answer.user.settings.num_workers]
    rows = at_user if not at_user.empty else rows
    if rows.empty:
        return change
    row = rows.sort_values("n", ascending=False).iloc[0]
    reference = stages[(stages["point_id"] == row["reference_point_id"]) & (stages["stage"] == STEP)
                       & (stages["run_id"] == row["reference_run_id"])]
    if reference.empty:
        return change
    reference_ms = float(reference["median_s"].iloc[0]) * MS
    point = row_settings(row)
    return dataclasses.replace(
        change, saving_ms=reference_ms * (1 - row["ratio_median"]),
        ci_low_ms=reference_ms * (1 - row["ratio_ci_high"]), ci_high_ms=reference_ms * (1 - row["ratio_ci_low"]),
        paired=bool(row["paired"]), shown=bool(row["significant_holm"]),
        where=short_label(point, answer.user.settings))


def _exact_points(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of points whose variant computes what it claims: the answers (how fast can my
    step be, and which change gets there) never rest on an approximate variant, whose speed
    counts only beside its accuracy (snn.approx)."""
    if frame.empty:
        return frame
    return frame[[not parse_variant(v).approximate for v in frame["variant"]]]


def _best_change(ratios: pd.DataFrame, layer_type: str, device: str, workers: int | None) -> str | None:
    """The one component whose variant sped up the step most, significant after correction;
    measured at the user's num_workers where any was (the user's own setting), else at any."""
    if ratios.empty:
        return None
    mine = ratios[(ratios["layer_type"] == layer_type) & (ratios["device"] == device)
                  & (ratios["stage"] == STEP) & ratios["significant_holm"] & (ratios["speedup"] > 1)
                  & (ratios["component"] != "pipeline")]  # one component at a time
    if workers is not None and (mine["num_workers"] == workers).any():
        mine = mine[mine["num_workers"] == workers]
    if mine.empty:
        return None
    best = mine.sort_values("speedup", ascending=False).iloc[0]
    how = "paired steps" if best["paired"] else "unpaired"
    caveat = (" With workers, its step includes a data_wait shared with the points timed beside it."
              if best["paired"] and best["num_workers"] > 0 else "")
    return (f"{best['component']}: {best['config']} against {best['reference_variant']}, "
            f"{best['speedup']:.2f}x faster per step (ratio {best['ratio_median']:.3f}, 95% CI "
            f"{ci_text(best['ratio_ci_low'], best['ratio_ci_high'])} uncorrected, shown after "
            f"correcting for every comparison; {how}).{caveat}")


def _env_value(row: pd.Series, field: str):
    value = row.get(f"env.{field}")
    return None if value is None or (isinstance(value, float) and value != value) else value


def env_differences(row: pd.Series, other: pd.Series) -> list[str]:
    """What differs between two rows' environments among COMPARABLE_FIELDS: "host a, not b"."""
    return [f"{field} {_env_value(row, field)}, not {_env_value(other, field)}" for field in COMPARABLE_FIELDS
            if _env_value(row, field) != _env_value(other, field)]


def _elsewhere(left_out: pd.DataFrame, user: pd.Series) -> str:
    """One sentence on the points left out of the answer for another environment than yours."""
    if left_out.empty:
        return ""
    first = left_out.iloc[0]
    return (f"{len(left_out)} point(s) ran on another machine, code or data than your step "
            f"({first['config']}: {'; '.join(env_differences(first, user))}), so no answer divides one "
            "by the other: time them in one sweep on one machine")


def _failed_check(left_out: pd.DataFrame, failed: dict[str, str]) -> str:
    """One sentence on the points left out of the answer because their equivalence check failed."""
    if left_out.empty:
        return ""
    first = left_out.iloc[0]
    return (f"{len(left_out)} point(s) failed their equivalence check, so none is ranked or divided by "
            f"yours ({first['config']}: {failed[first['point_id']]}): a variant that does not compute what "
            "its reference computes is not a faster way to train; fix it and run snn-bench check again")


def _code_caveats(runs: pd.DataFrame, points: list[pd.Series]) -> list[str]:
    """One sentence per compared point whose runs ran different plug-in code (combine.mixed_code)."""
    if runs.empty or "env.plugin_digests" not in runs:
        return []
    caveats = []
    for point in points:
        mine = runs[(runs["point_id"] == point["point_id"]) & (runs["stage"] == STEP)].sort_values("run_index")
        if (mixed := mixed_code([d if isinstance(d, dict) else None for d in mine["env.plugin_digests"]])):
            caveats.append(f"{point['config']}: {mixed}")
    return caveats


def _caveats(fastest: pd.Series, user: pd.Series | None, skipped: list[str]) -> list[str]:
    caveats = list(skipped)
    cores, threads = int(env_number(fastest, "env.cores")), int(env_number(fastest, "env.threads"))
    workers = int(fastest["num_workers"])
    if workers and cores and threads and workers + threads > cores:
        caveats.append(f"the fastest ran {workers} DataLoader workers beside {threads} torch "
                       f"threads on {cores} cores: they compete, and its data_wait depends on "
                       "the other points timed in its group")
    if user is None:
        caveats.append('the user\'s pipeline was not timed for this layer type and device: add a '
                       '[[points]] entry with variant = "pipeline:notebook" to the sweep')
    else:
        caveats.append("the speed-up is a ratio of medians with an unpaired CI: the two steps ran "
                       "in different groups, on DataLoaders of their own")
    return caveats


def _run_steps(runs: pd.DataFrame, point_id: str) -> dict[int, pd.Series]:
    """run index → that run's step row of one point."""
    if runs.empty:
        return {}
    mine = runs[(runs["point_id"] == point_id) & (runs["stage"] == STEP)]
    return {int(row["run_index"]): row for _, row in mine.iterrows()}


def _env(row: pd.Series) -> dict:
    return {name: row.get(f"env.{name}") for name in ENV_FIELDS}


def run_pool(runs: pd.DataFrame, point_ids) -> dict[str, list[float]]:
    """point id → its runs' step medians, in run order, for each of `point_ids` with runs: the
    points whose run-to-run spread a headline pools (bench.stats.pooled_ratio)."""
    if runs.empty:
        return {}
    wanted = set(point_ids)
    # a disturbed run's time is partly the machine's, not the process's: left out
    steps = runs[(runs["stage"] == STEP) & runs["point_id"].isin(wanted) & (runs["median_s"] > 0) & ~_disturbed(runs)]
    return {pid: list(rows.sort_values("run_index")["median_s"]) for pid, rows in steps.groupby("point_id")}


def headline_ratio(fastest: pd.Series, user: pd.Series, runs: pd.DataFrame, candidates: int,
                   pool: dict[str, list[float]] | None = None) -> tuple[Ratio, str]:
    """The fastest step over the user's, and "unstable across runs: ..." or "". Across runs:
    the ratio of the two points' geometric mean run medians, its interval with the run-to-run
    spread pooled over `pool` (the points of the layer type and device that load as these two
    do; bench.stats.pooled_ratio), simultaneous over `candidates` where the fastest was picked by these runs;
    from one run, over its steps (bench.stats.selected_ratio)."""
    mine, theirs = _run_steps(runs, fastest["point_id"]), _run_steps(runs, user["point_id"])
    shared = sorted(set(mine) & set(theirs))
    pool = pool if pool is not None else run_pool(runs, [fastest["point_id"], user["point_id"]])
    if len(shared) < 2:
        r = selected_ratio(fastest["samples_s"], user["samples_s"], candidates)
        return dataclasses.replace(r, runs=(r.median,), interval=INTERVAL_STEPS), ""
    each = tuple(float(np.median(mine[i]["samples_s"]) / np.median(theirs[i]["samples_s"])) for i in shared)
    estimates = [run_estimate(mine[i]["samples_s"], theirs[i]["samples_s"]) for i in shared]
    unstable = unstable_runs(estimates, [_env(mine[i]) for i in shared])
    ratio = pooled_ratio([mine[i]["median_s"] for i in sorted(mine)], [theirs[i]["median_s"] for i in sorted(theirs)],
                         list(pool.values()), candidates=candidates, runs=each)
    return ratio, unstable


def _faster_still(measured: pd.Series, declared: pd.Series, runs: pd.DataFrame, pool: dict,
                  candidates: int) -> str:
    """A sentence on a point whose median step beat the declared fastest pipeline's, with its
    ratio to it picked from `candidates` (simultaneous over them)."""
    r, _ = headline_ratio(measured, declared, runs, candidates, pool)
    verdict = "shown faster" if r.significant and r.median < 1 else "no difference shown"
    return (f"{measured['config']} took a lower median step ({measured['median_s'] * MS:.0f} ms) than the "
            f"fastest pipeline: ratio {r.median:.3f}, 95% CI {ci_text(r.ci_low, r.ci_high)} simultaneous over "
            f"the {candidates} other points, {verdict}")


def answers(stages: pd.DataFrame, ratios: pd.DataFrame, skipped: list[str] = (),
            runs: pd.DataFrame | None = None, failed_checks: dict[str, str] | None = None) -> list[Answer]:
    """One Answer per layer type × device that has timed points; the fastest is taken among the
    points at the user's connectivity when the user's pipeline was timed. `skipped`: one sentence
    per reason points were skipped (an absent device), repeated in every answer's caveats;
    `runs`: each run's stage rows, which the speed-up is taken across; `failed_checks`: point id →
    its failed check's first problem (bench.report.load.failed_checks), points never ranked."""
    if stages.empty:
        return []
    runs = pd.DataFrame() if runs is None else runs
    steps, ratios = _exact_points(stages[stages["stage"] == STEP]), _exact_points(ratios)
    biggest = biggest_stages(stages)  # each point's largest stage, by point id
    result = []
    disturbed = disturbed_points(runs)
    for (layer_type, device), group in steps.groupby(["layer_type", "device"], sort=True):
        users = group[group["variant"] == USER_PIPELINE].sort_values("num_workers")
        user = users.iloc[0] if not users.empty else None
        # Like with like: the fastest among points training what the user trains (their
        # connectivity); a dense point skips rewiring and trains another network.
        same_work = group if user is None else group[group["connectivity"] == user["connectivity"]]
        # Like with like: a step timed on another machine, commit or data is not divided by yours.
        away = (pd.Series(False, index=same_work.index) if user is None else
                pd.Series([bool(env_differences(row, user)) for _, row in same_work.iterrows()], index=same_work.index))
        elsewhere = _elsewhere(same_work[away], user) if user is not None else ""
        same_work = same_work[~away]
        # A variant whose equivalence check failed computes something else: never the fastest way.
        wrong = same_work["point_id"].isin(failed_checks or {})
        failed_check = _failed_check(same_work[wrong], failed_checks or {})
        same_work = same_work[~wrong]
        if same_work.empty:
            continue
        # A point the machine disturbed is never picked: its time is partly another process's.
        clean = same_work[~same_work["point_id"].isin(disturbed)]
        measured = (clean if not clean.empty else same_work).sort_values("median_s").iloc[0]
        declared = same_work[same_work["variant"] == FASTEST_PIPELINE]
        # The sweep's declared fastest pipeline is compared with the user's as planned, with no
        # pick to correct for; without it, the fastest is picked from the points other than the
        # user's, and its interval is simultaneous over them.
        picked = user is None or declared.empty
        fastest = measured if picked else declared.sort_values("median_s").iloc[0]
        # One machine's process noise, pooled over the points loading as the two compared do:
        # a group whose loader has workers spreads its runs far more (0.4-0.65 on the linear
        # preset here, against 0.01-0.12 without), which is its loading's noise, not theirs.
        loading = {int(fastest["num_workers"])} | ({int(user["num_workers"])} if user is not None else set())
        pool = run_pool(runs, group[group["num_workers"].isin(loading)]["point_id"])
        others = len(clean) - (user is not None and user["point_id"] in set(clean["point_id"]))
        candidates = max(1, others) if picked else 1
        busy = any(p is not None and p["point_id"] in disturbed for p in (user, fastest))
        speedup, unstable = (headline_ratio(fastest, user, runs, candidates, pool)
                             if user is not None and user["point_id"] != fastest["point_id"] and not busy
                             else (None, ""))
        faster_still = ("" if picked or busy or measured["point_id"] in (fastest["point_id"], user["point_id"])
                        else _faster_still(measured, fastest, runs, pool, max(1, others - 1)))
        result.append(Answer(
            layer_type=layer_type, device=device,
            user=_timed(user, pool, disturbed) if user is not None else None,
            fastest=_timed(fastest, pool, disturbed),
            speedup=speedup, candidates=candidates, picked=picked, unstable=unstable,
            faster_still=faster_still, elsewhere=elsewhere, failed_check=failed_check,
            best_change=_best_change(ratios, layer_type, device,
                                     int(user["num_workers"]) if user is not None else None),
            remaining_stage=biggest.loc[fastest["point_id"], "stage"],
            remaining_share=float(biggest.loc[fastest["point_id"], "share_of_step"]),
            caveats=_code_caveats(runs, [p for p in (user, fastest) if p is not None])
            + _caveats(fastest, user, list(skipped))))
    return result


def runs_text(r: Ratio) -> str:
    """How a ratio's interval was made and each run's ratio: "t across 3 runs; runs 0.251, 0.262, 0.255"."""
    if len(r.runs) < 2:
        return r.interval or INTERVAL_STEPS
    return f"{r.interval}; each run: {', '.join(f'{x:.3f}' for x in r.runs)}"


def precise(r: Ratio) -> bool:
    """An interval narrow enough to print one "N x" for: bounded, and its high end at most
    IMPRECISE times its low end."""
    return r.ci_low > 0 and r.ci_high > 0 and r.ci_high / r.ci_low <= IMPRECISE


def imprecision(answer: Answer) -> str:
    """For a speed-up too wide to print as one number: what is known, why it is not narrower,
    and the one thing to do; "" where it is precise."""
    s = answer.speedup
    if s is None or precise(s):
        return ""
    if not (s.ci_low > 0 and s.ci_high > 0):
        return ("not measured precisely: too few runs for an interval (runs of one step each, or one run); "
                "set runs = 3 or more and rerun")
    why = ("its runs disagree beyond what a fresh process explains (unstable across runs)" if answer.unstable
           else f"the runs spread widely ({runs_text(s)})")
    return (f"not measured precisely: between {1 / s.ci_high:.2f}x and {1 / s.ci_low:.2f}x your step's speed "
            f"(95% CI of the ratio {ci_text(s.ci_low, s.ci_high)}), since {why}; rerun on a quiet machine "
            "(nothing else running), with more runs if it stays this wide")


def left_out(answer: Answer) -> list[str]:
    """Why points were left out of this answer, one sentence each."""
    return [why for why in (answer.elsewhere, answer.failed_check) if why]


def pick_text(answer: Answer) -> str:
    """How the fastest was chosen, as the interval beside it accounts for it."""
    if not answer.picked:
        return "the sweep's declared fastest pipeline, compared as planned (no pick to correct for)"
    return f"simultaneous over the {answer.candidates} points it was picked from"


def sentences(answer: Answer) -> list[str]:
    """The answer as the four lines a reader scans: my step, the fastest, the next change, and
    what this run cannot tell."""
    def step(t: Timed) -> str:
        if t.disturbed:
            return f"{BUSY} ({t.disturbed}); {QUIET_RERUN}"
        ci = ci_text(t.ci_low_ms, t.ci_high_ms, '.0f')
        return f"{t.step_ms:.0f} ms per step ({'95% CI ' + ci + ' ms' if ci != CI_TOO_FEW else ci})"

    lines = [f"Your step ({answer.user.config}): {step(answer.user)}." if answer.user
             else "Your step: not timed in this run."]
    fastest = (f"Fastest measured ({answer.fastest.config}): " if answer.picked
               else f"Fastest pipeline ({answer.fastest.config}): ") + step(answer.fastest)
    if answer.speedup is not None:
        s = answer.speedup
        if (vague := imprecision(answer)):
            fastest += f", {vague}"
        else:
            verdict = (f"{s.speedup:.2f}x faster than yours" if s.significant and s.median < 1
                       else f"{1 / s.speedup:.2f}x slower than yours" if s.significant
                       else "no difference from yours shown")
            fastest += (f", {verdict} (ratio {s.median:.3f}, 95% CI {ci_text(s.ci_low, s.ci_high)}, "
                        f"{pick_text(answer)}; {runs_text(s)})")
        if answer.unstable:
            fastest += f"; {answer.unstable}"
    lines.append(fastest + f"; its biggest stage is {answer.remaining_stage}, "
                 f"{100 * answer.remaining_share:.0f}% of its step.")
    if answer.faster_still:
        lines.append(answer.faster_still[0].upper() + answer.faster_still[1:] + ".")
    lines += ["Left out: " + why + "." for why in left_out(answer)]
    lines.append(f"Largest single change: {answer.best_change}" if answer.best_change else
                 "Largest single change: none was shown to speed up the step after correcting "
                 "for every comparison in this run, so none is recommended.")
    lines.append("Not told by this run: " + "; ".join(answer.caveats) + ".")
    return lines


def markdown(found: list[Answer]) -> str:
    """summary.md: the same answers, readable in a terminal or a pull request."""
    if not found:
        return "# snn-bench summary\n\nNothing was timed.\n"
    blocks = ["# snn-bench summary"]
    for answer in found:
        blocks.append(f"## {answer.layer_type} on {answer.device}\n\n"
                      + "\n".join(f"- {line}" for line in sentences(answer)))
    return "\n\n".join(blocks) + "\n"


def waterfall(stages: pd.DataFrame, answer: Answer) -> pd.DataFrame:
    """From the user's step to the fastest, stage by stage: each stage's change of median
    (fastest − user, ms) with its CI (unpaired bootstrap), and `other`, what the step's median
    moved beyond the sum of its stages' (medians do not add). Empty without both points."""
    if answer.user is None or answer.user.point_id == answer.fastest.point_id:
        return pd.DataFrame(columns=["bar", "change_ms", "ci_low_ms", "ci_high_ms"])
    samples = stages.set_index(["point_id", "stage"])["samples_s"]
    rows = []
    for stage in STAGES:
        user, fast = (answer.user.point_id, stage), (answer.fastest.point_id, stage)
        if user in samples.index and fast in samples.index:
            d = difference_of_medians(samples[fast], samples[user])
            rows.append({"bar": stage, "change_ms": d.median * MS, "ci_low_ms": d.ci_low * MS,
                         "ci_high_ms": d.ci_high * MS})
    other = answer.fastest.step_ms - answer.user.step_ms - sum(r["change_ms"] for r in rows)
    rows.append({"bar": "other", "change_ms": other, "ci_low_ms": float("nan"), "ci_high_ms": float("nan")})
    return pd.DataFrame(rows)
