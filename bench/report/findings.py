"""Pure functions from result tables to what a reader wants answered: tables and sentences.

Where does the time go (biggest stage), what should I change (fastest configuration, best
num_workers, best variant per stage), and is anything untrustworthy (unstable, drifting, failed).
"""

from __future__ import annotations

import pandas as pd

from bench.stages import FLOOR_STAGE, STEP
from snn.names import STAGES

MS = 1e3


def _steps(stages: pd.DataFrame) -> pd.DataFrame:
    return stages[stages["stage"] == STEP]


def _biggest_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """Each point's largest stage row (of the training step's stages), indexed by point id."""
    parts = stages[stages["stage"].isin(STAGES)]
    return parts.loc[parts.groupby("point_id")["median_s"].idxmax()].set_index("point_id")


def step_table(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: step time, throughput, the biggest stage and its share."""
    if stages.empty:
        return pd.DataFrame()
    steps = _steps(stages).set_index("point_id")
    biggest = _biggest_stages(stages)
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


def fastest(stages: pd.DataFrame) -> str | None:
    table = step_table(stages)
    if table.empty:
        return None
    best = table.iloc[0]
    return (f"Fastest configuration: {best['configuration']}, {best['samples_per_s']:.1f} samples/s "
            f"(median step {best['step_ms']:.0f} ms, 95% CI {best['ci_low_ms']:.0f}-"
            f"{best['ci_high_ms']:.0f} ms).")


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
                       "cache": ("data_wait", STEP),
                       "pipeline": ("data_wait", "forward", "backward", "rewiring", STEP)}


def speedup_table(ratios: pd.DataFrame, relevant_only: bool = False) -> pd.DataFrame:
    """Paired comparisons: configuration, stage, what it is compared with, ratio and CI;
    `relevant_only` keeps the stages each component is meant to change, and the step."""
    if ratios.empty:
        return pd.DataFrame()
    if relevant_only:
        keep = ratios.apply(lambda r: r["stage"] in STAGES_OF_COMPONENT.get(r["component"], ()), axis=1)
        ratios = ratios[keep]
    table = ratios[["config", "stage", "component", "reference_variant", "paired", "speedup",
                    "ratio_median", "ratio_ci_low", "ratio_ci_high", "significant"]].copy()
    return table.sort_values(["component", "stage", "speedup"],
                             ascending=[True, True, False]).reset_index(drop=True)


def best_variants(ratios: pd.DataFrame) -> list[str]:
    """Per stage, the biggest significant speedup of a variant over its reference."""
    table = speedup_table(ratios)
    if table.empty:
        return []
    sentences = []
    winners = table[table["significant"] & (table["speedup"] > 1)]
    for stage in [s for s in STAGES + (STEP,) if s in set(winners["stage"])]:
        best = winners[winners["stage"] == stage].iloc[0]
        how = ("median of paired per-step ratios" if best["paired"]
               else "ratio of medians, unpaired: timed in separate groups")
        sentences.append(
            f"Best for {stage}: {best['config']} is {best['speedup']:.2f}x faster than "
            f"{best['reference_variant']} (ratio {best['ratio_median']:.3f}, 95% CI "
            f"{best['ratio_ci_low']:.3f}-{best['ratio_ci_high']:.3f}; {how}).")
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


def deepr_matching(stages: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Each exact DeepR point beside the notebook point its rewiring ratio was taken against
    (the pairing bench.record made: same settings otherwise): whether Algorithm 1's noise and
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


def pipeline_comparison(stages: pd.DataFrame, ratios: pd.DataFrame) -> list[str]:
    """pipeline:fastest against pipeline:notebook, per configuration: the user's question of how
    fast the step can be, and what to attack next (the fastest pipeline's biggest stage).
    Unpaired: the two need DataLoaders of their own."""
    if ratios.empty:
        return []
    steps = ratios[(ratios["component"] == "pipeline") & (ratios["stage"] == STEP)]
    biggest = _biggest_stages(stages) if not stages.empty else pd.DataFrame()
    sentences = []
    for _, r in steps.iterrows():
        verdict = (f"{r['speedup']:.2f}x faster" if r["significant"] and r["speedup"] > 1 else
                   f"{1 / r['speedup']:.2f}x slower" if r["significant"] else "no difference shown")
        next_stage = ""
        if r["point_id"] in biggest.index:
            top = biggest.loc[r["point_id"]]
            next_stage = (f" Its biggest stage is now {top['stage']}, {100 * top['share_of_step']:.0f}% "
                          "of its step: the next thing to make faster.")
        sentences.append(
            f"pipeline:fastest against pipeline:notebook ({r['config']}): the training step is "
            f"{verdict} (ratio of medians {r['ratio_median']:.3f}, 95% CI {r['ratio_ci_low']:.3f}-"
            f"{r['ratio_ci_high']:.3f}; unpaired: each pipeline needs its own DataLoader)." + next_stage)
    return sentences


def headline(stages: pd.DataFrame, ratios: pd.DataFrame) -> list[str]:
    sentences = pipeline_comparison(stages, ratios)
    sentences += [s for s in (fastest(stages), biggest_stage(stages)) if s]
    sentences += best_workers(stages) + best_variants(ratios)
    flagged = unstable(stages)
    if not flagged.empty:
        sentences.append(f"{len(flagged)} stage measurement(s) are unstable (IQR above a tenth "
                         "of the median); they are marked below, and more measured steps or a "
                         "quieter machine would tighten them.")
    return sentences
