"""A study's report: DIR/report/study.html with its PNGs, read from the study's results.

    verdicts (a)–(d): the figure deciding each, its rule, the runs behind it
    a fast variant against its reference at equal iterations
    time-to-accuracy per configuration (MLPerf-style over seeds)
    loss curves per learning rate × connectivity, and loss spikes per run
    test accuracy against connectivity per DeepR variant

A study on synthetic data says so first: synthetic data shows the method; only the real DVS
Gesture can confirm or refute the user's claims.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.config.settings import BY_NAME, Settings, point_label  # noqa: E402
from bench.config.variants import APPROXIMATE_LABEL, REFERENCES, parse_variant  # noqa: E402
from bench.report import html  # noqa: E402
from bench.report.plots import save_figure  # noqa: E402
from bench.results.paths import STUDY_PAGE, STUDY_RECORD_JSON, SWEEP_COPY  # noqa: E402
from bench.results.rows import ErrorRow, StudyRunRow  # noqa: E402
from bench.results.store import ResultStore  # noqa: E402
from bench.study.analysis import (  # noqa: E402
    Run,
    Thresholds,
    against_references,
    fell_silent,
    first_reach,
    is_rewired,
    loss_spikes,
    time_to_accuracy,
    verdicts,
)
from bench.study.spec import StudyRecord, run_key  # noqa: E402

SYNTHETIC_WARNING = ("This study ran on SYNTHETIC data: it shows the method, not the answer. Only the "
                     "real DVS Gesture can confirm or refute the user's claims; run the same study "
                     "file with --data-root pointing at it.")


def study_runs(directory: Path) -> tuple[list[StudyRunRow], list[ErrorRow]]:
    """The last stored row of each run: its StudyRunRow, or its error if it never trained."""
    rows = ResultStore(directory).rows()
    runs = {r.point_id: r for r in rows if isinstance(r, StudyRunRow)}
    errors = {r.point_id: r for r in rows if isinstance(r, ErrorRow) and r.point_id not in runs}
    return list(runs.values()), list(errors.values())


def as_runs(rows: list[StudyRunRow]) -> list[Run]:
    return [Run(point_id=r.point_id, settings=r.settings, losses=r.losses, evals=r.evals, stopped_by=r.stopped_by)
            for r in rows]


def configuration(settings: Settings) -> str:
    """A run's configuration: its label without the seed."""
    return point_label(dataclasses.replace(settings, seed=BY_NAME["seed"].default),
                       also=["lr", "lr_rule", "optimiser"])


def tta_table(rows: list[StudyRunRow], t: Thresholds) -> pd.DataFrame:
    by_config: dict[str, list[StudyRunRow]] = {}
    for row in rows:
        by_config.setdefault(configuration(row.settings), []).append(row)
    records = []
    for label, runs in sorted(by_config.items()):
        tta = time_to_accuracy([first_reach(r.evals, t.target_accuracy) for r in runs])
        finals = [r.evals[-1][2] for r in runs if r.evals]
        records.append({
            "configuration": label, "runs": len(runs), "reached": tta.reached,
            f"time to {t.target_accuracy:.0%} (s)": tta.mean_seconds,
            "with evaluation (s)": (tta.mean_seconds if math.isinf(tta.mean_seconds)
                                    else math.nan if tta.mean_seconds_with_eval is None
                                    else tta.mean_seconds_with_eval),
            "iterations to it": tta.mean_iterations,
            "median final accuracy": float(np.median(finals)) if finals else math.nan,
            "median s/iteration": float(np.median([r.train_s / max(r.iterations, 1) for r in runs])),
            "loss spikes (all runs)": sum(len(loss_spikes(r.losses, t.spikes)) for r in runs),
            "diverged": sum(r.stopped_by == "diverged" for r in runs),
            "fell silent": sum(fell_silent(r.losses, t.spikes.window) for r in runs),
        })
    return pd.DataFrame(records)


def _seconds(value) -> str:
    return "not reached" if isinstance(value, float) and math.isinf(value) else html.number(value, 1)


def _loss_curves(rows: list[StudyRunRow], path: Path) -> Path:
    panels: dict[tuple, list[StudyRunRow]] = {}
    for row in rows:
        s = row.settings
        panels.setdefault((s.lr, s.lr_rule, s.connectivity), []).append(row)  # dense: 1.0
    keys = sorted(panels)
    columns = min(4, len(keys))
    lines = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4 * columns, 3 * lines), squeeze=False)
    palette = plt.get_cmap("tab10").colors
    variants = sorted({r.settings.variant for r in rows})
    for ax, key in zip(axes.flat, keys):
        for row in panels[key]:
            colour = palette[variants.index(row.settings.variant) % len(palette)]
            ax.plot(range(1, len(row.losses) + 1), row.losses, color=colour, alpha=0.6, linewidth=0.8,
                    label=f"{row.settings.variant} seed {row.settings.seed}")
        lr, rule, c = key
        ax.set_title(f"lr {lr:g} ({rule}), connectivity {c:g}", fontsize=8)
        ax.set_xlabel("iteration")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    return save_figure(fig, path)


