"""Outcomes → tidy result rows: one per point and stage, plus error, skip and ratio rows.

Every row carries the point's full settings and its environment, so a row read alone (in a CSV,
in a report, months later) says what was measured where. Durations are in seconds (`*_s`).
"""

from __future__ import annotations

import datetime as dt

from bench.plan import PlannedPoint
from bench.point import PointFailure, PointResult
from bench.settings import parse_variant
from bench.stats import paired_ratio, summarise
from bench.timing import FLOOR_STAGE, OVERHEAD_STAGE
from snn.train import STAGES

SCHEMA_VERSION = 1
STEP = "step"  # the whole step, as its own row
ROW_STAGES = STAGES + (STEP, OVERHEAD_STAGE, FLOOR_STAGE)


def _by_stage(result: PointResult) -> dict[str, list[float]]:
    """Every stage's samples, the whole step's included."""
    return {**result.stage_samples, STEP: result.step_samples}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _base(point: PlannedPoint, kind: str, run: dict) -> dict:
    return {"schema": SCHEMA_VERSION, "kind": kind, **run, "point_id": point.point_id,
            "group_id": point.group_id, **point.settings, "recorded_at": _now()}


def stage_rows(point: PlannedPoint, result: PointResult, run: dict) -> list[dict]:
    """One row per stage (and the whole step, and the harness's own overhead)."""
    samples = _by_stage(result)
    step_median = summarise(result.step_samples).median
    batch = point.settings["batch_size"]
    rows = []
    for stage in [s for s in ROW_STAGES if s in samples]:
        s = summarise(samples[stage])
        rows.append({
            **_base(point, "stage", run), "status": "ok", "stage": stage,
            "n": s.n, "median_s": s.median, "iqr_s": s.iqr, "min_s": s.min, "mean_s": s.mean,
            "ci_low_s": s.ci_low, "ci_high_s": s.ci_high, "unstable": s.unstable,
            "share_of_step": s.median / step_median if step_median > 0 else None,
            "samples_per_s": batch / s.median if stage == STEP and s.median > 0 else None,
            "samples_s": list(samples[stage]),
            "epoch_restarts": result.epoch_restarts,
            "active_connections": result.active_connections,
            "total_connections": result.total_connections,
            "connectivity_measured": result.active_connections / result.total_connections,
            "loss_first": result.losses[0], "loss_last": result.losses[-1],
            "env": result.environment,
        })
    return rows


def error_row(point: PlannedPoint, failure: PointFailure, run: dict) -> dict:
    return {**_base(point, "error", run), "status": "error", "stage": None,
            "error": failure.error, "traceback": failure.traceback, "env": failure.environment}


def skipped_row(point: PlannedPoint, run: dict) -> dict:
    return {**_base(point, "skipped", run), "status": "skipped", "stage": None,
            "error": point.skip_reason}


def group_rows(group: list[PlannedPoint], outcomes: list[PointResult | PointFailure],
               references: dict[str, str], run: dict) -> tuple[list[dict], list[tuple]]:
    """All rows of one group run (stages, errors, ratios among its timed points), and the
    (point, failure) pairs of the points that failed."""
    rows, timed, failures = [], [], []
    for point, outcome in zip(group, outcomes):
        if isinstance(outcome, PointFailure):
            rows.append(error_row(point, outcome, run))
            failures.append((point, outcome))
        else:
            rows += stage_rows(point, outcome, run)
            timed.append((point, outcome))
    return rows + ratio_rows(timed, references, run), failures


def ratio_rows(timed: list[tuple[PlannedPoint, PointResult]], references: dict[str, str],
               run: dict) -> list[dict]:
    """Paired ratios per stage of each point against its reference in the same group run.

    For every component where a point does not use the reference implementation (`references`,
    e.g. deepr → notebook), its reference is the point that differs only in that component.
    A ratio below 1 means the point is faster; `speedup` is its inverse.
    """
    by_key = {(p.settings["variant"], p.settings["connectivity"]): (p, r) for p, r in timed}
    rows = []
    for point, result in timed:
        variant = parse_variant(point.settings["variant"])
        for component, reference in references.items():
            if variant.of(component) == reference:
                continue
            ref_name = variant.with_choice(component, reference).name
            match = by_key.get((ref_name, point.settings["connectivity"]))
            if match is None:
                continue
            ref_point, ref_result = match
            rows += _stage_ratios(point, result, ref_point, ref_result, component, run)
    return rows


def _stage_ratios(point, result, ref_point, ref_result, component: str, run: dict) -> list[dict]:
    samples, ref_samples = _by_stage(result), _by_stage(ref_result)
    rows = []
    for stage in [s for s in STAGES + (STEP,) if s in samples and s in ref_samples]:
        if min(ref_samples[stage]) <= 0:
            continue  # a stage too short for the clock has no ratio
        r = paired_ratio(samples[stage], ref_samples[stage])
        rows.append({
            **_base(point, "ratio", run), "status": "ok", "stage": stage,
            "component": component,
            "reference_point_id": ref_point.point_id,
            "reference_variant": ref_point.settings["variant"],
            "n": r.n, "ratio_median": r.median, "ratio_ci_low": r.ci_low,
            "ratio_ci_high": r.ci_high, "speedup": r.speedup, "significant": r.significant,
        })
    return rows
