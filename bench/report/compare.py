"""A results directory against a baseline one: the same configurations matched, ratios of step
times, flags.

The two were not interleaved, so nothing pairs their steps. Each side's spread is taken across
its own independent runs (the `runs` setting): the ratio of the geometric means of the runs'
medians, with Welch's t interval on their logarithms (bench.stats.ratio_across_runs), so the
interval holds across reruns, not only across the steps of one run. A side timed in one run
falls back to a ratio of medians over steps, with an unpaired bootstrap CI, and says so: that
interval understates how far a rerun lands. A change is flagged only when it exceeds the
threshold and its CI excludes 1, and a different machine is warned about, since then the ratio
measures the machine as much as the change.
"""

from __future__ import annotations

import pandas as pd

from bench.config.settings import SETTING_NAMES
from bench.measure.stages import STEP
from bench.regression import REGRESSION_THRESHOLD
from bench.report.load import Results
from bench.results.combine import differing_plugins
from bench.results.ids import config_hash
from bench.results.rows import MACHINE_FIELDS
from bench.stats import INTERVAL_STEPS, Ratio, ratio_across_runs, ratio_of_medians

# The data root's path differs between clones of the same data; every other setting must match.
MATCH_IGNORES = ("data_root",)


def change_flag(ratio: float, significant: bool, threshold: float) -> str:
    """"regression", "improvement" or "" for a current/baseline time ratio."""
    if significant and ratio > 1 + threshold:
        return "regression"
    if significant and ratio < 1 - threshold:
        return "improvement"
    return ""


def match_key(row) -> str:
    return config_hash({k: row[k] for k in SETTING_NAMES if k not in MATCH_IGNORES and k in row})


DIFFERENT_DATA = "different data"  # the flag of a pair timed on different data: no verdict


def code_change(now: dict | None, before: dict | None) -> str:
    """The plug-ins whose source differs between two matched rows (env.plugin_digests), in words:
    "" when they ran the same plug-in code."""
    now, before = now or {}, before or {}
    return "; ".join(f"{ref.rpartition(':')[2]}: {before.get(ref) or 'absent'} -> {now.get(ref) or 'absent'}"
                     for ref in differing_plugins([before, now]))


def step_ratio(now: pd.Series, before: pd.Series) -> Ratio:
    """One configuration's step, now over the baseline's (module docstring)."""
    if len(now["run_medians_s"]) >= 2 and len(before["run_medians_s"]) >= 2:
        return ratio_across_runs(now["run_medians_s"], before["run_medians_s"])
    r = ratio_of_medians(now["samples_s"], before["samples_s"])
    return Ratio(n=r.n, median=r.median, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value,
                 interval=INTERVAL_STEPS + " a side (a rerun may land outside it)")


def compare(current: Results, baseline: Results, threshold: float = REGRESSION_THRESHOLD) -> pd.DataFrame:
    """One row per configuration timed in both: ratio current/baseline, CI across runs, each
    side's run medians, flag, and which plug-ins' code differs between the two (`plugin_code`:
    the ratio then measures that change of code too). A pair whose data differ (env.data_fingerprint) is flagged
    "different data", never a regression or an improvement: the ratio then measures the data as
    much as the code."""
    columns = ["configuration", "current_ms", "baseline_ms", "ratio", "ci_low", "ci_high", "flag",
               "plugin_code", "current_runs_ms", "baseline_runs_ms", "interval"]
    if current.stages.empty or baseline.stages.empty:
        return pd.DataFrame(columns=columns)
    now = current.stages[current.stages["stage"] == STEP]
    before = baseline.stages[baseline.stages["stage"] == STEP]
    before_by_key = {match_key(row): row for _, row in before.iterrows()}
    rows = []
    for _, row in now.iterrows():
        old = before_by_key.get(match_key(row))
        if old is None:
            continue
        r = step_ratio(row, old)
        same_data = row.get("env.data_fingerprint") == old.get("env.data_fingerprint")
        flag = change_flag(r.median, r.significant, threshold) if same_data else DIFFERENT_DATA
        rows.append({"configuration": row["config"], "current_ms": row["median_s"] * 1e3,
                     "baseline_ms": old["median_s"] * 1e3, "ratio": r.median, "ci_low": r.ci_low,
                     "ci_high": r.ci_high, "flag": flag,
                     # the same settings built from other plug-in code: the ratio measures that change
                     "plugin_code": code_change(_digests(row), _digests(old)),
                     "current_runs_ms": ", ".join(f"{m * 1e3:.0f}" for m in row["run_medians_s"]),
                     "baseline_runs_ms": ", ".join(f"{m * 1e3:.0f}" for m in old["run_medians_s"]),
                     "interval": r.interval})
    return pd.DataFrame(rows, columns=columns)


def _digests(row: pd.Series) -> dict | None:
    value = row.get("env.plugin_digests")
    return value if isinstance(value, dict) else None


def machine_differences(current: Results, baseline: Results) -> list[str]:
    """What differs between the machines/software of the two runs (empty: comparable)."""
    def values(results: Results, field: str) -> set:
        return {str(env.get(field)) for env in results.environments}
    differences = []
    for field in MACHINE_FIELDS:
        now, before = values(current, field), values(baseline, field)
        if now != before:
            differences.append(f"{field}: {', '.join(sorted(now))} now, {', '.join(sorted(before))} "
                               "in the baseline")
    return differences