def _accuracy_vs_connectivity(rows: list[StudyRunRow], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    series: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        s = row.settings
        name = f"deepr:{parse_variant(s.variant).of('deepr')}" if is_rewired(s) else "dense"
        series.setdefault(f"{name}, lr {s.lr:g} ({s.lr_rule})", {}).setdefault(
            s.connectivity, []).append(row.evals[-1][2])
    for label, points in sorted(series.items()):
        cs = sorted(points)
        ax.errorbar(cs, [np.median(points[c]) for c in cs],
                    yerr=[[np.median(points[c]) - min(points[c]) for c in cs],
                          [max(points[c]) - np.median(points[c]) for c in cs]],
                    marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("connectivity (fraction of connections active; dense = 1)")
    ax.set_ylabel("final test accuracy (median; bars: min–max over seeds)")
    ax.set_title("Test accuracy against connectivity")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6)
    return save_figure(fig, path)


def _verdicts(runs: list[Run], thresholds: Thresholds, synthetic: bool) -> str:
    judged = verdicts(runs, thresholds) if runs else []
    frame = pd.DataFrame([{"claim": f"({v.claim}) {v.statement}", "verdict": v.verdict,
                           "deciding figure": v.figure, "rule": v.rule, "runs": len(v.runs)}
                          for v in judged])
    data_note = ("on synthetic data, so each verdict shows the method only" if synthetic
                 else "on the data root above")
    return html.section("Verdicts on the user's DeepR claims",
                        html.paragraph(f"Judged {data_note}.", "note")
                        + html.table(frame, "verdicts", text_columns=("claim", "verdict", "deciding figure", "rule")),
                        "verdicts-section")


def render_study_report(results_dir: str | Path, out: str | Path, record: StudyRecord) -> Path:
    """The study page of the runs `record` names (every stored run when it names none), judged
    by its options; stored runs the current study file no longer asks for are left out, and
    counted."""
    results_dir, out = Path(results_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    thresholds = record.options.thresholds
    rows, errors = study_runs(results_dir)
    # The runs judged: those the record names, else those its options trained (a run's id hashes
    # its settings and training options: bench.study.spec.run_key), so runs of 4 and of 6
    # iterations are never pooled into one verdict.
    current = (set(record.runs) if record.runs is not None else
               {r.point_id for r in rows + errors
                if r.settings is not None and r.point_id == run_key(r.settings, record.options)})
    left_out = len({r.point_id for r in rows + errors if r.point_id not in current})
    rows = [r for r in rows if r.point_id in current]
    errors = [r for r in errors if r.point_id in current]
    runs = as_runs(rows)
    synthetic = any(r.env.get("synthetic_data") for r in rows)
    data_roots = sorted({str(r.env.get("data_root")) for r in rows})
    sections = []
    if synthetic:
        sections.append(html.paragraph(SYNTHETIC_WARNING, "warning"))
    sections.append(html.paragraph(f"{len(rows)} runs trained, {len(errors)} failed; data: "
                                   f"{', '.join(data_roots) or 'none'}", "note"))
    if left_out:
        sections.append(html.paragraph(
            f"{left_out} stored run(s) left out: " + (
                "the current study file (or its [study] options) no longer asks for them. "
                if record.runs is not None else
                f"they were trained under other [study] options than the results' file copy names "
                f"({SWEEP_COPY}; {STUDY_RECORD_JSON}, which lists the runs, is missing). ")
            + "They stay in results.jsonl; rerun the file that trained them to judge them again.", "warning"))
    if record.options.claims:
        sections.append(_verdicts(runs, thresholds, synthetic))
    comparisons = against_references(runs, REFERENCES)
    body = html.bullets([c.text for c in comparisons], "reference-comparisons") if comparisons else \
        html.paragraph("The study has no pair of runs that differ only in one component's variant "
                       "on ≥ 2 shared seeds.", "note")
    sections.append(html.section("Fast variants against their references, at equal iterations", body,
                                 "references-section"))
    t = thresholds
    table = tta_table(rows, t) if rows else pd.DataFrame()
    sections.append(html.section(
        "Time to accuracy",
        html.paragraph(f"Training wall time (evaluations excluded; then with them, as MLPerf counts "
                       "it) and iterations to the first test "
                       f"evaluation at or above {t.target_accuracy:.0%}, MLPerf-style: over a "
                       "configuration's seeds the fastest and slowest run are dropped (from 3 runs) and "
                       "the rest averaged; a run that never reaches the target counts as infinitely slow, "
                       "so it is never dropped silently. A run that fell silent ended with its last "
                       "losses all equal: its output neurons stopped firing, so it scores every class "
                       "alike and learns nothing more.", "note")
        + (html.paragraph(f"Configurations with approx: (bf16 autocast, sparse kernels) are {APPROXIMATE_LABEL}: "
                          "set each beside the same configuration without it, in time to accuracy and in "
                          "final accuracy.", "note") if any(parse_variant(r.settings.variant).approximate
                                                            for r in rows) else "")
        + html.table(table, "time-to-accuracy", text_columns=("configuration",),
                     formats={f"time to {t.target_accuracy:.0%} (s)": _seconds, "with evaluation (s)": _seconds,
                              "iterations to it": lambda v: "" if math.isinf(v) else html.number(v, 0),
                              "median s/iteration": lambda v: html.number(v, 3)}),
        "tta-section"))
    if rows:
        _loss_curves(rows, out / "study_loss_curves.png")
        _accuracy_vs_connectivity(rows, out / "study_accuracy.png")
        sections.append(html.section("Loss curves and spikes",
                                     html.paragraph(f"Spike: {t.spikes.describe()}.", "note")
                                     + html.image("study_loss_curves.png", "training loss per iteration, "
                                                  "one panel per learning rate × connectivity"),
                                     "loss-section"))
        sections.append(html.section("Accuracy against connectivity",
                                     html.image("study_accuracy.png", "final test accuracy against "
                                                "connectivity per DeepR variant"), "accuracy-section"))
    if errors:
        frame = pd.DataFrame([{"run": f"{point_label(e.settings)} seed {e.settings.seed}",
                               "error": e.error} for e in errors])
        sections.append(html.section("Runs that failed", html.table(frame, "study-errors",
                                                                    text_columns=("run", "error")),
                                     "study-errors-section"))
    page = out / STUDY_PAGE
    page.write_text(html.page("snn-bench study", f"results: {results_dir}", sections))
    return page
