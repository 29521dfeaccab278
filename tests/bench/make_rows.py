"""Rows made with the store's own constructors, for tests of the store, the report and CSVs."""

from __future__ import annotations

from bench.config.settings import normalise
from bench.results.rows import ErrorRow, RatioRow, SkippedRow, StageRow

SETTINGS = {"layer_type": "conv2d", "num_workers": 0, "device": "cpu", "variant": "deepr:none",
            "batch_size": 16, "threads": 1}


def settings(**overrides) -> dict:
    return normalise({**SETTINGS, **overrides})


def _head(point_id: str, run_id: str, point_settings: dict | None) -> dict:
    return {"sweep": "t", "run_id": run_id, "point_id": point_id, "group_id": "g",
            "settings": point_settings or settings()}


# Seven samples around the median: enough for a 95% interval (bench.stats.MIN_SAMPLES).
SPREAD = (0.95, 0.97, 0.99, 1.0, 1.01, 1.03, 1.05)


def stage_row(point_id="a", run_id="r1", stage="step", median=0.1, step=None, *,
              point_settings=None, unstable=False, measured=None, env=None,
              deaths=()) -> StageRow:
    """A stage row with samples around `median` (`step`: the step median, for the share)."""
    head = _head(point_id, run_id, point_settings)
    step = step or median
    samples = [median * f for f in SPREAD]
    return StageRow(**head, stage=stage, n=len(samples), median_s=median, iqr_s=median * 0.01,
                    min_s=median * 0.95, mean_s=median, ci_low_s=median * 0.9,
                    ci_high_s=median * 1.1, unstable=unstable, share_of_step=median / step,
                    samples_per_s=head["settings"].batch_size / step if stage == "step" else None,
                    samples_s=samples, epoch_restarts=0,
                    active_connections=10, total_connections=100,
                    connectivity_measured=head["settings"].connectivity if measured is None else measured,
                    loss_first=2.4, loss_last=2.3, group_wall_s=1.0, deaths_per_update=list(deaths),
                    revivals_per_update=list(deaths), active_after_updates=[], env=env or {"host": "h"})


def ratio_row(point_id="a", run_id="r1", stage="step", ratio=0.5, ci=(0.45, 0.55), *,
              point_settings=None, reference_point_id="ref", reference_run_id=None,
              paired=True, component="deepr", p_value=None) -> RatioRow:
    head = _head(point_id, run_id, point_settings)
    return RatioRow(**head, stage=stage, component=component,
                    reference_point_id=reference_point_id,
                    reference_run_id=reference_run_id or run_id,
                    reference_variant="deepr:notebook", paired=paired, n=15, ratio_median=ratio,
                    ratio_ci_low=ci[0], ratio_ci_high=ci[1], speedup=1 / ratio,
                    significant=ci[1] < 1 or ci[0] > 1,
                    p_value=p_value if p_value is not None else (0.001 if ci[1] < 1 or ci[0] > 1 else 0.5))


def error_row(point_id="a", run_id="r1", message="RuntimeError: boom", point_settings=None) -> ErrorRow:
    return ErrorRow(**_head(point_id, run_id, point_settings), error=message,
                    traceback="Traceback (most recent call last): ...", env={"host": "h"})


def skipped_row(point_id="a", run_id="r1", reason="no such device", point_settings=None) -> SkippedRow:
    return SkippedRow(**_head(point_id, run_id, point_settings), reason=reason)


def timed_rows(point_id="a", run_id="r1", step=0.1, *, point_settings=None, env=None) -> list[StageRow]:
    """Every stage row of one timed point (what the store counts as complete): the step's time
    spread over its stages, forward the largest."""
    from bench.measure.stages import ROW_STAGES, STEP

    parts = {stage: step / 20 for stage in ROW_STAGES if stage != STEP}
    parts["forward"] = step / 2
    return [stage_row(point_id, run_id, stage, step if stage == STEP else parts[stage], step,
                      point_settings=point_settings, env=env) for stage in ROW_STAGES]
