"""The typed rows of a results store, and the one function that flattens them for tables.

Every row names its point (id, group, full settings) and the run that produced it, so a row read
alone (in a CSV, in a report, months later) says what was measured where. Durations are seconds
(`*_s`). The store writes these types and the report reads them back as the same types; a store
written under another SCHEMA_VERSION is refused by name, never half-read.

    StageRow    one stage of one timed point (median, IQR, CI, raw samples, environment)
    RatioRow    one stage of a variant against its reference: paired (same group run) or not
    ErrorRow    a point that raised, with its traceback
    SkippedRow  a point whose device this machine lacks
    ProfileSummary  profiles/<point id>/profile.json
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar

from bench.config.settings import SETTING_NAMES, Settings, point_label
from bench.errors import UserError

# 2: typed rows with the settings nested under `settings`, `data_root` for `data`, DeepR's l1 and
# temperature, connectivity required with DeepR, ratio rows with `paired` and reference runs.
# 3: the sparse_init setting, lr_rule per_connectivity by default, numba in the environment, and
# exact DeepR over one flat buffer with compiled kernels (its timings are not version 2's).
# 4: forward:fused, and pipeline:fastest with it (its timings are not version 3's); the
# environment's forward_compile_s; order-statistic CIs (nan below 6 samples) and ratio p-values.
# 5: the workload_batches setting (every point's id changes: a store of version 4 resumed would
# time every point again beside its old self), workload and study_run rows, forward:sparse, and
# the environment's group start and finish times and Ray node.
# 6: independent runs (the `runs` setting: every point's and group's id changes), rows of one
# run marked with `run_index`; figures across runs (bench.results.combine) are derived, not stored.
SCHEMA_VERSION = 6

# The environment every timed row records, in the order reports show it (bench.measure.environment captures it).
ENV_FIELDS = ("host", "platform", "cpu_model", "cores", "device", "gpu", "gpu_driver", "cuda",
              "python", "torch", "snntorch", "tonic", "numpy", "numba", "threads", "interop_threads",
              "numba_threads", "numba_jit", "flush_denormal", "load_avg_1m_before", "load_avg_1m", "load_avg_1m_after",
              "data_root", "synthetic_data", "data_fingerprint", "plugin_digests", "skipped_samples",
              "frame_cache_build_s", "forward_compile_s", "group_started_unix", "group_finished_unix",
              "ray_node", "process_id", "cpu_mhz", "pipeline_resolved", "interference", "disturbed",
              "disturbed_attempts", "git_commit", "git_dirty")
# Measured per sweep group rather than describing the machine or software: two groups that
# differ only in these ran in the same environment (the report counts environments without them).
PER_GROUP_FIELDS = ("load_avg_1m_before", "load_avg_1m", "load_avg_1m_after", "frame_cache_build_s",
                    "forward_compile_s", "group_started_unix", "group_finished_unix",
                    "ray_node",  # a node id is new at each cluster start: "host" names the machine
                    "process_id", "cpu_mhz",  # each run is a fresh process; the clock moves
                    "plugin_digests",  # the code a group's plug-ins ran, not the machine
                    "pipeline_resolved",  # what pipeline:fastest ran for one point
                    # what the machine did during one group run (bench.measure.interference)
                    "interference", "disturbed", "disturbed_attempts")
# The fields that make two runs' timings comparable (a baseline warns when one differs).
MACHINE_FIELDS = ("host", "cpu_model", "cores", "gpu", "gpu_driver", "cuda", "torch", "snntorch",
                  "tonic", "numpy", "numba", "python", "threads", "numba_threads", "numba_jit",
                  "flush_denormal", "synthetic_data")
# What two steps must share for one to be divided by the other (the report's answers): the
# machine and its software, the harness's commit and the data.
COMPARABLE_FIELDS = (*MACHINE_FIELDS, "git_commit", "data_fingerprint")


class SchemaVersionError(UserError):
    """A results file written by another version of the row schema."""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class Row:
    KIND: ClassVar[str] = ""
    sweep: str
    run_id: str  # the group run that timed the point (a ratio: the run of the point compared)
    point_id: str
    group_id: str
    settings: Settings  # stored as a dict (Settings.as_dict); read back as Settings
    recorded_at: str = field(default_factory=now)
    # Which of the point's independent runs (its `runs` setting) this row is of, from 0; None: a
    # figure combined across them (bench.results.combine), never stored.
    run_index: int | None = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", Settings.from_dict(self.settings))

    def to_dict(self) -> dict:
        return {"schema": SCHEMA_VERSION, "kind": self.KIND, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class StageRow(Row):
    KIND: ClassVar[str] = "stage"
    stage: str
    n: int
    median_s: float
    iqr_s: float
    min_s: float
    mean_s: float
    ci_low_s: float  # order-statistic 95% CI of the median (bench.stats); nan: too few steps
    ci_high_s: float
    unstable: bool
    share_of_step: float | None
    samples_per_s: float | None  # the step row only
    samples_s: list[float]
    epoch_restarts: int
    active_connections: int
    total_connections: int
    connectivity_measured: float
    loss_first: float
    loss_last: float
    group_wall_s: float | None
    # Rewiring traffic per rewired layer over the measured updates (empty for dense points):
    # mean connections that died and were revived per update, and the active count after each.
    deaths_per_update: list[float]
    revivals_per_update: list[float]
    active_after_updates: list[list[int]]
    env: dict
    # A figure across runs (run_index None): each run's median, and how the CI was made
    # (bench.stats: "t across 3 runs", or "steps of one run").
    run_medians_s: list[float] = field(default_factory=list)
    interval: str = ""


@dataclass(frozen=True, kw_only=True)
class RatioRow(Row):
    """A variant point over its reference on one stage: below 1, the variant is faster.

    paired: both were timed in one group run, step for step, and the ratio is the median of
    per-step ratios; unpaired (a pipeline component such as framing, which needs its own
    DataLoader): a ratio of medians with a bootstrap CI resampling each side on its own."""

    KIND: ClassVar[str] = "ratio"
    stage: str
    component: str
    reference_point_id: str
    reference_run_id: str
    reference_variant: str
    paired: bool
    n: int
    ratio_median: float
    ratio_ci_low: float
    ratio_ci_high: float
    speedup: float
    significant: bool  # this comparison's CI excludes 1, uncorrected: the report corrects
    p_value: float  # sign test (paired) or Mann-Whitney U (unpaired), for that correction; t across runs
    # A figure across runs (run_index None): each run's ratio, how the CI was made, and
    # "unstable across runs: ..." when the runs' own intervals do not overlap (with a likely cause).
    run_ratios: list[float] = field(default_factory=list)
    interval: str = ""
    unstable_runs: str = ""


@dataclass(frozen=True, kw_only=True)
class ErrorRow(Row):
    KIND: ClassVar[str] = "error"
    error: str  # "<ExceptionType>: message"
    traceback: str
    env: dict


@dataclass(frozen=True, kw_only=True)
class SkippedRow(Row):
    KIND: ClassVar[str] = "skipped"
    reason: str
    # "device": absent here (judged again by every run); "variant": the variant does not apply to
    # the point's model or data (bench.plugins.reference.NotApplicable), final: the point is done
    cause: str = "device"


@dataclass(frozen=True, kw_only=True)
class WorkloadRow(Row):
    """NeuroBench's workload metrics of a timed point (bench.measure.workload), per sample, measured
    after its timing on the network it trained; `error` when counting failed (its timing stands)."""

    KIND: ClassVar[str] = "workload"
    samples: int | None = None
    dense_synops: float | None = None
    effective_macs: float | None = None
    effective_acs: float | None = None
    activation_sparsity: float | None = None
    connection_sparsity: float | None = None
    footprint_bytes: int | None = None
    sparse_footprint_bytes: int | None = None
    layers: list[dict] = field(default_factory=list)  # per synapse layer and per neuron layer
    eval_s: float | None = None  # the same batches, counting off
    eval_counting_s: float | None = None
    counting_overhead: float | None = None  # eval_counting_s / eval_s
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class StudyRunRow(Row):
    """One training run of a study (bench.study): its curves, not its step times."""

    KIND: ClassVar[str] = "study_run"
    iterations: int
    # iterations, budget, diverged (a non-finite loss), silent (a constant loss) or untrained
    # (below trained_accuracy at give_up_after)
    stopped_by: str
    losses: list[float]  # one per iteration
    # (iteration, training seconds so far, test accuracy, evaluation seconds so far: this one's
    # included); rows stored before the fourth value have three
    evals: list[list[float]]
    active_connections: list[int]  # at each evaluation
    total_connections: int
    deaths_per_update: list[int]  # connections DeepR removed at each update, all layers
    train_s: float  # training steps only: evaluations, bookkeeping and the warm-up excluded
    eval_s: float
    env: dict
    warmup_s: float = 0.0  # the untimed throwaway step before the first iteration


@dataclass(frozen=True, kw_only=True)
class CheckRow(Row):
    """`snn-bench check`: whether a point's variant of one component computes what its reference
    computes (bench.measure.equivalence). The report marks a speed-up whose check failed."""

    KIND: ClassVar[str] = "check"
    component: str  # deepr, forward or framing
    reference_variant: str  # what it was compared with ("" for rewiring: judged by invariants)
    passed: bool
    problems: list[str]
    what: str  # what was compared, in words
    env: dict
    # What the check measured (bench.measure.equivalence): an agreement's spikes differing per
    # layer and gradient differences, each side's peak memory of one step.
    figures: dict = field(default_factory=dict)


ROW_TYPES: dict[str, type[Row]] = {t.KIND: t for t in (StageRow, RatioRow, ErrorRow, SkippedRow,
                                                       WorkloadRow, StudyRunRow, CheckRow)}


def json_safe(value):
    """`value` with every non-finite float as None: strict JSON parsers (and other languages'
    readers) reject the NaN and Infinity that Python's json writes by default."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def to_json(data: dict, **options) -> str:
    """Strict JSON of a row's dict (NaN written as null; `row_from_dict` reads it back as NaN)."""
    return json.dumps(json_safe(data), allow_nan=False, default=str, **options)


