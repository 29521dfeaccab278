"""Plain-text tables for the terminal."""

from __future__ import annotations

from bench.stats import summarise
from snn.names import STAGES


def stage_table(stage_samples: dict[str, list[float]], step_samples: list[float]) -> str:
    """Per-stage median, IQR and min in ms, and each stage's share of the median step."""
    step = summarise(step_samples)
    names = [s for s in STAGES if s in stage_samples] + sorted(set(stage_samples) - set(STAGES))
    header = f"{'stage':<12}{'median ms':>11}{'IQR ms':>9}{'min ms':>9}{'% step':>8}  note"
    rows = [header, "-" * len(header)]
    for name in names + ["step"]:
        s = step if name == "step" else summarise(stage_samples[name])
        share = 100.0 * s.median / step.median if step.median else float("nan")
        note = "unstable (IQR/median > 0.1)" if s.unstable else ""
        rows.append(f"{name:<12}{s.median * 1e3:>11.2f}{s.iqr * 1e3:>9.2f}{s.min * 1e3:>9.2f}"
                    f"{share:>8.1f}  {note}".rstrip())
    return "\n".join(rows)
