"""A results directory → the tables a report is drawn from, through the store's typed rows.

Imports neither torch nor the sweep runner nor the profilers: a report renders anywhere the
results were copied to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.config.settings import BY_NAME, network_name, point_label
from bench.config.variants import APPROXIMATE_LABEL, parse_variant
from bench.errors import UserError
from bench.report.findings import correct_page_family
from bench.report.workload import sparsity_against_dense
from bench.results.combine import with_combined
from bench.results.paths import LINES_CSV, OPS_CSV, PROFILE_SUMMARY, PROFILES, RESULTS
from bench.results.rows import (
    ENV_FIELDS,
    PER_GROUP_FIELDS,
    CheckRow,
    ProfileSummary,
    RatioRow,
    Row,
    StageRow,
    WorkloadRow,
    flat_columns,
    flatten,
)
from bench.results.store import ResultStore


class NoResultsError(UserError, FileNotFoundError):
    """A directory without a results store."""


@dataclass
class Profile:
    summary: ProfileSummary
    lines: pd.DataFrame
    ops: pd.DataFrame

    @property
    def point_id(self) -> str:
        return self.summary.point_id


@dataclass
class Results:
    directory: Path
    rows: list[Row]  # the store's current rows (each run's), and the figures across runs
    stages: pd.DataFrame  # one row per point and stage across its runs (timed points only), flattened
    ratios: pd.DataFrame  # variants against references across runs, paired and unpaired
    profiles: list[Profile] = field(default_factory=list)
    label_also: list[str] = field(default_factory=list)  # settings that differ between points
    workload: pd.DataFrame = field(default_factory=pd.DataFrame)  # NeuroBench metrics per point
    # DeepR points' forward/backward against the dense point beside them (report.workload)
    sparsity: pd.DataFrame = field(default_factory=pd.DataFrame)
    checks: list[CheckRow] = field(default_factory=list)  # the latest `snn-bench check` per point and component
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # each run's stage rows (run_index 0, 1, ...)
    run_ratios: pd.DataFrame = field(default_factory=pd.DataFrame)  # each run's ratio rows

    def label(self, settings: dict) -> str:
        """A point's label in this report: naming every setting that differs between its points."""
        return point_label(settings, also=self.label_also)

    @property
    def environments(self) -> list[dict]:
        """The distinct machines/software the timed rows came from (ENV_FIELDS)."""
        seen, envs = set(), []
        for row in self.rows:
            if isinstance(row, StageRow) and row.run_index is not None:
                env = {k: row.env.get(k) for k in ENV_FIELDS if k not in PER_GROUP_FIELDS}
                key = json.dumps(env, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    envs.append(env)
        return envs


def varying_settings(rows: list[Row]) -> list[str]:
    """The settings that differ between the points of these rows: every label names them. A
    setting counts only at the points it matters to: lr_rule is not "varying" because dense
    points carry its neutral value beside DeepR points at the default."""
    values: dict[str, set] = {}
    for row in rows:
        variant = parse_variant(row.settings.variant)
        for name, value in row.settings.as_dict().items():
            if name in BY_NAME and not BY_NAME[name].applies(variant, row.settings.as_dict()):
                continue
            values.setdefault(name, set()).add(repr(value))
    return [name for name, seen in values.items() if len(seen) > 1]


def frame(rows: list[Row], row_type: type[Row] | None = None, label_also=()) -> pd.DataFrame:
    """Rows as one table (bench.results.rows.flatten): settings, fields, env.* and the `config` label;
    with no rows, the columns of `row_type`, so every table reads alike when nothing was timed."""
    if not rows and row_type is not None:
        return pd.DataFrame(columns=flat_columns(row_type))
    table = pd.DataFrame([flatten(r, label_also=label_also) for r in rows])
    if {"model", "layer_type"} <= set(table.columns):  # the report's network column: the seed
        table["layer_type"] = [network_name(m, t) for m, t in zip(table["model"], table["layer_type"])]  # preset, or the model
    return table


def _profiles(directory: Path) -> list[Profile]:
    profiles = []
    for summary_path in sorted((directory / PROFILES).glob(f"*/{PROFILE_SUMMARY}")):
        folder = summary_path.parent
        summary = ProfileSummary.from_json(summary_path.read_text(), str(summary_path))
        profiles.append(Profile(summary=summary, lines=pd.read_csv(folder / LINES_CSV),
                                ops=pd.read_csv(folder / OPS_CSV)))
    return profiles


def latest_checks(stored: list[Row]) -> list[CheckRow]:
    """The latest check row of each point and component (rows are in the order they were stored)."""
    return list({(r.point_id, r.component): r for r in stored if isinstance(r, CheckRow)}.values())


def failed_checks(checks: list[CheckRow]) -> dict[str, str]:
    """Point id → "<component>: <first problem>" for each point whose latest check of some component
    failed (an approximate variant's, judged by accuracy, is not an equivalence)."""
    failed = {}
    for row in checks:
        if not row.passed and row.component != "approx":
            failed.setdefault(row.point_id, f"{row.component} check failed, {'; '.join(row.problems[:1])}")
    return failed


def with_checks(ratios: pd.DataFrame, stored: list[Row]) -> pd.DataFrame:
    """Ratios with `check`: the verdict of the latest `snn-bench check` of the variant point's
    component ("passed", "FAILED: ..."), or "" where none was run."""
    latest = {(r.point_id, r.component): r for r in latest_checks(stored)}
    ratios = ratios.copy()
    if ratios.empty:
        return ratios.assign(check=pd.Series(dtype=str))
    verdicts = []
    for point_id, component in zip(ratios["point_id"], ratios["component"]):
        row = latest.get((point_id, component))
        verdicts.append("" if row is None else APPROXIMATE_LABEL if component == "approx"
                        else "passed" if row.passed else "FAILED: " + "; ".join(row.problems[:2]))
    return ratios.assign(check=verdicts)


def load_results(directory: str | Path) -> Results:
    directory = Path(directory)
    if not (directory / RESULTS).is_file():
        raise NoResultsError(f"no results in {directory} (no {RESULTS}): run `snn-bench sweep FILE "
                             f"--out {directory}` first, or pass the directory a sweep wrote")
    store = ResultStore(directory)
    stored = store.rows()  # read once: a damaged line is said once
    rows = with_combined(store.current_rows(stored))
    varying = varying_settings(rows)
    across = [r for r in rows if r.run_index is None]  # the figures across runs: what the page states
    each = [r for r in rows if r.run_index is not None]
    stages = frame([r for r in across if isinstance(r, StageRow)], StageRow, varying)
    # significant_holm: every comparison the page shows corrected once, here, as one family, so
    # every table and sentence agrees
    ratios, sparsity = correct_page_family(frame([r for r in across if isinstance(r, RatioRow)],
                                                 RatioRow, varying), sparsity_against_dense(stages))
    return Results(
        directory=directory,
        rows=rows,
        stages=stages,
        ratios=with_checks(ratios, stored),
        sparsity=sparsity,
        label_also=varying,
        profiles=_profiles(directory),
        workload=frame([r for r in rows if isinstance(r, WorkloadRow)], WorkloadRow, varying),
        checks=latest_checks(stored),
        runs=frame([r for r in each if isinstance(r, StageRow)], StageRow, varying),
        run_ratios=frame([r for r in each if isinstance(r, RatioRow)], RatioRow, varying),
    )
