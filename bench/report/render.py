"""Render a results directory (and optionally a baseline) into index.html, PNGs and a CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.config.variants import APPROXIMATE_LABEL, pipeline_name
from bench.errors import SettingError
from bench.regression import REGRESSION_THRESHOLD
from bench.report import (
    answers,
    compare,
    findings,
    html,
    libraries,
    plots,
    pytest_benchmarks,
    workload,
)
from bench.report.load import Profile, Results, failed_checks, load_results
from bench.results.combine import UNSTABLE_MEANING
from bench.results.paths import PROFILES, REPORT_CSV, SUMMARY_MD
from bench.results.rows import ErrorRow, SkippedRow, StageRow
from bench.results.store import write_csv

TOP_LINES = 10
TOP_OPS = 10
WATERFALL_PNG = "waterfall.png"


def _one_decimal(value) -> str:
    return html.number(value, 1)


def _three_decimals(value) -> str:
    return html.number(value, 3)


def _ci_bound(digits: int):
    """A CI bound's cell: NaN means the samples were too few for a 95% interval (bench.stats)."""
    return lambda value: "too few steps" if pd.isna(value) else html.number(value, digits)


def _environment(results: Results) -> str:
    envs = results.environments
    if not envs:
        return html.paragraph("No timed rows, so no environment was recorded.", "note")
    fields = list(envs[0])
    frame = pd.DataFrame({"field": fields,
                          **{f"run environment {i + 1}": [str(e.get(k)) for k in fields]
                             for i, e in enumerate(envs)}})
    body = html.table(frame, "environment", text_columns=frame.columns)
    if len(envs) > 1:
        body = html.paragraph(f"These results come from {len(envs)} different environments; "
                              "compare their rows with care.", "warning") + body
    return body


def _steps(results: Results) -> str:
    table = findings.step_table(results.stages)
    if table.empty:
        return html.paragraph("Nothing was timed.", "note")
    table["biggest_share"] = table["biggest_share"] * 100
    table = table.rename(columns={"biggest_share": "biggest_share_%"})
    formats = {c: _one_decimal for c in ("step_ms", "samples_per_s", "biggest_share_%")}
    formats |= {c: _ci_bound(1) for c in ("ci_low_ms", "ci_high_ms")}
    formats["unstable"] = lambda v: "unstable" if v else ""
    caveat = (html.paragraph(findings.SHARED_LOADER_CAVEAT, "note")
              if (results.stages["num_workers"] > 0).any() else "")
    return (caveat + html.image("stages.png", "stacked per-stage time of each configuration")
            + html.table(table, "steps", formats, lambda r: "unstable" if r["unstable"] else "",
                         text_columns=("configuration", "biggest_stage")))


def _speedups(results: Results) -> str:
    table = findings.speedup_table(results.ratios, relevant_only=True)
    note = html.paragraph("Each variant against the point that differs only in using the user's "
                          "implementation of one component (below 1: faster). Paired: both were "
                          "timed in one group, steps taken in turn, so the ratio is the median of "
                          "per-step ratios. Unpaired (framing, which needs a DataLoader of its "
                          "own): a ratio of medians whose bootstrap CI resamples each side "
                          "separately, so it is wider. Shown: the stages each component is meant "
                          "to change, and the whole step; ratios.csv in the results directory "
                          "holds every stage. With several independent runs (the runs setting), "
                          "the ratio is the geometric mean of the runs' ratios (each_run) and its "
                          "CI Student's t across runs (interval); unstable_runs flags runs that "
                          f"{UNSTABLE_MEANING}, with the likely cause the runs recorded. "
                          "significant_holm: the CI excludes 1 and the test (t across runs; from "
                          "one run, the sign test paired, Mann-Whitney unpaired) rejects after "
                          "Holm's correction across every comparison shown. The CI printed is each "
                          "comparison's own 95% interval, not corrected: one that excludes 1 beside "
                          "significant_holm = False is a difference the correction does not let "
                          "this page state.", "note")
    if "check" in table and table["check"].str.startswith("FAILED").any():
        note += html.paragraph("A variant whose equivalence check failed (the check column, from "
                               "`snn-bench check`) does not compute what its reference computes: its "
                               "speed-up is not a like-for-like comparison; do not act on it.", "warning")
    if "component" in table and (table["component"] == "approx").any():
        note += html.paragraph(f"Component approx: an approximate variant (bf16 autocast, sparse kernels) "
                               f"against the same variant computed as built. It is {APPROXIMATE_LABEL}: "
                               "its speed counts only beside its time-to-accuracy, from a study "
                               "(make study-approx).", "note")
    formats = {c: _three_decimals for c in ("speedup", "ratio_median")}
    formats |= {c: _ci_bound(3) for c in ("ratio_ci_low", "ratio_ci_high")}
    formats["paired"] = lambda v: "paired" if v else "unpaired"
    return note + html.table(table, "speedups", formats,
                             lambda r: "improvement" if r["significant_holm"] and r["speedup"] > 1
                             else "regression" if r["significant_holm"] else "",
                             text_columns=("config", "stage", "component", "reference_variant", "check",
                                           "interval", "each_run", "unstable_runs"))


