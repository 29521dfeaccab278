"""A point's independent runs → the figures across them (the run is the unit of repetition).

The store keeps each run's rows as it timed them (`run_index` 0, 1, ...). This module adds, for
every point, one StageRow per stage and one RatioRow per comparison with `run_index` None: the
figure across its runs (bench.stats.combine_runs: the geometric mean of the runs' medians or
median ratios, Student's t interval across runs), each run's own figure beside it, and for a
ratio whose runs differ by more than their own steps and a fresh process's allowance explain
(bench.stats.runs_disagree), "unstable across runs" with the likely cause the runs'
environments recorded. A point timed in one run gets its run's figures back,
marked as an interval over steps. Pure: the report and the CSV export call it on stored rows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from bench.measure.stages import STEP
from bench.results.rows import RatioRow, Row, StageRow
from bench.stats import (
    CONFIDENCE,
    INTERVAL_STEPS,
    RATIO_PROCESS_NOISE,
    Ratio,
    RunEstimate,
    combine_run_times,
    combine_runs,
    interval_across,
    run_estimate,
    runs_disagree,
    summarise,
)

LOAD_SPREAD = 0.5  # 1-minute load averages further apart than this across runs: a likely cause
CLOCK_SPREAD = 0.05  # CPU clocks further apart than this fraction across runs: a likely cause


def combined_run_id(run_ids: Iterable[str]) -> str:
    """The run id of a figure across runs: its runs' ids in run order, joined."""
    return "+".join(run_ids)


def likely_cause(envs: list[dict]) -> str:
    """Why runs may disagree, from what their environments recorded: different hosts, the
    machine's load, its clock; or that none of these differed."""
    causes = []
    hosts = sorted({str(e.get("host")) for e in envs})
    if len(hosts) > 1:
        causes.append(f"the runs ran on different hosts ({', '.join(hosts)})")
    loads = [max(v for v in (e.get("load_avg_1m_before"), e.get("load_avg_1m_after")) if v is not None)
             for e in envs if e.get("load_avg_1m_before") is not None or e.get("load_avg_1m_after") is not None]
    if loads and max(loads) - min(loads) > LOAD_SPREAD:
        causes.append(f"the 1-minute load average ranged {min(loads):.1f}-{max(loads):.1f} across runs")
    clocks = [e["cpu_mhz"] for e in envs if e.get("cpu_mhz")]
    if clocks and (max(clocks) - min(clocks)) / max(clocks) > CLOCK_SPREAD:
        causes.append(f"the CPU clock ranged {min(clocks):.0f}-{max(clocks):.0f} MHz across runs")
    return "; ".join(causes) or "no cause recorded (host, load and CPU clock were alike across runs)"


# What the flag means, wherever it is shown.
UNSTABLE_MEANING = (f"the runs differ by more than their own steps and a fresh process's "
                    f"{100 * RATIO_PROCESS_NOISE:.0f}% allowance explain (p < {1 - CONFIDENCE:.2f}): a "
                    "rerun may land elsewhere")


def unstable_runs(estimates: list[RunEstimate], envs: list[dict]) -> str:
    """"unstable across runs: ..." with its meaning and the likely cause when the runs' figures
    (`estimates`, bench.stats.run_estimate) disagree (bench.stats.runs_disagree), else "";
    `envs`: the runs' environments."""
    if not runs_disagree(estimates):
        return ""
    return f"unstable across runs: {UNSTABLE_MEANING}; {likely_cause(envs)}"


def differing_plugins(digests: list[dict | None]) -> list[str]:
    """The plug-in references whose source digest (env.plugin_digests) is not the same in every
    one of `digests` (absent counts as a digest of its own), sorted."""
    digests = [d or {} for d in digests]
    return sorted({ref for d in digests for ref in d if len({str(x.get(ref)) for x in digests}) > 1})


def mixed_code(digests: list[dict | None]) -> str:
    """What differs in the plug-in code the runs of one point ran (their env.plugin_digests, in
    run order), in words: "" when every run ran the same code. A resume after a plug-in changed
    times new runs of an old point with the new code; their figure is one across both."""
    refs = differing_plugins(digests)
    if not refs:
        return ""
    digests = [d or {} for d in digests]
    ref = refs[0]
    versions: dict[str, list[int]] = {}
    for index, d in enumerate(digests):
        versions.setdefault(str(d.get(ref)), []).append(index)
    runs = "; ".join(f"{digest} in run(s) {', '.join(map(str, indices))}" for digest, indices in versions.items())
    return (f"its runs ran {len(versions)} versions of plug-in {ref.rpartition(':')[2]} ({runs}), pooled in "
            "this figure: sweep into a fresh --out to time one version")


def _by_run(rows: list) -> list:
    return sorted(rows, key=lambda r: r.run_index)