def _check_schema(data: dict, where: str) -> None:
    version = data.get("schema")
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where} holds rows of schema version {version}, and this snn-bench reads version "
            f"{SCHEMA_VERSION}: sweep into a fresh --out directory, or move the old one aside "
            "(mv DIR DIR.old); the old results stay readable with the snn-bench commit that wrote "
            "them, recorded in their env.git_commit")


def _nan_where_null(data: dict, row_type) -> dict:
    """A stored null back to NaN in the fields typed plain `float` (a CI too few samples had)."""
    floats = {f.name for f in dataclasses.fields(row_type) if f.type in ("float", float)}
    return {k: (math.nan if v is None and k in floats else v) for k, v in data.items()}


def row_from_dict(data: dict, where: str = "a results file") -> Row:
    """The typed row a stored dict holds; SchemaVersionError for another schema's row."""
    _check_schema(data, where)
    kind = data.get("kind")
    if kind not in ROW_TYPES:
        raise ValueError(f"unknown row kind {kind!r}")
    row_type = ROW_TYPES[kind]
    data = _nan_where_null(data, row_type)
    names = {f.name for f in dataclasses.fields(row_type)}
    defaulted = {f.name for f in dataclasses.fields(row_type)
                 if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    missing = names - set(data) - defaulted
    if missing:
        raise SchemaVersionError(
            f"{where} holds a {kind} row without {', '.join(sorted(missing))}: it was written by "
            "another snn-bench version of the same schema number; sweep into a fresh --out")
    return row_type(**{k: v for k, v in data.items() if k in names})


def flatten(row: Row, samples: bool = True, label_also: Collection[str] = ()) -> dict:
    """One flat dict per row, for every table: kind, the row's fields, the settings spread as
    columns, the environment as env.<field> columns (ENV_FIELDS), and `config`, the point's label.
    `samples=False` drops the raw per-step samples (the report's CSV); `label_also` names
    settings the label must show (bench.config.settings.point_label)."""
    data = dataclasses.asdict(row)
    settings = data.pop("settings")
    env = data.pop("env", None)
    if not samples:
        data.pop("samples_s", None)
    ran = (env or {}).get("pipeline_resolved")
    flat = {"kind": row.KIND, "config": point_label(settings, also=label_also, ran=ran), **settings, **data}
    if env is not None:
        flat.update({f"env.{name}": env.get(name) for name in ENV_FIELDS})
    return flat


def flat_columns(row_type: type[Row], samples: bool = True) -> list[str]:
    """The columns `flatten` gives a row of this type (for a table with no rows yet)."""
    fields = [f.name for f in dataclasses.fields(row_type)
              if f.name not in ("settings", "env") and (samples or f.name != "samples_s")]
    env = [f"env.{name}" for name in ENV_FIELDS] if "env" in {f.name for f in dataclasses.fields(row_type)} else []
    return ["kind", "config", *SETTING_NAMES, *fields, *env]


@dataclass(frozen=True, kw_only=True)
class ProfileSummary:
    """What one profiled point measured; written as profile.json beside its files."""

    point_id: str
    settings: Settings  # stored as a dict, read back as Settings
    environment: dict
    unprofiled_step_s: list[float]  # the reference for the overheads
    line_step_s: list[float]
    trace_step_s: list[float]  # the active steps of the trace
    worker_stats_merged: int  # DataLoader workers whose line stats were merged
    timer_unit_s: float
    peak_tensor_memory_bytes: int
    cuda_max_memory_allocated_bytes: int | None
    line_overhead: float  # profiled / unprofiled median step time
    trace_overhead: float
    files: list[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", Settings.from_dict(self.settings))

    @property
    def label(self) -> str:
        return point_label(self.settings)

    def to_json(self) -> str:
        return to_json({"schema": SCHEMA_VERSION, **dataclasses.asdict(self)}, indent=2)

    @classmethod
    def from_json(cls, text: str, where: str) -> "ProfileSummary":
        data = json.loads(text)
        _check_schema(data, where)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in _nan_where_null(data, cls).items() if k in names})