def _limits(results: Results) -> str:
    table = findings.limits_table(results.stages, results.workload)
    if table.empty:
        return html.paragraph("No point was timed with its floors (they are timed beside pipeline:fastest "
                              "points after one warm-up step).", "note")
    formats = {c: _one_decimal for c in ("time_ms", "floor_ms", "gflops", "floor_gflops")}
    formats["x_floor"] = lambda v: html.number(v, 2)
    return (html.paragraph("Each stage of the fastest pipeline beside its floor, timed in the same steps: "
                           "data_wait against one batch read straight from the loader's dataset (the "
                           "frame cache) and collated, with no DataLoader or workers (below 1: workers "
                           "hid the reading); forward and backward against the network's Linear and Conv layers alone on "
                           "the inputs of one step (what an ANN of the same shapes costs here: no "
                           "neurons, no pooling), rewiring against one elementwise pass over the "
                           "rewired weights. x_floor is time over floor (medians). GFLOP/s counts the "
                           "dense synaptic work (the workload counter's dense operations × batch; "
                           "backward as twice forward).", "note")
            + html.table(table, "limits", formats, text_columns=("config", "stage")))


def _rewiring(results: Results) -> str:
    table = findings.rewiring_table(results.stages)
    if table.empty:
        return html.paragraph("No DeepR points were timed.", "note")
    drift = findings.drift_table(results.stages)
    matching = findings.deepr_matching(results.stages, results.ratios)
    formats = {c: _three_decimals for c in ("rewiring_ms", "floor_ms")}
    formats |= {c: _ci_bound(3) for c in ("ci_low_ms", "ci_high_ms")}
    formats["x_floor"] = _one_decimal
    formats.update({c: _one_decimal for c in ("deaths_per_update", "revivals_per_update")})
    drift_formats = {"connectivity_measured": lambda v: html.number(v, 5),
                     "drift_percent": _three_decimals}
    return (html.image("rewiring.png", "rewiring time against connectivity per layer type")
            + html.image("rewiring_traffic.png", "rewiring time against connections died per update")
            + html.paragraph("Traffic: the connections that died and were revived per measured "
                             "update, summed over the rewired layers (net changes of the active "
                             "sets, read between steps, outside the timing). Variants compared at "
                             "one connectivity and learning rate see the same gradients, not "
                             "necessarily the same deaths: compare their traffic before their "
                             "times.", "note")
            + html.table(table, "rewiring", formats,
                         text_columns=("config", "layer_type", "variant", "device"))
            + html.heading("Matched work")
            + html.paragraph(findings.matching_statement(matching), "note")
            + (html.table(matching, "matching",
                          {c: _one_decimal for c in ("notebook_deaths_per_update", "exact_deaths_per_update")}
                          | {"exact_over_notebook_deaths": _three_decimals},
                          text_columns=("config", "noise_and_l1")) if not matching.empty else "")
            + html.heading("Connectivity drift")
            + html.paragraph("Active connections after the measured steps, against the connectivity "
                             "asked for: exact DeepR keeps exactly K per layer (rounding aside); the "
                             "notebook's sampling with replacement falls short.", "note")
            + html.table(drift, "drift", drift_formats, text_columns=("config", "variant")))


