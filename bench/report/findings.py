"""Pure functions from result tables to what a reader wants answered: tables and sentences.

Where does the time go (biggest stage), what should I change (fastest configuration, best
num_workers, best variant per stage), and is anything untrustworthy (unstable, drifting, failed).
"""

from __future__ import annotations

import math

import pandas as pd

from bench.config.variants import APPROXIMATE_LABEL
from bench.measure.stages import BACKWARD_FLOOR_STAGE, DATA_FLOOR_STAGE, FLOOR_STAGE, FORWARD_FLOOR_STAGE, STEP
from bench.stats import CI_TOO_FEW, CONFIDENCE, holm
from snn.names import STAGES

MS = 1e3


def _steps(stages: pd.DataFrame) -> pd.DataFrame:
    return stages[stages["stage"] == STEP]


def biggest_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """Each point's largest stage row (of the training step's stages), indexed by point id."""
    parts = stages[stages["stage"].isin(STAGES)]
    return parts.loc[parts.groupby("point_id")["median_s"].idxmax()].set_index("point_id")


def step_table(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: step time, throughput, the biggest stage and its share."""
    if stages.empty:
        return pd.DataFrame()
    steps = _steps(stages).set_index("point_id")
    biggest = biggest_stages(stages)
    table = pd.DataFrame({
        "configuration": steps["config"],
        "step_ms": steps["median_s"] * MS,
        "ci_low_ms": steps["ci_low_s"] * MS,
        "ci_high_ms": steps["ci_high_s"] * MS,
        "samples_per_s": steps["samples_per_s"],
        "biggest_stage": biggest["stage"].reindex(steps.index),
        "biggest_share": biggest["share_of_step"].reindex(steps.index),
        "unstable": steps["unstable"].astype(bool),
    })
    return table.sort_values("step_ms").reset_index(drop=True)


def fastest(stages: pd.DataFrame) -> list[str]:
    """Per layer type and device, the configuration with the shortest step: a user picks the
    network and the device first, so configurations are never ranked across them."""
    steps = _steps(stages)
    if steps.empty:
        return []
    sentences = []
    for (layer, device), group in steps.groupby(["layer_type", "device"], sort=True):
        table = step_table(stages[stages["point_id"].isin(group["point_id"])])
        best = table.iloc[0]
        sentences.append(
            f"Fastest {layer} on {device}: {best['configuration']}, {best['samples_per_s']:.1f} "
            f"samples/s (median step {best['step_ms']:.0f} ms, 95% CI "
            f"{ci_text(best['ci_low_ms'], best['ci_high_ms'], '.0f')} ms).")
    return sentences


def ci_text(low: float, high: float, fmt: str = ".3f") -> str:
    """"low-high", or why there is no interval (too few samples for 95%)."""
    if pd.isna(low) or pd.isna(high):
        return CI_TOO_FEW
    return f"{low:{fmt}}-{high:{fmt}}"


def biggest_stage(stages: pd.DataFrame) -> str | None:
    table = step_table(stages)
    if table.empty:
        return None
    counts = table["biggest_stage"].value_counts()
    if counts.empty:  # only whole-step rows: no stage to name
        return None
    stage = counts.index[0]
    shares = table.loc[table["biggest_stage"] == stage, "biggest_share"]
    return (f"Biggest stage: {stage}, the largest part of the step in {counts.iloc[0]} of "
            f"{len(table)} configurations ({100 * shares.min():.0f}-{100 * shares.max():.0f}% of "
            "their step time).")


def best_workers(stages: pd.DataFrame) -> list[str]:
    """Per device and layer type, the num_workers with the shortest median step (all variants
    pooled by their median), and how it compares with the other counts."""
    steps = _steps(stages)
    if steps.empty or steps["num_workers"].nunique() < 2:
        return []
    sentences = []
    per = steps.groupby(["device", "layer_type", "num_workers"])["median_s"].median()
    for (device, layer), times in per.groupby(level=[0, 1]):
        times = times.droplevel([0, 1]).sort_values()
        others = ", ".join(f"{t * MS:.0f} ms at {w}" for w, t in times.iloc[1:].items())
        sentences.append(f"Best num_workers on {device} for {layer}: {times.index[0]} "
                         f"({times.iloc[0] * MS:.0f} ms per step; {others}).")
    return sentences


# The stages a component's variants are meant to change, and the whole step.
STAGES_OF_COMPONENT = {"deepr": ("rewiring", STEP), "forward": ("forward", "backward", STEP),
                       "framing": ("data_wait", STEP), "loading": ("data_wait", STEP),
                       "cache": ("data_wait", STEP), "approx": ("forward", "backward", STEP),
                       "pipeline": ("data_wait", "forward", "backward", "rewiring", STEP)}


def with_corrected_significance(ratios: pd.DataFrame) -> pd.DataFrame:
    """`ratios` corrected on their own (a table built outside a report page: tests, other callers);
    a page corrects every comparison it shows at once, with `correct_page_family`."""
    return correct_page_family(ratios, pd.DataFrame())[0]


def correct_page_family(ratios: pd.DataFrame, sparsity: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Holm's correction across every comparison one report page shows, as one family: the
    variant ratios and the workload section's sparsity comparisons (report.workload).

    `tested`: a ratio is of a stage its component is meant to change, or the whole step;
    untested stages are never significant (a DeepR variant cannot speed up the loss, whatever
    its CI says) and do not enter the family. `significant_holm`: rejected by Holm across the
    family, and the comparison's own CI excludes 1 too (a p-value alone could reject where too
    few samples gave no CI)."""
    ratios, sparsity = ratios.copy(), sparsity.copy()
    if ratios.empty:
        ratios = ratios.assign(tested=pd.Series(dtype=bool), significant_holm=pd.Series(dtype=bool))
        tested = ratios.index[:0]
    else:
        ratios["tested"] = [stage in STAGES_OF_COMPONENT.get(component, ())
                            for stage, component in zip(ratios["stage"], ratios["component"])]
        ratios["significant_holm"] = False
        tested = ratios.index[ratios["tested"]]
    p_ratios = (ratios["p_value"] if "p_value" in ratios else pd.Series(float("nan"), index=ratios.index))
    p_values = list(p_ratios.loc[tested].fillna(1.0))
    if not sparsity.empty:
        p_values += list(sparsity["p_value"].fillna(1.0))
    rejected = holm(p_values, alpha=1 - CONFIDENCE)
    if len(tested):
        ratios.loc[tested, "significant_holm"] = [r and bool(s) for r, s in
                                                  zip(rejected[:len(tested)], ratios.loc[tested, "significant"])]
    if not sparsity.empty:
        excludes_one = (sparsity["ci_high"] < 1) | (sparsity["ci_low"] > 1)
        sparsity["significant_holm"] = [r and bool(x) for r, x in zip(rejected[len(tested):], excludes_one)]
    return ratios, sparsity


def _corrected(ratios: pd.DataFrame) -> pd.DataFrame:
    """Ratios with `tested` and `significant_holm`: as load_results gives them, or corrected
    here for a table built elsewhere (tests, other callers)."""
    return ratios if "significant_holm" in ratios else with_corrected_significance(ratios)


def speedup_table(ratios: pd.DataFrame, relevant_only: bool = False) -> pd.DataFrame:
    """Comparisons: configuration, stage, what it is compared with, ratio, CI and significance
    after correction; `relevant_only` keeps the tested stages (each component's, and the step)."""
    if ratios.empty:
        return pd.DataFrame()
    ratios = _corrected(ratios)
    if relevant_only:
        ratios = ratios[ratios["tested"]]
    columns = ["config", "stage", "component", "reference_variant", "paired", "speedup",
               "ratio_median", "ratio_ci_low", "ratio_ci_high", "significant_holm", "interval", "each_run",
               "unstable_runs"]
    if "check" in ratios and (ratios["check"] != "").any():  # snn-bench check was run
        columns.append("check")
    ratios = ratios.assign(each_run=[", ".join(f"{x:.3f}" for x in runs) if len(runs) > 1 else ""
                                     for runs in ratios["run_ratios"]])
    table = ratios[columns].copy()
    return table.sort_values(["component", "stage", "speedup"],
                             ascending=[True, True, False]).reset_index(drop=True)


SHARED_LOADER_CAVEAT = (
    "With DataLoader workers, the points of a group share one loader, so a point's data_wait "
    "depends on how long its neighbours' steps gave the workers to prefetch: read data_wait (and "
    "the step, which includes it) as the group's, not the variant's alone.")


def _shared_loader_caveat(row: pd.Series) -> str:
    """The caveat, where it matters: a paired comparison with workers, of data_wait or the step."""
    if row["paired"] and row["num_workers"] > 0 and row["stage"] in ("data_wait", STEP):
        return " " + SHARED_LOADER_CAVEAT
    return ""


def best_variants(ratios: pd.DataFrame) -> list[str]:
    """Per layer type and device, per stage a component changes (and the step), the biggest
    speed-up of a variant over its reference that survives the correction; or, when none does,
    one sentence saying nothing was shown (and so nothing is recommended)."""
    if ratios.empty:
        return []
    ratios = _corrected(ratios)
    tested = int(ratios["tested"].sum())
    # Whole pipelines lead the findings on their own (pipeline_comparison); here, one component
    # at a time, so a pipeline's data_wait gain is not filed as the best rewiring change.
    winners = ratios[ratios["significant_holm"] & (ratios["speedup"] > 1)
                     & (ratios["component"] != "pipeline")]
    if winners.empty:
        return [f"No variant was shown faster than its reference on a stage it changes, after "
                f"correcting for {tested} comparisons (Holm, 5%): this run recommends no change."]
    sentences = []
    for (layer, device), group in winners.groupby(["layer_type", "device"], sort=True):
        for stage in [s for s in STAGES + (STEP,) if s in set(group["stage"])]:
            best = group[group["stage"] == stage].sort_values("speedup", ascending=False).iloc[0]
            how = ("median of paired per-step ratios" if best["paired"]
                   else "ratio of medians, unpaired: timed in separate groups")
            sentences.append(
                f"Best for {stage} ({layer}, {device}): {best['config']} is {best['speedup']:.2f}x "
                f"faster than {best['reference_variant']} (ratio {best['ratio_median']:.3f}, 95% CI "
                f"{ci_text(best['ratio_ci_low'], best['ratio_ci_high'])}; {how}; significant after "
                f"correcting for {tested} comparisons)." + _shared_loader_caveat(best)
                + (f" It is {APPROXIMATE_LABEL}." if best["component"] == "approx" else ""))
    return sentences


def rewiring_table(stages: pd.DataFrame) -> pd.DataFrame:
    """Rewiring and elementwise-floor medians per DeepR point (ms)."""
    deepr = stages[~stages["variant"].str.startswith("deepr:none")]
    if deepr.empty:
        return pd.DataFrame()
    rewiring = deepr[deepr["stage"] == "rewiring"].set_index("point_id")
    floor = deepr[deepr["stage"] == FLOOR_STAGE].set_index("point_id")["median_s"]
    table = pd.DataFrame({
        "config": rewiring["config"],  # names every setting that differs (lr, seed, ...)
        "layer_type": rewiring["layer_type"], "variant": rewiring["variant"],
        "num_workers": rewiring["num_workers"], "device": rewiring["device"],
        "connectivity": rewiring["connectivity"],
        "rewiring_ms": rewiring["median_s"] * MS,
        "ci_low_ms": rewiring["ci_low_s"] * MS, "ci_high_ms": rewiring["ci_high_s"] * MS,
        "floor_ms": floor.reindex(rewiring.index) * MS,
        # rewiring traffic, summed over the rewired layers: what each update had to do
        "deaths_per_update": rewiring["deaths_per_update"].map(sum),
        "revivals_per_update": rewiring["revivals_per_update"].map(sum),
    })
    table["x_floor"] = table["rewiring_ms"] / table["floor_ms"]
    return table.sort_values(["layer_type", "variant", "connectivity"]).reset_index(drop=True)


LIMIT_STAGES = (  # stage, its floor, dense synaptic FLOPs per MAC (None: not synaptic work)
    ("data_wait", DATA_FLOOR_STAGE, None),
    ("forward", FORWARD_FLOOR_STAGE, 2),
    ("backward", BACKWARD_FLOOR_STAGE, 4),  # weight and input gradients: about twice the forward
    ("rewiring", FLOOR_STAGE, None),
)


def limits_table(stages: pd.DataFrame, workload: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each point timed with the synapses-only floors (pipeline:fastest) stage by stage: its median
    beside its floor's, their ratio, and for forward and backward the dense synaptic GFLOP/s each
    achieved (the workload counter's dense synaptic operations per sample × batch), as
    forward + backward too."""
    floored = sorted(set(stages.loc[stages["stage"] == FORWARD_FLOOR_STAGE, "point_id"]))
    synops = (workload.set_index("point_id")["dense_synops"]
              if workload is not None and not workload.empty and "dense_synops" in workload else pd.Series(dtype=float))
    rows = []
    for point_id in floored:
        mine = stages[stages["point_id"] == point_id].set_index("stage")
        head = mine.iloc[0]
        macs = float(synops.get(point_id, math.nan)) * float(head["batch_size"])
        kept = [(stage, floor, per_mac) for stage, floor, per_mac in LIMIT_STAGES
                if stage in mine.index and floor in mine.index]
        entries = [(stage, mine.loc[stage, "median_s"], mine.loc[floor, "median_s"], per_mac)
                   for stage, floor, per_mac in kept]
        if {"forward", "backward"} <= {e[0] for e in entries}:
            fwd, bwd = (e for e in entries if e[0] in ("forward", "backward"))
            entries.append(("forward+backward", fwd[1] + bwd[1], fwd[2] + bwd[2], 6))
        for stage, time_s, floor_s, per_mac in entries:
            flops = per_mac * macs if per_mac else math.nan
            rows.append({"config": head["config"], "layer_type": head["layer_type"], "device": head["device"],
                         "num_workers": head["num_workers"], "connectivity": head["connectivity"],
                         "stage": stage, "time_ms": time_s * MS, "floor_ms": floor_s * MS,
                         "x_floor": time_s / floor_s if floor_s > 0 else math.nan,
                         "gflops": flops / time_s / 1e9 if time_s > 0 else math.nan,
                         "floor_gflops": flops / floor_s / 1e9 if floor_s > 0 else math.nan})
    return pd.DataFrame(rows)


def deepr_matching(stages: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Each exact DeepR point beside the notebook point its rewiring ratio was taken against
    (the pairing bench.results.outcome_rows made: same settings otherwise): whether Algorithm 1's noise and
    L1 were off for both, and each one's deaths per update."""
    if ratios.empty or stages.empty:
        return pd.DataFrame()
    pairs = ratios[(ratios["component"] == "deepr") & (ratios["stage"] == "rewiring")
                   & ratios["variant"].str.contains("deepr:exact", regex=False)
                   & ratios["reference_variant"].str.contains("deepr:notebook", regex=False)]
    rewiring = stages[stages["stage"] == "rewiring"].set_index("point_id")
    rows = []
    for _, pair in pairs.drop_duplicates(["point_id", "reference_point_id"]).iterrows():
        if pair["point_id"] not in rewiring.index or pair["reference_point_id"] not in rewiring.index:
            continue
        point, partner = rewiring.loc[pair["point_id"]], rewiring.loc[pair["reference_point_id"]]
        notebook_deaths, exact_deaths = sum(partner["deaths_per_update"]), sum(point["deaths_per_update"])
        noise_off = point["temperature"] == 0 and point["l1"] == 0
        rows.append({
            "config": point["config"],
            "noise_and_l1": "off for both" if noise_off else
                            f"exact only (T={point['temperature']:g}, alpha={point['l1']:g})",
            "notebook_deaths_per_update": notebook_deaths,
            "exact_deaths_per_update": exact_deaths,
            "exact_over_notebook_deaths": exact_deaths / notebook_deaths if notebook_deaths else float("nan"),
        })
    return pd.DataFrame(rows)


def matching_statement(matching: pd.DataFrame) -> str:
    """One sentence of which work the DeepR comparison matched, and which it did not."""
    if matching.empty:
        return "No exact DeepR point had a notebook point to compare with."
    unmatched = matching[matching["noise_and_l1"] != "off for both"]
    ratio = matching["exact_over_notebook_deaths"].dropna()
    deaths = (f"Deaths per update were not matched: exact saw {ratio.min():.2f}–{ratio.max():.2f}x "
              "the notebook's (table below), so a rewiring speed-up also compares different traffic; "
              "the traffic figure sets each point's time against its deaths." if not ratio.empty
              else "Neither variant recorded deaths to compare.")
    if unmatched.empty:
        return ("Matched on noise: every notebook/exact pair ran with Algorithm 1's noise and L1 off "
                "for both (temperature = l1 = 0; the notebook has neither term). " + deaths)
    return (f"Not matched: in {len(unmatched)} of {len(matching)} pairs exact DeepR drew noise or L1 "
            "the notebook does not (its rewiring time includes them). " + deaths)


def drift_table(stages: pd.DataFrame) -> pd.DataFrame:
    """Active connections after the measured steps against the connectivity asked for."""
    steps = _steps(stages)
    deepr = steps[~steps["variant"].str.startswith("deepr:none")]
    if deepr.empty:
        return pd.DataFrame()
    table = deepr[["config", "variant", "connectivity", "connectivity_measured",
                   "active_connections", "total_connections"]].copy()
    table["drift_percent"] = 100 * (table["connectivity_measured"] / table["connectivity"] - 1)
    return table.sort_values(["variant", "config"]).reset_index(drop=True)


def unstable(stages: pd.DataFrame) -> pd.DataFrame:
    flagged = stages[stages["unstable"].astype(bool) & stages["stage"].isin(STAGES + (STEP,))]
    table = flagged[["config", "stage", "median_s", "iqr_s"]].copy()
    table["iqr_over_median"] = table["iqr_s"] / table["median_s"]
    return table.reset_index(drop=True)


FEW_STEPS = 10  # fewer measured steps than this: a spread of IQR > median/10 is expected noise


def env_number(row: pd.Series, key: str) -> float:
    """A numeric env field of a row; 0 where it was not recorded (a column of other rows)."""
    value = row.get(key)
    return 0 if value is None or pd.isna(value) else value


def _unstable_cause(row: pd.Series) -> str:
    """The known reasons a configuration's measurements spread, from what its rows recorded."""
    causes = []
    cores, threads = int(env_number(row, "env.cores")), int(env_number(row, "env.threads"))
    load = max(env_number(row, "env.load_avg_1m_before"), env_number(row, "env.load_avg_1m_after"))
    if cores and load >= cores:
        causes.append(f"a busy machine (load {load:.1f} on {cores} cores; a 1-minute average, "
                      "which counts this sweep's previous group too)")
    workers = int(row["num_workers"])
    if cores and workers > 0 and workers + threads > cores:
        causes.append(f"{workers} workers + {threads} threads on {cores} cores")
    if row["n"] < FEW_STEPS:
        causes.append(f"only {int(row['n'])} measured steps")
    return "; ".join(causes) or "not known from this run"


def unstable_summary(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration with unstable stages: how many, and the cause where known."""
    flagged = stages[stages["unstable"].astype(bool) & stages["stage"].isin(STAGES + (STEP,))]
    if flagged.empty:
        return pd.DataFrame(columns=["config", "unstable_stages", "cause"])
    rows = [{"config": config, "unstable_stages": len(group), "cause": _unstable_cause(group.iloc[0])}
            for config, group in flagged.groupby("config", sort=False)]
    return pd.DataFrame(rows).sort_values("unstable_stages", ascending=False).reset_index(drop=True)


def pipeline_comparison(stages: pd.DataFrame, ratios: pd.DataFrame) -> list[str]:
    """pipeline:fastest against pipeline:notebook, per configuration: the user's question of how
    fast the step can be, and what to attack next (the fastest pipeline's biggest stage).
    Unpaired: the two need DataLoaders of their own."""
    if ratios.empty:
        return []
    ratios = _corrected(ratios)
    steps = ratios[(ratios["component"] == "pipeline") & (ratios["stage"] == STEP)]
    biggest = biggest_stages(stages) if not stages.empty else pd.DataFrame()
    sentences = []
    for _, r in steps.iterrows():
        verdict = (f"{r['speedup']:.2f}x faster" if r["significant_holm"] and r["speedup"] > 1 else
                   f"{1 / r['speedup']:.2f}x slower" if r["significant_holm"] else "no difference shown")
        next_stage = ""
        if r["point_id"] in biggest.index:
            top = biggest.loc[r["point_id"]]
            next_stage = (f" Its biggest stage is now {top['stage']}, {100 * top['share_of_step']:.0f}% "
                          "of its step: the next thing to make faster.")
        sentences.append(
            f"pipeline:fastest against pipeline:notebook ({r['config']}): the training step is "
            f"{verdict} (ratio of medians {r['ratio_median']:.3f}, 95% CI "
            f"{ci_text(r['ratio_ci_low'], r['ratio_ci_high'])}; unpaired: each pipeline needs its own "
            "DataLoader)." + next_stage)
    return sentences


def headline(stages: pd.DataFrame, ratios: pd.DataFrame) -> list[str]:
    ratios = _corrected(ratios)
    sentences = pipeline_comparison(stages, ratios)
    sentences += fastest(stages) + [s for s in (biggest_stage(stages),) if s]
    sentences += best_workers(stages) + best_variants(ratios)
    summary = unstable_summary(stages)
    if not summary.empty:
        sentences.append(f"{int(summary['unstable_stages'].sum())} stage measurement(s) in "
                         f"{len(summary)} configuration(s) are unstable (IQR above a tenth of the "
                         "median); the count and known cause per configuration are under Problems.")
    return sentences
