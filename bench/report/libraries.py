"""The report's "Libraries" section: the seed network in every SNN library (snn.libraries) timed
side by side, checked against snnTorch's notebook loop, with its memory.

A library's step ratio is paired: every point of a group run takes its turn step by step, so the
i-th step of each is timed moments apart (bench.stats.paired_ratio), and across the sweep's
independent runs the runs' ratios are combined (bench.stats.combine_runs). Agreement and memory come
from `snn-bench check` (bench.measure.equivalence): the agreement check for a port, the forward
check for our own forward variants (spikes equal to the reference's or not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from bench.config.settings import SEED_MODEL, ported_library
from bench.config.variants import parse_variant
from bench.measure.stages import STEP
from bench.report.findings import ci_text
from bench.results.rows import CheckRow, SkippedRow, StageRow
from bench.stats import combine_runs, holm, paired_ratio

DISPLAY = {"spikingjelly": "SpikingJelly", "norse": "Norse", "sinabs": "Sinabs", "compiled": "plain torch"}
SEED_FORWARDS = {"reference": "notebook loop (the reference)", "multistep": "multistep forward (ours)",
                 "fused": "fused forward (ours)", "sparse": "sparse forward (ours)"}


def library_of(model: str) -> str | None:
    """snnTorch for the seed network, the library's name for a port, None for any other model."""
    if model == SEED_MODEL:
        return "snnTorch"
    if (module := ported_library(model)) is not None:
        return DISPLAY.get(module, module)
    return None


def configuration(settings) -> str:
    """How this point runs its library, in words."""
    if settings.model == SEED_MODEL:
        return SEED_FORWARDS[parse_variant(settings.variant).of("forward")]
    options = dict(settings.model_options or {})
    if library_of(settings.model) == DISPLAY["compiled"]:
        return "snn.Leaky's scan, eager" if options.get("mode") == "eager" else "snn.Leaky's scan, torch.compile"
    words = []
    if "step_mode" in options or library_of(settings.model) == "SpikingJelly":
        words.append("single-step" if options.get("step_mode") == "s" else "multi-step")
    words.append("options aligned with snn.Leaky" if options.get("align") else "its defaults")
    return ", ".join(words)


def _is_reference(settings, forward: str) -> bool:
    return settings.model == SEED_MODEL and parse_variant(settings.variant).of("forward") == forward


@dataclass
class _Timed:
    row: StageRow  # the step row across runs
    stages: dict[str, StageRow]  # across runs
    runs: dict[int, StageRow]  # each run's step row, by run index


def _timed(rows) -> dict[str, _Timed]:
    """point id → its step and stage rows across runs and each run's step row, for points of a
    library (rows: the store's current rows with the figures across runs)."""
    combined: dict[str, dict[str, StageRow]] = {}
    runs: dict[str, dict[int, StageRow]] = {}
    for row in rows:
        if isinstance(row, StageRow) and library_of(row.settings.model) is not None:
            if row.run_index is None:
                combined.setdefault(row.point_id, {})[row.stage] = row
            elif row.stage == STEP:
                runs.setdefault(row.point_id, {})[row.run_index] = row
    return {point_id: _Timed(stages[STEP], stages, runs.get(point_id, {}))
            for point_id, stages in combined.items() if STEP in stages}


def _checks(checks: list[CheckRow]) -> dict[str, dict[str, CheckRow]]:
    """point id → component → its latest check row."""
    found: dict[str, dict[str, CheckRow]] = {}
    for row in checks:
        found.setdefault(row.point_id, {})[row.component] = row
    return found


def _ratio(a: _Timed, b: _Timed | None):
    """A's step over B's: paired within each run they shared (one group run), across runs."""
    if b is None:
        return None
    shared = [i for i in sorted(a.runs) if i in b.runs and a.runs[i].run_id == b.runs[i].run_id]
    try:
        return combine_runs([paired_ratio(a.runs[i].samples_s, b.runs[i].samples_s) for i in shared]) if shared else None
    except ValueError:
        return None


def _largest(values) -> float:
    """The largest of a check's per-weight figures, leaving out those it could not measure."""
    return max((v for v in values if v is not None and not math.isnan(v)), default=math.nan)