def _problems(results: Results) -> str:
    unstable = findings.unstable(results.stages)
    summary = findings.unstable_summary(results.stages)
    full_list = html.table(
        unstable, "unstable", {"median_s": lambda v: html.number(v * 1e3, 3) + " ms",
                               "iqr_s": lambda v: html.number(v * 1e3, 3) + " ms",
                               "iqr_over_median": _three_decimals},
        lambda r: "unstable", text_columns=("config", "stage"))
    body = (html.heading("Unstable measurements")
            + html.table(summary, "unstable-summary", text_columns=("config", "cause"))
            + html.details(f"Every unstable measurement ({len(unstable)})", full_list))
    frame = pd.DataFrame([{"config": results.label(r.settings), "status": r.KIND,
                           "message": r.error if isinstance(r, ErrorRow) else r.reason}
                          for r in results.rows if isinstance(r, (ErrorRow, SkippedRow))],
                         columns=["config", "status", "message"])
    return body + html.heading("Errors and skipped points") + html.table(
        frame, "errors", row_class=lambda r: "error" if r["status"] == "error" else "",
        text_columns=("config", "status", "message"))


def _profile(profile: Profile, label: str) -> str:
    summary = profile.summary
    heading = f"{label} (point {profile.point_id})"
    lines = profile.lines.sort_values("total_s", ascending=False).head(TOP_LINES)
    lines = lines.assign(total_ms=lines["total_s"] * 1e3)[
        ["area", "function", "line", "hits", "total_ms", "percent", "contents"]]
    ops = profile.ops.head(TOP_OPS)[["op", "calls", "self_cpu_us", "cpu_total_us", "self_device_us"]]
    return (html.heading(heading)
            + html.paragraph(
                f"Overhead: line_profiler x{summary.line_overhead:.2f}, torch.profiler "
                f"x{summary.trace_overhead:.2f} the unprofiled step time; worker profiles merged: "
                f"{summary.worker_stats_merged}; peak tensor memory "
                f"{summary.peak_tensor_memory_bytes / 2**20:.1f} MiB. Full "
                f"outputs: {PROFILES}/{profile.point_id}/ (lines.txt, trace.json.gz, ops*.csv).", "note")
            + html.table(lines, f"lines-{profile.point_id}", {"total_ms": _one_decimal, "percent": _one_decimal},
                         text_columns=("area", "function", "contents"))
            + html.table(ops, f"ops-{profile.point_id}", {c: _one_decimal for c in ops.columns[2:]},
                         text_columns=("op",)))


def _baseline(results: Results, baseline: Results, threshold: float, out: Path) -> str:
    table = compare.compare(results, baseline, threshold)
    body = ""
    for difference in compare.machine_differences(results, baseline):
        body += html.paragraph(f"The machines differ: {difference}.", "warning")
    if table.empty:
        return body + html.paragraph("No configuration was timed in both runs.", "note")
    different = int(sum(table["flag"] == compare.DIFFERENT_DATA))
    if different:
        body += html.paragraph(
            f"{different} matched configuration(s) ran on different data in the two runs (their "
            "data fingerprints differ: another synthetic setting, or other event files): they are "
            "flagged 'different data' and not counted as regressions or improvements.", "warning")
    recoded = table[table["plugin_code"] != ""]
    if not recoded.empty:
        body += html.paragraph(
            f"{len(recoded)} matched configuration(s) were built from other plug-in code in the two runs "
            f"(the plugin_code column: {recoded.iloc[0]['configuration']}: {recoded.iloc[0]['plugin_code']}): "
            "their ratio measures that change of code with the harness's.", "warning")
    plots.baseline_ratios(table, threshold, out / "baseline.png")
    body += html.paragraph(f"{len(table)} configurations matched; {sum(table['flag'] == 'regression')} "
                           f"regression(s) and {sum(table['flag'] == 'improvement')} improvement(s) "
                           f"beyond ±{100 * threshold:.0f}% with a CI that excludes 1. Each CI is taken "
                           "across the two directories' independent runs (Welch's t on the logarithms of "
                           "the runs' medians; the interval column says how each was made): it holds "
                           "across reruns. A side timed in one run falls back to its steps, and says so.", "")
    formats = {"current_ms": _one_decimal, "baseline_ms": _one_decimal,
               **{c: _three_decimals for c in ("ratio", "ci_low", "ci_high")}}
    return body + html.image("baseline.png", "current over baseline step time") + html.table(
        table, "baseline", formats, lambda r: r["flag"].replace(" ", "-"),
        text_columns=("configuration", "flag", "plugin_code", "current_runs_ms", "baseline_runs_ms", "interval"))


