"""The report's figures, as PNG files (matplotlib, no display needed).

Every figure labels its axes with units, has a legend, and draws a variant in the same colour
everywhere (`variant_colours`), so plots can be read side by side.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never look for a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bench.measure.stages import STEP  # noqa: E402
from snn.names import STAGES  # noqa: E402

MS = 1e3
DPI = 110
STAGE_COLOURS = dict(zip(STAGES, plt.get_cmap("Set2").colors))


def variant_colours(variants) -> dict[str, tuple]:
    """One colour per variant for every figure of a report: pass all of the report's variants."""
    palette = plt.get_cmap("tab10").colors
    return {v: palette[i % len(palette)] for i, v in enumerate(sorted(set(variants)))}


REWIRING_MS = "median rewiring time per step (ms), 95% CI"


def _finish_panel(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)


def save_figure(fig, path: Path) -> Path:
    """Every report figure is written alike: laid out, at DPI, and closed."""
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def stage_breakdown(stages: pd.DataFrame, path: Path) -> Path:
    """A horizontal stacked bar per configuration: each stage's median; '*' marks an unstable step."""
    steps = stages[stages["stage"] == STEP].sort_values("median_s")
    medians = stages.pivot_table(index="config", columns="stage", values="median_s") * MS
    order = list(steps["config"])
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.34 * len(order)))
    left = pd.Series(0.0, index=order)
    for stage in [s for s in STAGES if s in medians]:
        values = medians.loc[order, stage].fillna(0)
        ax.barh(order, values, left=left, color=STAGE_COLOURS[stage], label=stage)
        left += values
    unstable = set(steps.loc[steps["unstable"].astype(bool), "config"])
    ax.set_yticks(range(len(order)), [f"{c} *" if c in unstable else c for c in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median time per training step (ms)")
    ax.set_title("Where a training step's time goes (* unstable step time)", pad=28)
    ax.legend(ncols=len(STAGES), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8,
              frameon=False)
    return save_figure(fig, path)


def workers(stages: pd.DataFrame, colours: dict[str, tuple], path: Path) -> Path:
    """Step time and samples/s against num_workers, one column per device."""
    steps = stages[stages["stage"] == STEP]
    devices = sorted(steps["device"].unique())
    fig, axes = plt.subplots(2, len(devices), figsize=(6.5 * len(devices), 7.5), squeeze=False)
    shapes = "osD^vP*Xph<>"  # one per network, cycled: library ports add networks to a sweep
    markers = {layer: shapes[i % len(shapes)] for i, layer in enumerate(sorted(steps["layer_type"].unique()))}
    sparse = sorted(c for c in steps["connectivity"].unique() if c < 1.0)
    dashes = {1.0: "-", **{c: style for c, style in zip(sparse, ["--", ":", "-.", (0, (5, 1))] * 8)}}
    for column, device in enumerate(devices):
        on_device = steps[steps["device"] == device]
        for (layer, variant, c), line in on_device.groupby(["layer_type", "variant", "connectivity"]):
            line = line.sort_values("num_workers")
            style = dict(color=colours[variant], marker=markers[layer], alpha=0.85,
                         linestyle=dashes[c],  # connectivity: solid when dense
                         label=f"{layer} {variant} c={c:g}")
            axes[0][column].errorbar(line["num_workers"], line["median_s"] * MS,
                                     yerr=[(line["median_s"] - line["ci_low_s"]) * MS,
                                           (line["ci_high_s"] - line["median_s"]) * MS],
                                     capsize=3, **style)
            axes[1][column].plot(line["num_workers"], line["samples_per_s"], **style)
        axes[0][column].set_title(f"{device}: step time")
        axes[0][column].set_ylabel("median step time (ms), 95% CI")
        axes[1][column].set_title(f"{device}: throughput")
        axes[1][column].set_ylabel("samples per second")
        for ax in (axes[0][column], axes[1][column]):
            ax.set_xlabel("DataLoader num_workers")
            ax.set_xticks(sorted(on_device["num_workers"].unique()))
            ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def rewiring(table: pd.DataFrame, colours: dict[str, tuple], path: Path) -> Path:
    """Rewiring time against connectivity (log-log), one panel per layer type, floor dashed."""
    layers = sorted(table["layer_type"].unique())
    fig, axes = plt.subplots(1, len(layers), figsize=(5.5 * len(layers), 4.5), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        on_layer = table[table["layer_type"] == layer]
        for (variant, workers_, device), line in on_layer.groupby(["variant", "num_workers", "device"]):
            line = line.sort_values("connectivity")
            ax.errorbar(line["connectivity"], line["rewiring_ms"],
                        yerr=[line["rewiring_ms"] - line["ci_low_ms"], line["ci_high_ms"] - line["rewiring_ms"]],
                        color=colours[variant], marker="o", capsize=3,
                        label=f"{variant} ({workers_} workers, {device})")
        floor = on_layer["floor_ms"].median()
        if pd.notna(floor):  # the same weights at any connectivity: one level per layer type
            ax.axhline(floor, color="black", linestyle="--",
                       label=f"elementwise floor, one in-place pass ({floor:.3f} ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        _finish_panel(ax, "connectivity (fraction of connections kept)", REWIRING_MS,
                      f"{layer}: DeepR rewiring cost")
    return save_figure(fig, path)


def rewiring_traffic(table: pd.DataFrame, colours: dict[str, tuple], path: Path) -> Path:
    """Rewiring time against the connections that died per update, one panel per layer type,
    with the elementwise floor: does the update's cost follow its traffic?"""
    layers = sorted(table["layer_type"].unique())
    fig, axes = plt.subplots(1, len(layers), figsize=(5.5 * len(layers), 4.5), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        on_layer = table[table["layer_type"] == layer]
        for variant, points in on_layer.groupby("variant"):
            ax.errorbar(points["deaths_per_update"], points["rewiring_ms"],
                        yerr=[points["rewiring_ms"] - points["ci_low_ms"],
                              points["ci_high_ms"] - points["rewiring_ms"]],
                        fmt="o", color=colours[variant], capsize=3, label=variant)
        floor = on_layer["floor_ms"].median()
        if pd.notna(floor):
            ax.axhline(floor, color="black", linestyle="--", label=f"elementwise floor ({floor:.3f} ms)")
        ax.set_xscale("symlog", linthresh=1)
        # no negative deaths: room for the zero column on the left and the largest on the right
        ax.set_xlim(-0.3, max(1.0, on_layer["deaths_per_update"].max()) * 3)
        ax.set_yscale("log")
        _finish_panel(ax, "connections that died per update (all rewired layers, mean)", REWIRING_MS,
                      f"{layer}: rewiring cost against traffic")
    return save_figure(fig, path)


def baseline_ratios(table: pd.DataFrame, threshold: float, path: Path) -> Path:
    """Current/baseline step-time ratio per matched configuration, with CI and the threshold band."""
    table = table.sort_values("ratio")
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.34 * len(table)))
    colours = ["tab:red" if f == "regression" else "tab:green" if f == "improvement" else "tab:gray"
               for f in table["flag"]]
    ax.errorbar(table["ratio"], range(len(table)), fmt="none", ecolor="black", capsize=3,
                xerr=[table["ratio"] - table["ci_low"], table["ci_high"] - table["ratio"]])
    ax.scatter(table["ratio"], range(len(table)), color=colours, zorder=3)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvspan(1 - threshold, 1 + threshold, color="gray", alpha=0.15,
               label=f"within ±{100 * threshold:.0f}% (not flagged)")
    ax.set_yticks(range(len(table)), table["configuration"], fontsize=8)
    ax.set_xlabel("median step time, current / baseline (below 1: faster now), 95% CI")
    ax.set_title("Against the baseline (red: regression, green: improvement)")
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


def waterfall(panels: list[tuple[str, float, float, pd.DataFrame]], path: Path) -> Path:
    """One panel per (title, user step ms, fastest step ms, answers.waterfall table): the user's
    step, each stage's measured change as a floating bar with its 95% CI, then the fastest step."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.6 * len(panels)), squeeze=False)
    for ax, (title, user_ms, fastest_ms, bars) in zip(axes[:, 0], panels):
        names = ["your step"] + list(bars["bar"]) + ["fastest step"]
        ax.bar(0, user_ms, color="#888888")
        level = user_ms
        for i, bar in enumerate(bars.itertuples(), start=1):
            bottom = level + min(bar.change_ms, 0)
            colour = "#2e8b57" if bar.change_ms < 0 else "#c0392b"
            ax.bar(i, abs(bar.change_ms), bottom=bottom, color=colour)
            if not pd.isna(bar.ci_low_ms):  # the CI of the new level: where the bar ends
                end = level + bar.change_ms
                ax.errorbar(i, end, yerr=[[bar.change_ms - bar.ci_low_ms], [bar.ci_high_ms - bar.change_ms]],
                            color="black", capsize=3, linewidth=1)
            level += bar.change_ms
        ax.bar(len(names) - 1, fastest_ms, color="#1f77b4")
        ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
        ax.set_ylabel("median time per step (ms)")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)


def time_vs_sparsity(table: pd.DataFrame, path: Path) -> Path:
    """Forward and backward median time against connection and activation sparsity, one colour per
    layer type, one marker per stage (bench.report.workload.time_against_sparsity)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    palette = plt.get_cmap("tab10").colors
    layer_types = sorted(table["layer_type"].unique())
    markers = {"forward": "o", "backward": "s"}
    for ax, column, label in ((axes[0], "connection_sparsity", "connection sparsity (zero weights / all)"),
                              (axes[1], "activation_sparsity", "activation sparsity (zero spikes / all)")):
        for i, layer_type in enumerate(layer_types):
            for stage, marker in markers.items():
                rows = table[(table["layer_type"] == layer_type) & (table["stage"] == stage)]
                if not rows.empty:
                    ax.scatter(rows[column], rows["median_s"] * MS, color=palette[i % len(palette)],
                               marker=marker, label=f"{layer_type} {stage}", alpha=0.8)
        ax.set_yscale("log")
        _finish_panel(ax, label, "median time per step (ms)", f"Time against {label.split(' (')[0]}")
    return save_figure(fig, path)


def library_steps(table: pd.DataFrame, path: Path) -> Path:
    """One panel per layer type and device: each library configuration's median step with its 95%
    CI, fastest at the top; green where its spikes agree with the notebook loop's."""
    panels = list(table.groupby(["layer type", "device"], sort=True))
    rows = max(len(part) for _, part in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 1.4 + 0.38 * rows), squeeze=False)
    for ax, ((layer, device), part) in zip(axes[0], panels):
        part = part.sort_values("step (ms)", ascending=False)
        labels = [f"{r['library']}: {r['configuration']}" for _, r in part.iterrows()]
        errors = [(part["step (ms)"] - part["step CI low (ms)"]).clip(lower=0).fillna(0),
                  (part["step CI high (ms)"] - part["step (ms)"]).clip(lower=0).fillna(0)]
        colours = ["#2e7d32" if pd.notna(agrees) and bool(agrees) else "#9e9e9e" for agrees in part["spikes agree"]]
        ax.barh(labels, part["step (ms)"], xerr=errors, color=colours, capsize=3)
        ax.tick_params(axis="y", labelsize=7)
        _finish_panel(ax, "median training step (ms), 95% CI", "", f"{layer} on {device}")
        ax.legend(handles=[Patch(color="#2e7d32", label="spikes equal to the notebook loop's"),
                           Patch(color="#9e9e9e", label="spikes differ (or not checked)")], fontsize=7)
    return save_figure(fig, path)
