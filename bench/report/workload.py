"""Workload metrics beside wall time: does DeepR's sparsity, in connections and in spikes, save
time here? Pure functions of the results' tables (stage rows and workload rows).

The answer compares, within one group run (points timed step for step on one DataLoader, from
the same weights), each DeepR point's forward and backward with the dense point that uses the
same forward pass: a paired per-step ratio with its exact CI. Dense kernels (cuDNN, oneDNN,
MKL) multiply zeros as fast as anything else, so "no difference shown" is the expected answer
for them; a sparse kernel (forward:sparse) is what could change it.
"""

from __future__ import annotations

import pandas as pd

from bench.config.variants import parse_variant
from bench.stats import paired_ratio

SPARSITY_STAGES = ("forward", "backward")


def workload_table(workload: pd.DataFrame) -> pd.DataFrame:
    """One row per point: the metrics a reader compares, per sample."""
    if workload.empty:
        return pd.DataFrame()
    columns = {"config": "configuration", "dense_synops": "dense SynOps / sample",
               "effective_macs": "effective MACs / sample", "effective_acs": "effective ACs / sample",
               "activation_sparsity": "activation sparsity", "connection_sparsity": "connection sparsity",
               "footprint_bytes": "footprint (bytes)", "sparse_footprint_bytes": "CSR footprint (bytes)",
               "counting_overhead": "counting cost (x eval time)", "error": "error"}
    table = workload[[c for c in columns if c in workload]].rename(columns=columns)
    return table.sort_values("configuration").reset_index(drop=True)


def _forward_of(variant: str) -> str:
    return parse_variant(variant).of("forward")


def _deepr_of(variant: str) -> str:
    return parse_variant(variant).of("deepr")


def sparsity_against_dense(stages: pd.DataFrame) -> pd.DataFrame:
    """Per DeepR point and stage (forward, backward): its time over the dense point's of the same
    group run and forward pass, paired step by step."""
    if stages.empty:
        return pd.DataFrame()
    timed = stages[stages["stage"].isin(SPARSITY_STAGES)].copy()
    timed["forward_variant"] = timed["variant"].map(_forward_of)
    timed["deepr"] = timed["variant"].map(_deepr_of)
    records = []
    for (_, _, forward, stage), rows in timed.groupby(["group_id", "run_id", "forward_variant", "stage"]):
        dense = rows[rows["deepr"] == "none"]
        if dense.empty:
            continue
        reference = dense.iloc[0]
        for _, row in rows[rows["deepr"] != "none"].iterrows():
            if len(row["samples_s"]) != len(reference["samples_s"]):
                continue
            ratio = paired_ratio(row["samples_s"], reference["samples_s"])
            records.append({"layer_type": row["layer_type"], "config": row["config"], "stage": stage,
                            "forward": forward, "deepr": row["deepr"],
                            "connectivity": row["connectivity"], "ratio": ratio.median,
                            "ci_low": ratio.ci_low, "ci_high": ratio.ci_high, "p_value": ratio.p_value})
    return pd.DataFrame(records)  # corrected with the page's other comparisons (findings.correct_page_family)


def sparsity_sentences(comparisons: pd.DataFrame) -> list[str]:
    """One plain sentence per layer type: do the dense kernels profit from DeepR's sparsity?"""
    if comparisons.empty:
        return ["Nothing was shown: the results hold no DeepR point timed beside a dense one "
                "(same group, same forward pass)."]
    sentences = []
    for layer_type, rows in comparisons.groupby("layer_type"):
        shown = rows["significant_holm"]  # required: an uncorrected table must not read as a finding
        faster = rows[(rows["ci_high"] < 1) & shown]
        slower = rows[(rows["ci_low"] > 1) & shown]
        span = (f"forward and backward at connectivity {', '.join(f'{c:g}' for c in sorted(rows['connectivity'].unique()))}"
                f" took {rows['ratio'].min():.2f}-{rows['ratio'].max():.2f}x the dense point's time "
                f"({len(rows)} paired comparisons, Holm-corrected)")
        if faster.empty:
            verdict = ("the dense kernels do not profit from DeepR's sparsity on this machine"
                       + (f" (slower in {len(slower)} of them)" if not slower.empty else
                          ": no difference was shown"))
        else:
            best = faster.loc[faster["ratio"].idxmin()]
            verdict = (f"sparsity saved time in {len(faster)} of them, at best {1 / best['ratio']:.2f}x "
                       f"({best['stage']}, {best['forward']}, c = {best['connectivity']:g}; CI of the "
                       f"ratio {best['ci_low']:.2f}-{best['ci_high']:.2f})")
        sentences.append(f"{layer_type}: {span}; {verdict}.")
    return sentences


def time_against_sparsity(stages: pd.DataFrame, workload: pd.DataFrame) -> pd.DataFrame:
    """Forward and backward medians beside each point's connection and activation sparsity."""
    if stages.empty or workload.empty or "activation_sparsity" not in workload:
        return pd.DataFrame()
    timed = stages[stages["stage"].isin(SPARSITY_STAGES)][["point_id", "layer_type", "variant", "stage",
                                                             "median_s"]]
    metrics = workload[["point_id", "connection_sparsity", "activation_sparsity"]].dropna()
    return timed.merge(metrics, on="point_id")