def _benchmarks(run_path, baseline_path, threshold: float, out: Path) -> str:
    run = pytest_benchmarks.load_run(run_path)
    body = html.paragraph(f"Run {run.title}, from {run.path}.", "note") + html.table(
        pytest_benchmarks.run_table(run), "pytest-benchmark",
        {c: _three_decimals for c in ("median_ms", "iqr_ms", "min_ms")} | {"x_group_fastest": _three_decimals},
        text_columns=("group", "name"))
    if baseline_path is None:
        return body
    baseline = pytest_benchmarks.load_run(baseline_path)
    body += html.heading(f"{run.path.name} against {baseline.title}")
    for difference in pytest_benchmarks.machine_differences(run, baseline):
        body += html.paragraph(f"The machines differ: {difference}.", "warning")
    table = pytest_benchmarks.compare_runs(run, baseline, threshold)
    if table.empty:
        return body + html.paragraph("No benchmark is in both runs.", "note")
    chart = table.assign(configuration=table["group"] + " | " + table["name"],
                         ci_low=table["ci_low"].fillna(table["ratio"]),
                         ci_high=table["ci_high"].fillna(table["ratio"]))
    plots.baseline_ratios(chart, threshold, out / "pytest-benchmark.png")
    formats = {c: _three_decimals for c in ("current_ms", "baseline_ms", "ratio", "ci_low", "ci_high")}
    return body + html.image("pytest-benchmark.png", "pytest-benchmark medians, current over baseline") + html.table(
        table, "pytest-benchmark-compare", formats, lambda r: r["flag"], text_columns=("group", "name", "flag"))


def _skipped(results: Results) -> list[str]:
    """One sentence per reason points were skipped, with how many."""
    reasons: dict[str, int] = {}
    for row in results.rows:
        if isinstance(row, SkippedRow):
            reason = row.reason.split(";")[0]  # the fact; the fix follows in the full list
            reasons[reason] = reasons.get(reason, 0) + 1
    return [f"{n} point(s) skipped: {reason}" for reason, n in reasons.items()]


def _answers(results: Results, out: Path) -> str:
    """The first screen: per layer type and device, my step, the fastest and the speed-up as large
    numbers, then the changes that get there and how to apply each; the same answers in words in
    summary.md beside the page."""
    found = answers.answers(results.stages, results.ratios, _skipped(results), results.runs,
                            failed_checks(results.checks))
    (out / SUMMARY_MD).write_text(answers.markdown(found))
    if not found:
        return html.paragraph("Nothing was timed, so there is nothing to answer yet.", "note")
    body = "".join(_headline(a, results) for a in found)
    panels = [(f"{a.layer_type} on {a.device}: your step to the fastest measured (named above)",
               a.user.step_ms, a.fastest.step_ms, bars)
              for a in found if not (a.fastest.disturbed or (a.user and a.user.disturbed))
              and not (bars := answers.waterfall(results.stages, a)).empty]
    if panels:
        plots.waterfall(panels, out / WATERFALL_PNG)
        body += html.image(WATERFALL_PNG, "from your step to the fastest, stage by stage") + html.paragraph(
            "Each bar is one stage's change of median time from your step to the fastest (green: "
            "saved), with the 95% CI of that change (an unpaired bootstrap: the two steps ran in "
            "different groups); 'other' is what the step's median moved beyond its stages' sum.", "note")
    body += html.details("The answers in words (as in summary.md)", "".join(
        html.heading(f"{a.layer_type} on {a.device}")
        + html.bullets(answers.sentences(a), f"answer-{a.layer_type}-{a.device}") for a in found))
    return body


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:,.1f} ms"


def _step_card(key: str, label: str, timed, other) -> dict:
    ci = findings.ci_text(timed.ci_low_ms, timed.ci_high_ms, ",.0f")
    short = (answers.short_label(timed.settings, other.settings)
             if other is not None and timed.settings is not None and other.settings is not None else timed.config)
    if timed.disturbed:  # no number: part of its time was another process's
        return {"key": key, "css": "", "label": label, "value": "busy",
                "ci": f"{answers.BUSY} ({timed.disturbed}); {answers.QUIET_RERUN}", "short": short,
                "full": timed.config}
    return {"key": key, "css": "", "label": label, "value": _ms(timed.step_ms),
            "ci": f"95% CI {ci} ms" if ci != findings.CI_TOO_FEW else ci, "short": short, "full": timed.config}


