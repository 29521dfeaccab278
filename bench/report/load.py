"""A results directory → the tables a report is drawn from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.store import RESULTS, ResultStore
from bench.sweep import PROFILES

ENV_FIELDS = ("host", "platform", "cpu_model", "cores", "device", "gpu", "gpu_driver", "cuda",
              "python", "torch", "snntorch", "tonic", "numpy", "threads", "interop_threads",
              "flush_denormal", "data_root", "synthetic_data", "git_commit", "git_dirty")


class NoResultsError(FileNotFoundError):
    """A directory without a results store."""


@dataclass
class Profile:
    point_id: str
    summary: dict
    lines: pd.DataFrame
    ops: pd.DataFrame


@dataclass
class Results:
    directory: Path
    stages: pd.DataFrame  # one row per point and stage (timed points only)
    ratios: pd.DataFrame  # paired ratios within group runs
    problems: pd.DataFrame  # error and skipped rows
    profiles: list[Profile] = field(default_factory=list)

    @property
    def environments(self) -> list[dict]:
        """The distinct machines/software the timed rows came from."""
        seen, envs = set(), []
        for env in self.stages.get("env", pd.Series(dtype=object)):
            key = json.dumps({k: env.get(k) for k in ENV_FIELDS}, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                envs.append({k: env.get(k) for k in ENV_FIELDS})
        return envs


def label(row) -> str:
    """A configuration as a reader names it."""
    return (f"{row['layer_type']} | {row['num_workers']} workers | {row['device']} | "
            f"{row['variant']} | c={row['connectivity']:g}")


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["config"] = frame.apply(label, axis=1)
    return frame


def _profiles(directory: Path) -> list[Profile]:
    profiles = []
    for summary_path in sorted((directory / PROFILES).glob("*/profile.json")):
        folder = summary_path.parent
        profiles.append(Profile(point_id=folder.name, summary=json.loads(summary_path.read_text()),
                                lines=pd.read_csv(folder / "lines.csv"),
                                ops=pd.read_csv(folder / "ops.csv")))
    return profiles


def load_results(directory: str | Path) -> Results:
    directory = Path(directory)
    if not (directory / RESULTS).is_file():
        raise NoResultsError(f"no results in {directory} (no {RESULTS}): run `snn-bench sweep FILE "
                             f"--out {directory}` first, or pass the directory a sweep wrote")
    rows = ResultStore(directory).current_rows()
    return Results(
        directory=directory,
        stages=_frame([r for r in rows if r["kind"] == "stage"]),
        ratios=_frame([r for r in rows if r["kind"] == "ratio"]),
        problems=_frame([r for r in rows if r["kind"] in ("error", "skipped")]),
        profiles=_profiles(directory),
    )