def _agreement(point_id: str, settings, checks) -> tuple[bool | None, float, float, list[str]]:
    """(spikes agree with the notebook loop's, share of spikes differing, largest relative
    gradient difference, declared differences); None where no check ran."""
    if _is_reference(settings, "reference"):
        return True, 0.0, 0.0, []
    mine = checks.get(point_id, {})
    if "agreement" in mine:
        f = mine["agreement"].figures
        total = sum(f.get("spikes_total", {}).values())
        differing = sum(f.get("spikes_differing", {}).values())
        return (differing == 0, differing / total if total else math.nan, _largest(f.get("grad_max_rel", [])),
                list(f.get("differences", [])))
    if "forward" in mine:  # our forward variants: output spikes equal and gradients within grad_rtol, or not
        passed = mine["forward"].passed
        return passed, 0.0 if passed else math.nan, _largest(mine["forward"].figures.get("grad_max_rel", [])), []
    return None, math.nan, math.nan, []


def _memory(point_id: str, settings, checks, group_checks) -> float:
    """Peak tensor memory of one forward and backward (bytes), from this point's check, or for
    the notebook loop from any check of its group that compared against it."""
    for component in ("agreement", "forward"):
        row = checks.get(point_id, {}).get(component)
        if row is not None and "peak_memory_bytes" in row.figures:
            return float(row.figures["peak_memory_bytes"])
    if _is_reference(settings, "reference"):
        for row in group_checks:
            if "reference_peak_memory_bytes" in row.figures:
                return float(row.figures["reference_peak_memory_bytes"])
    return math.nan


def library_table(rows, check_rows: list[CheckRow]) -> pd.DataFrame:
    """One row per library configuration timed: step, forward and backward medians with CIs, the
    paired step ratio against the notebook loop and against our fused forward (same group run),
    peak memory, and agreement with the notebook loop."""
    timed = _timed(rows)
    if not any(ported_library(t.row.settings.model) for t in timed.values()):
        return pd.DataFrame()
    checks = _checks(check_rows)
    by_group: dict[tuple[str, str], list[_Timed]] = {}
    for t in timed.values():
        by_group.setdefault((t.row.group_id, t.row.run_id), []).append(t)  # run_id: the group runs, joined
    group_checks: dict[str, list[CheckRow]] = {}
    for point_checks in checks.values():
        for row in point_checks.values():
            group_checks.setdefault(row.group_id, []).append(row)
    table = []
    for (group_id, _), members in by_group.items():
        ref = next((m for m in members if _is_reference(m.row.settings, "reference")), None)
        fused = next((m for m in members if _is_reference(m.row.settings, "fused")), None)
        for m in members:
            s, step = m.row.settings, m.row
            agrees, differing, grad_rel, differences = _agreement(step.point_id, s, checks)
            vs_ref, vs_fused = _ratio(m, ref), _ratio(m, fused)
            table.append({
                "layer type": s.layer_type, "device": s.device, "library": library_of(s.model),
                "configuration": configuration(s), "point_id": step.point_id,
                "step (ms)": step.median_s * 1e3, "step CI low (ms)": step.ci_low_s * 1e3,
                "step CI high (ms)": step.ci_high_s * 1e3,
                "forward (ms)": _stage_ms(m, "forward"), "backward (ms)": _stage_ms(m, "backward"),
                "x notebook step": vs_ref.median if vs_ref else math.nan,
                "x notebook CI": ci_text(vs_ref.ci_low, vs_ref.ci_high) if vs_ref else "",
                "x fused step": vs_fused.median if vs_fused else math.nan,
                "x fused CI": ci_text(vs_fused.ci_low, vs_fused.ci_high) if vs_fused else "",
                "peak memory (MiB)": _memory(step.point_id, s, checks, group_checks.get(group_id, [])) / 2**20,
                "spikes agree": agrees, "spikes differing (%)": 100 * differing,
                "max gradient difference (rel.)": grad_rel, "differs by design": "; ".join(differences)})
    return pd.DataFrame(table).sort_values(["layer type", "device", "step (ms)"]).reset_index(drop=True)


def _stage_ms(timed: _Timed, stage: str) -> float:
    row = timed.stages.get(stage)
    return row.median_s * 1e3 if row is not None else math.nan