def _speedup_card(answer) -> dict:
    s = answer.speedup
    if s is None:
        busy = answer.fastest.disturbed or (answer.user.disturbed if answer.user else "")
        return {"key": "speedup", "css": "", "label": "Speed-up", "value": "—",
                "ci": f"{answers.BUSY}; {answers.QUIET_RERUN}" if busy
                else "your step was not timed beside a faster one", "short": "", "full": ""}
    label = "Speed-up, " + ("fastest" if answer.picked else "fastest pipeline") + " over yours"
    if (vague := answers.imprecision(answer)):  # no single number for an interval this wide
        value = (f"{1 / s.ci_high:.2f}–{1 / s.ci_low:.2f}×" if s.ci_low > 0 and s.ci_high > 0 else "?")
        return {"key": "speedup", "css": "", "label": label, "value": value, "ci": vague,
                "short": "", "full": ""}
    faster = s.significant and s.median < 1
    value = f"{s.speedup:.2f}×" if faster or not s.significant else f"{1 / s.speedup:.2f}× slower"
    ci = f"95% CI {1 / s.ci_high:.2f}–{1 / s.ci_low:.2f}×"
    return {"key": "speedup", "css": "faster" if faster else "", "label": label,
            "value": value, "ci": f"{ci}; unpaired; {answers.pick_text(answer)}; {answers.runs_text(s)}"
                                  + ("" if s.significant else "; no difference shown")
                                  + (f"; {answer.unstable}" if answer.unstable else ""),
            "short": "", "full": ""}


def _headline(answer, results: Results) -> str:
    """One layer type × device: your step, the fastest, the speed-up; the changes between them."""
    cards = ([_step_card("user", "Your step", answer.user, answer.fastest)] if answer.user else
             [{"key": "user", "css": "", "label": "Your step", "value": "not timed",
               "ci": 'add a point with variant = "pipeline:notebook"', "short": "", "full": ""}])
    cards += [_step_card("fastest", "Fastest step measured" if answer.picked else "Fastest pipeline's step",
                         answer.fastest, answer.user), _speedup_card(answer)]
    found = answers.changes(answer, results.stages, results.ratios)
    table = pd.DataFrame([{
        "change": c.what, "how to apply": c.apply,
        "step time saved": "not measured alone" if c.saving_ms is None else _ms(c.saving_ms),
        "95% CI, uncorrected": "" if c.saving_ms is None else findings.ci_text(c.ci_low_ms, c.ci_high_ms, ",.0f") + " ms",
        "paired": "" if c.paired is None else ("paired" if c.paired else "unpaired"),
        "shown": "" if c.saving_ms is None else ("yes" if c.shown else "no difference shown"),
        "measured at": c.where} for c in found])
    changes_html = html.table(table, f"changes-{answer.layer_type}-{answer.device}",
                              text_columns=tuple(table.columns)) if not table.empty else ""
    notes = [f"The fastest step's biggest stage: {answer.remaining_stage}, "
             f"{100 * answer.remaining_share:.0f}% of it. " + (
                 "Each change's saving is its own step ratio against its reference, where the run "
                 "measured it alone; 'shown' means significant after correcting for every "
                 "comparison on this page (Holm), and its CI is that comparison's own, uncorrected: "
                 "an interval that leaves out zero beside 'no difference shown' is a saving the "
                 "correction does not let this page state." if found else ""),
             "Not told by this run: " + "; ".join(answer.caveats) + "."]
    notes[:0] = ["Left out: " + why + "." for why in answers.left_out(answer)]
    if found and (name := pipeline_name(answer.fastest.settings.variant)):
        notes.insert(0, f'All of these at once: variant = "{name}".')
    return html.headline(f"answer-{answer.layer_type}-{answer.device}-card", f"{answer.layer_type} on {answer.device}",
                         cards, changes_html, notes)