def combine_stage(runs: list[StageRow]) -> StageRow:
    """One stage of one point across its runs (share_of_step is set by `combined_rows`)."""
    runs = _by_run(runs)
    first = runs[0]
    pooled = [x for r in runs for x in r.samples_s]
    whole = summarise(pooled)
    medians = [r.median_s for r in runs]
    if len(runs) > 1 and all(m > 0 for m in medians):
        centre, low, high = combine_run_times(medians)
        interval = interval_across(len(runs))
    else:  # one run (or a stage too short for the clock): its own figures, over its steps
        centre, low, high = (first.median_s, first.ci_low_s, first.ci_high_s) if len(runs) == 1 else (
            whole.median, whole.ci_low, whole.ci_high)
        interval = INTERVAL_STEPS if len(runs) == 1 else "steps of all runs pooled"
    if (mixed := mixed_code([r.env.get("plugin_digests") for r in runs])):
        interval += "; " + mixed
    return dataclasses.replace(
        first, run_id=combined_run_id(r.run_id for r in runs), run_index=None,
        n=whole.n, median_s=centre, iqr_s=whole.iqr, min_s=whole.min, mean_s=whole.mean,
        ci_low_s=low, ci_high_s=high, unstable=whole.unstable,
        samples_per_s=first.settings.batch_size / centre if first.samples_per_s is not None and centre > 0 else None,
        samples_s=pooled, epoch_restarts=sum(r.epoch_restarts for r in runs),
        group_wall_s=(sum(r.group_wall_s for r in runs) if all(r.group_wall_s is not None for r in runs)
                      else None),
        run_medians_s=medians, interval=interval)


def _as_ratio(row: RatioRow) -> Ratio:
    return Ratio(n=row.n, median=row.ratio_median, ci_low=row.ratio_ci_low, ci_high=row.ratio_ci_high,
                 p_value=row.p_value)


def _run_estimate(row: RatioRow, samples: dict) -> RunEstimate:
    """One run's ratio with its steps' standard error, from its step samples where stored."""
    a = samples.get((row.point_id, row.run_index, row.stage))
    b = samples.get((row.reference_point_id, row.run_index, row.stage))
    if a and b and min(a) > 0 and min(b) > 0:
        return run_estimate(a, b, row.paired)
    return RunEstimate(math.log(row.ratio_median), 0.0) if row.ratio_median > 0 else RunEstimate(0.0, 0.0)


def combine_ratio(runs: list[RatioRow], run_id: str, reference_run_id: str, envs: list[dict],
                  samples: dict | None = None) -> RatioRow:
    """One comparison across the runs that made it; `envs`: those runs' environments; `samples`:
    (point id, run index, stage) → that run's step samples, whose spread the unstable test reads."""
    runs = _by_run(runs)
    samples = samples or {}
    per_run = [_as_ratio(r) for r in runs]
    r = combine_runs(per_run)
    unstable = unstable_runs([_run_estimate(row, samples) for row in runs], envs)
    return dataclasses.replace(
        runs[0], run_id=run_id, reference_run_id=reference_run_id, run_index=None, n=r.n,
        ratio_median=r.median, ratio_ci_low=r.ci_low, ratio_ci_high=r.ci_high, speedup=r.speedup,
        significant=r.significant, p_value=r.p_value, run_ratios=list(r.runs), interval=r.interval,
        unstable_runs=unstable)


def combined_rows(current: list[Row]) -> list[Row]:
    """The figures across runs of every point and comparison in `current` (the store's current
    per-run rows): StageRows and RatioRows with run_index None."""
    stages: dict[tuple[str, str], list[StageRow]] = {}
    ratios: dict[tuple, list[RatioRow]] = {}
    for row in current:
        if isinstance(row, StageRow) and row.run_index is not None:
            stages.setdefault((row.point_id, row.stage), []).append(row)
        elif isinstance(row, RatioRow) and row.run_index is not None:
            key = (row.point_id, row.reference_point_id, row.component, row.stage, row.paired)
            ratios.setdefault(key, []).append(row)
    combined = {key: combine_stage(runs) for key, runs in stages.items()}
    steps = {pid: row for (pid, stage), row in combined.items() if stage == STEP}
    out: list[Row] = []
    for (pid, _), row in combined.items():
        step = steps.get(pid)
        share = row.median_s / step.median_s if step is not None and step.median_s > 0 else None
        out.append(dataclasses.replace(row, share_of_step=share))
    run_ids = {pid: row.run_id for pid, row in steps.items()}
    envs = {(r.point_id, r.run_index): r.env for r in current if isinstance(r, StageRow) and r.stage == STEP}
    samples = {(r.point_id, r.run_index, r.stage): r.samples_s for r in current
               if isinstance(r, StageRow) and r.run_index is not None}
    for (pid, ref, *_), runs in ratios.items():
        if pid in run_ids and ref in run_ids:
            out.append(combine_ratio(runs, run_ids[pid], run_ids[ref],
                                     [envs.get((pid, r.run_index), {}) for r in runs], samples))
    return out


def with_combined(current: list[Row]) -> list[Row]:
    """`current` with the figures across runs added (`combined_rows`)."""
    return list(current) + combined_rows(current)