def agreement_matrix(check_rows: list[CheckRow]) -> pd.DataFrame:
    """Per port (and forward variant) against the notebook loop: spikes differing per neuron layer
    (% of that layer's spikes), the output's largest difference, the largest relative weight
    gradient difference."""
    table = []
    for point_checks in _checks(check_rows).values():
        row = point_checks.get("agreement")
        if row is None or library_of(row.settings.model) is None:
            continue
        f = row.figures
        entry = {"layer type": row.settings.layer_type, "library": library_of(row.settings.model),
                 "configuration": configuration(row.settings)}
        for name, n in f.get("spikes_differing", {}).items():
            entry[f"{name} (% differing)"] = 100 * n / max(1, f["spikes_total"][name])
        entry["output max |diff|"] = f.get("output_max_abs", math.nan)
        entry["weight grad max rel. diff"] = _largest(f.get("grad_max_rel", []))
        table.append(entry)
    return pd.DataFrame(table)


def not_installed(rows) -> list[str]:
    """One sentence per library port skipped because its library is missing."""
    seen = {}
    for row in rows:
        if isinstance(row, SkippedRow) and row.cause == "variant" and ported_library(row.settings.model):
            seen.setdefault(library_of(row.settings.model), row.reason)
    return [f"{library}: skipped, {reason}" for library, reason in seen.items()]


def sentences(table: pd.DataFrame, rows) -> list[str]:
    """Per layer type and device: the fastest library configuration whose spikes agree with the
    notebook loop, then the fastest of all and the fastest other library, each against it. A
    difference is stated only where the paired comparison rejects no change after Holm's
    correction over every comparison these sentences make (a family of their own: they are not
    ratio rows, so the page's family does not hold them)."""
    by_id = _timed(rows)
    name = lambda r: f"{r['library']} ({r['configuration']})"  # noqa: E731
    plans = []  # (layer, device, best, [(prefix, row)]) and the comparisons they need
    comparisons = []
    for (layer, device), part in table.groupby(["layer type", "device"], sort=True):
        agreeing = part[[agrees(v) is True for v in part["spikes agree"]]]
        if agreeing.empty:
            plans.append((layer, device, None, []))
            continue
        best, fastest = agreeing.iloc[0], part.iloc[0]
        others = part[part["library"] != best["library"]]
        against = []
        if fastest["point_id"] != best["point_id"]:
            against.append(("the fastest of all is", fastest))
        if not others.empty and others.iloc[0]["point_id"] != fastest["point_id"]:
            against.append(("the fastest other library is", others.iloc[0]))
        for _, row in against:
            comparisons.append(_ratio(by_id[row["point_id"]], by_id[best["point_id"]]))
        plans.append((layer, device, best, against))
    shown = iter(holm([r.p_value if r is not None else 1.0 for r in comparisons]) if comparisons else [])
    ratios = iter(comparisons)
    out = []
    for layer, device, best, against in plans:
        where = f"{layer} on {device}"
        if best is None:
            out.append(f"{where}: no configuration's spikes were checked against the notebook loop: run "
                       "`snn-bench check` on the sweep file.")
            continue
        out.append(f"{where}: the fastest library whose spikes agree with snnTorch's notebook loop is {name(best)}, "
                   f"{best['step (ms)']:.0f} ms a step, {best['x notebook step']:.3f}x the notebook loop's step "
                   f"(CI {best['x notebook CI']}).")
        for prefix, row in against:
            r, rejected = next(ratios), next(shown)
            verdict = (f"its step is {r.median:.2f}x that one's (CI {ci_text(r.ci_low, r.ci_high, '.2f')})"
                       if r is not None and rejected and (r.ci_high < 1 or r.ci_low > 1)
                       else "cannot be told apart from it: the corrected paired comparison shows no difference")
            out.append(f"{where}: {prefix} {name(row)}: {verdict}; {_spikes(row)}.")
    return out


def agrees(value) -> bool | None:
    """A table's "spikes agree" cell (bool, numpy bool, or None/NaN where unchecked) as a bool or None."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value)


def _spikes(row) -> str:
    if agrees(row["spikes agree"]) is None:
        return "its spikes were not checked"
    if agrees(row["spikes agree"]):
        return "its spikes equal the notebook loop's"
    return (f"{row['spikes differing (%)']:.1f}% of its spikes differ from the notebook loop's, by the design "
            "differences listed below")