def _workload(results: Results, out: Path) -> str:
    """NeuroBench's metrics per point, time against sparsity, and whether sparsity saves time."""
    body = html.paragraph("Per sample, by NeuroBench's definitions (snn/workload.py): dense synaptic "
                          "operations (every input and weight nonzero, bias excluded, padded taps "
                          "not counted), effective MACs and ACs (the actual nonzero inputs and "
                          "weights; spike inputs count as ACs), activation sparsity (zero spikes / "
                          "all), connection sparsity (zero weights / all), footprint (parameters and "
                          "buffers) and the same with each weight layer in CSR. Counted after timing, "
                          "on the trained network, over `workload_batches` test batches; the counting's "
                          "cost is that evaluation's time over the same evaluation uncounted.", "note")
    body += html.bullets(workload.sparsity_sentences(results.sparsity),
                         "sparsity-findings")
    table = workload.workload_table(results.workload)
    if table.empty:
        return body + html.paragraph("No point counted its workload: set workload_batches (e.g. 2) "
                                     "in the sweep's [settings].", "note")
    overhead = results.workload["counting_overhead"].dropna() if "counting_overhead" in results.workload else []
    if len(overhead):
        body += html.paragraph(f"Counting cost: the counted evaluation took {overhead.median():.2f}x the "
                               f"uncounted one at the median ({overhead.min():.2f}-{overhead.max():.2f}x "
                               f"over {len(overhead)} points, the same test batches each).", "note")
    big = lambda v: "" if pd.isna(v) else f"{v:,.0f}"  # noqa: E731
    body += html.table(table, "workload", text_columns=("configuration", "error"),
                       formats={"dense SynOps / sample": big, "effective MACs / sample": big,
                                "effective ACs / sample": big, "footprint (bytes)": big,
                                "CSR footprint (bytes)": big,
                                "activation sparsity": lambda v: html.number(v, 3),
                                "connection sparsity": lambda v: html.number(v, 3)})
    against = workload.time_against_sparsity(results.stages, results.workload)
    if not against.empty:
        plots.time_vs_sparsity(against, out / "time_vs_sparsity.png")
        body += html.image("time_vs_sparsity.png", "forward and backward time against connection and "
                           "activation sparsity, per layer type")
    return body


def _libraries(results: Results, out: Path) -> str | None:
    """The seed network in each SNN library: speed, memory, agreement; None without a port."""
    table = libraries.library_table(results.rows, results.checks)
    missing = libraries.not_installed(results.rows)
    if table.empty and not missing:
        return None
    body = html.paragraph("The seed network in each SNN library (snn.libraries, docs/libraries.md): the same "
                          "layers and weights, each library's own neurons. Every configuration of a layer type "
                          "took its turn step by step in one group run, so each ratio is paired, step against "
                          "step. Agreement and memory come from `snn-bench check`: spikes of every neuron layer "
                          "against snnTorch's notebook loop on one batch from one seed, and the peak tensor memory "
                          "of one forward and backward, measured apart from the timing.", "note")
    if missing:
        body += html.bullets(missing, "libraries-missing")
    if table.empty:
        return body
    body += html.bullets(libraries.sentences(table, results.rows), "libraries-findings")
    plots.library_steps(table, out / "libraries.png")
    body += html.image("libraries.png", "median training step per library configuration with 95% CI")
    ms = lambda v: html.number(v, 0)  # noqa: E731
    shown = table.drop(columns=["point_id", "step CI low (ms)", "step CI high (ms)", "differs by design"])
    body += html.table(shown, "libraries", text_columns=("layer type", "device", "library", "configuration",
                                                        "x notebook CI", "x fused CI"),
                       formats={"step (ms)": ms, "forward (ms)": ms, "backward (ms)": ms,
                                "x notebook step": lambda v: html.number(v, 3),
                                "x fused step": lambda v: html.number(v, 3),
                                "peak memory (MiB)": lambda v: html.number(v, 1),
                                "spikes agree": lambda v: {None: "not checked", True: "yes",
                                                           False: "no"}[libraries.agrees(v)],
                                "spikes differing (%)": lambda v: html.number(v, 2),
                                "max gradient difference (rel.)": lambda v: html.number(v, 3)})
    matrix = libraries.agreement_matrix(results.checks)
    if not matrix.empty:
        body += html.heading("Agreement with snnTorch's notebook loop, per neuron layer")
        body += html.table(matrix, "libraries-agreement", text_columns=("layer type", "library", "configuration"),
                           formats={c: (lambda v: html.number(v, 2)) for c in matrix.columns if "%" in c})
    designed = table[table["differs by design"] != ""].drop_duplicates(["library", "configuration"])
    if not designed.empty:
        body += html.heading("How each port's neuron differs from snn.Leaky by design")
        body += html.bullets([f"{r['library']} ({r['configuration']}): {r['differs by design']}"
                              for _, r in designed.iterrows()], "libraries-differences")
    return body


