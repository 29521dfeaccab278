"""Outcomes of a group run → typed rows (bench.results.rows); ratios of variants against references.

A variant point's reference is the point whose settings differ only in using the reference
implementation of one component (bench.config.variants.REFERENCES, or a sweep's [references]).
Points timed in one group run compare step for step (paired). A pipeline component's variant
(framing) needs its own DataLoader, so it was timed in another group: it compares with its
reference as a ratio of medians with an unpaired bootstrap CI, marked `paired = False`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.config.settings import Settings
from bench.config.variants import (
    PIPELINE_COMPONENTS,
    parse_variant,
    pipeline_name,
    pipeline_variant,
)
from bench.measure.point import PointFailure, PointResult, PointSkipped
from bench.measure.stages import COMPARED_STAGES, STEP, STORED_STAGES
from bench.results.rows import ErrorRow, RatioRow, Row, SkippedRow, StageRow, WorkloadRow
from bench.stats import Ratio, paired_ratio, ratio_of_medians, summarise


def _head(point, run: dict) -> dict:
    return {"sweep": run["sweep"], "run_id": run["run_id"], "point_id": point.point_id,
            "group_id": point.group_id, "settings": point.settings,
            "run_index": getattr(point, "run_index", 0)}


def _by_stage(result: PointResult) -> dict[str, list[float]]:
    """Every stage's samples, the whole step's included."""
    return {**result.stage_samples, STEP: result.step_samples}


def stage_rows(point, result: PointResult, run: dict) -> list[StageRow]:
    """One row per stage (and the whole step, the harness's own overhead and the floor)."""
    samples = _by_stage(result)
    step_median = summarise(result.step_samples).median
    traffic = result.traffic
    rows = []
    for stage in [s for s in STORED_STAGES if s in samples]:
        s = summarise(samples[stage])
        rows.append(StageRow(
            **_head(point, run), stage=stage,
            n=s.n, median_s=s.median, iqr_s=s.iqr, min_s=s.min, mean_s=s.mean,
            ci_low_s=s.ci_low, ci_high_s=s.ci_high, unstable=s.unstable,
            share_of_step=s.median / step_median if step_median > 0 else None,
            samples_per_s=(point.settings.batch_size / s.median
                           if stage == STEP and s.median > 0 else None),
            samples_s=list(samples[stage]),
            epoch_restarts=result.epoch_restarts,
            active_connections=result.active_connections,
            total_connections=result.total_connections,
            connectivity_measured=result.active_connections / result.total_connections,
            loss_first=result.losses[0], loss_last=result.losses[-1],
            group_wall_s=run.get("group_wall_s"),
            deaths_per_update=traffic.mean_per_update(traffic.died) if traffic else [],
            revivals_per_update=traffic.mean_per_update(traffic.revived) if traffic else [],
            active_after_updates=traffic.active_after if traffic else [],
            env=result.environment))
    return rows


def error_row(point, failure: PointFailure, run: dict) -> ErrorRow:
    return ErrorRow(**_head(point, run), error=failure.error, traceback=failure.traceback,
                    env=failure.environment)


def skipped_row(point, run: dict, reason: str | None = None) -> SkippedRow:
    """A point skipped at plan time (its device is absent: `point.skip_reason`), or when it was
    built (`reason`: its variant does not apply to its model or data; final, so done)."""
    if reason is not None:
        return SkippedRow(**_head(point, run), reason=reason, cause="variant")
    return SkippedRow(**_head(point, run), reason=point.skip_reason)


def reference_settings(settings: Settings, component: str, reference: str) -> Settings | None:
    """The settings of `settings`' reference for one component, or None when the point already
    uses the reference (or its reference cannot exist, e.g. dense against a DeepR reference)."""
    variant = parse_variant(settings.variant)
    if variant.of(component) == reference:
        return None
    try:
        return settings.changed(variant=variant.with_choice(component, reference).name)
    except ValueError:
        return None


def _ratio_rows(row_head: dict, ratios: dict[str, Ratio], component: str, reference,
                paired: bool) -> list[RatioRow]:
    return [RatioRow(**row_head, stage=stage, component=component,
                     reference_point_id=reference.point_id, reference_run_id=reference.run_id,
                     reference_variant=reference.settings.variant, paired=paired,
                     n=r.n, ratio_median=r.median, ratio_ci_low=r.ci_low, ratio_ci_high=r.ci_high,
                     speedup=r.speedup, significant=r.significant, p_value=r.p_value)
            for stage, r in ratios.items()]


def _ratios(samples: dict, ref_samples: dict, compare) -> dict[str, Ratio]:
    """Per compared stage; a stage too short for the clock (a 0 reference) has no ratio."""
    return {stage: compare(samples[stage], ref_samples[stage]) for stage in COMPARED_STAGES
            if stage in samples and stage in ref_samples and min(ref_samples[stage]) > 0}


@dataclass
class _Timed:
    """A timed point as the ratio builders see it: ids, settings, run and samples per stage."""

    point_id: str
    group_id: str
    settings: Settings
    run_id: str
    samples: dict[str, list[float]]
    run_index: int = 0


def paired_ratio_rows(group: list, results: list[PointResult], references: dict[str, str],
                      run: dict) -> list[RatioRow]:
    """Each point against the references timed in the same group run, step for step."""
    timed = [_Timed(p.point_id, p.group_id, p.settings, run["run_id"], _by_stage(r), p.run_index)
             for p, r in zip(group, results)]
    by_id = {t.settings.id: t for t in timed}
    rows = []
    for t in timed:
        for component, reference in references.items():
            wanted = reference_settings(t.settings, component, reference)
            ref = by_id.get(wanted.id) if wanted is not None else None
            if ref is not None:
                rows += _ratio_rows(_head(t, run), _ratios(t.samples, ref.samples, paired_ratio),
                                    component, ref, paired=True)
    return rows


def group_rows(group: list, outcomes: list[PointResult | PointFailure | PointSkipped],
               references: dict[str, str], run: dict) -> tuple[list[Row], list[tuple]]:
    """All rows of one group run (stages, errors, skips, paired ratios among its timed points),
    and the (point, failure) pairs of the points that failed."""
    rows: list[Row] = []
    timed, failures = [], []
    for point, outcome in zip(group, outcomes):
        if isinstance(outcome, PointSkipped):
            rows.append(skipped_row(point, run, outcome.reason))
        elif isinstance(outcome, PointFailure):
            rows.append(error_row(point, outcome, run))
            failures.append((point, outcome))
        else:
            rows += stage_rows(point, outcome, run)
            if outcome.workload is not None:
                rows.append(WorkloadRow(**_head(point, run), **outcome.workload))
            timed.append((point, outcome))
    ratios = paired_ratio_rows([p for p, _ in timed], [r for _, r in timed], references, run)
    return rows + ratios, failures


def unpaired_ratio_rows(current: Iterable[Row], references: dict[str, str], sweep: str) -> list[RatioRow]:
    """Ratios of medians for each pipeline-component variant against its reference, run by run
    (a point's run r against its reference's run r: the same round of the sweep), from the
    current stage rows; only pairs of runs not already compared (`current` ratio rows) are new."""
    points: dict[tuple[str, int], _Timed] = {}
    done = set()
    for row in current:
        if isinstance(row, StageRow):
            t = points.setdefault((row.point_id, row.run_index),
                                  _Timed(row.point_id, row.group_id, row.settings, row.run_id, {}, row.run_index))
            t.samples[row.stage] = row.samples_s
        elif isinstance(row, RatioRow) and not row.paired:
            done.add((row.run_id, row.reference_run_id, row.component))
    by_id = {(t.settings.id, t.run_index): t for t in points.values()}
    rows = []
    for t in points.values():
        wanted_of = {component: reference_settings(t.settings, component, references[component])
                     for component in PIPELINE_COMPONENTS}
        if pipeline_name(t.settings.variant) == "pipeline:fastest":  # the whole step's question
            wanted_of["pipeline"] = t.settings.changed(variant=pipeline_variant("notebook").name)
        for component, wanted in wanted_of.items():
            ref = by_id.get((wanted.id, t.run_index)) if wanted is not None else None
            if ref is None or (t.run_id, ref.run_id, component) in done:
                continue
            head = _head(t, {"sweep": sweep, "run_id": t.run_id})  # the row of t's own run
            rows += _ratio_rows(head, _ratios(t.samples, ref.samples, ratio_of_medians),
                                component, ref, paired=False)
    return rows