def _sweep_sections(results: Results, baseline: Results | None, threshold: float, out: Path) -> list[str]:
    stages = results.stages
    sections = [html.section("Answers", _answers(results, out), "answers-section"),
                html.section("Findings", html.bullets(findings.headline(stages, results.ratios), "findings"),
                             "findings-section"),
                html.section("Environment", _environment(results), "environment-section")]
    if not stages.empty:
        plots.stage_breakdown(stages, out / "stages.png")
        colours = plots.variant_colours(stages["variant"])  # the same colour in every figure
        plots.workers(stages, colours, out / "workers.png")
        rewiring = findings.rewiring_table(stages)
        if not rewiring.empty:
            plots.rewiring(rewiring, colours, out / "rewiring.png")
            plots.rewiring_traffic(rewiring, colours, out / "rewiring_traffic.png")
        sections += [
            html.section("Per-stage breakdown", _steps(results), "steps-section"),
            html.section("num_workers and devices",
                         html.image("workers.png", "step time and samples/s against num_workers"),
                         "workers-section"),
            html.section("How far from this machine's limit", _limits(results), "limits-section"),
            html.section("Variant speed-ups", _speedups(results), "speedups-section"),
            html.section("DeepR rewiring", _rewiring(results), "rewiring-section"),
        ]
    if (library_section := _libraries(results, out)) is not None:
        sections.append(html.section("Libraries", library_section, "libraries-section"))
    sections.append(html.section("Workload metrics and sparsity", _workload(results, out), "workload-section"))
    sections.append(html.section("Unstable measurements and errors", _problems(results), "problems-section"))
    if results.profiles:
        profiles = "".join(_profile(p, results.label(p.summary.settings)) for p in results.profiles)
        sections.append(html.section("Profiles", profiles, "profiles-section"))
    if baseline is not None:
        sections.append(html.section(f"Against the baseline {baseline.directory}",
                                     _baseline(results, baseline, threshold, out), "baseline-section"))
    # the timed rows without raw samples, flattened as results.csv is (bench.results.rows.flatten)
    write_csv([r for r in results.rows if isinstance(r, StageRow)], out / REPORT_CSV, samples=False)
    return sections


def render_report(results_dir: str | Path | None, out: str | Path,
                  baseline_dir: str | Path | None = None,
                  threshold: float = REGRESSION_THRESHOLD,
                  benchmark_run: str | Path | None = None,
                  benchmark_baseline: str | Path | None = None) -> Path:
    """Write out/index.html and its PNGs (and report.csv for a results directory): a sweep's
    results (against a baseline sweep), and/or a saved pytest-benchmark run (against another)."""
    if results_dir is None and benchmark_run is None:
        raise SettingError("nothing to report: pass a results directory, a saved pytest-benchmark "
                         "run (--benchmark-run), or both")
    if benchmark_baseline is not None and benchmark_run is None:
        raise SettingError("--benchmark-baseline needs --benchmark-run: the run to compare with it")
    results = load_results(results_dir) if results_dir is not None else None
    baseline = load_results(baseline_dir) if baseline_dir is not None else None
    if baseline is not None and results is None:
        raise SettingError("--baseline compares two results directories: pass the current one too")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sections = _sweep_sections(results, baseline, threshold, out) if results is not None else []
    if benchmark_run is not None:
        sections.append(html.section("pytest-benchmark runs",
                                     _benchmarks(benchmark_run, benchmark_baseline, threshold, out),
                                     "pytest-benchmark-section"))
    subtitle = " · ".join(part for part in (
        f"results: {results.directory}" if results else "",
        f"baseline: {baseline.directory}" if baseline else "",
        f"pytest-benchmark: {pytest_benchmarks.resolve(benchmark_run)}" if benchmark_run else "") if part)
    page = out / "index.html"
    page.write_text(html.page("snn-bench report", subtitle, sections))
    return page
